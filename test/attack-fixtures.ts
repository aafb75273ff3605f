// Small Lipschitz VAEs trained by our own trainer for the attack and margin
// tests (about 1.5 s each on 256 MNIST images), cached per process so that
// the test files that share them train each only once. Settings chosen so
// that certificates are strictly positive at r = 1: M = 2 for every net,
// d_z = 4, and a fixed σ = 0.05 (Theorem 3) or a σ clipped to norm 0.1 (Lemma 2).
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { Trainer, defaultSettings } from "../src/model/train.js";
import { loadModel, type LoadedModel } from "../src/model/store.js";
import { type Dataset, loadDataset } from "../src/data/datasets.js";
import { type AttackModel, attackModel } from "../src/attacks/model.js";
import { removeOnExit } from "./helpers.js";

export type FixtureKind = "fixed" | "constrained";

export interface Fixture extends LoadedModel {
  kind: FixtureKind;
  model: AttackModel;
}

let data: Dataset | null = null;
const cache = new Map<FixtureKind, Fixture>();

/** The MNIST splits (training limited to 256 images). */
export function mnist(): Dataset {
  data ??= loadDataset("mnist", { limit: 256, verifyChecksums: false });
  return data;
}

export function fixtureConfig(kind: FixtureKind): ModelConfig {
  return {
    ...PAPER_DEFAULTS,
    hidden: [32, 32],
    latentDim: 4,
    lipschitz: { decoder: 2, encoderMean: 2, encoderStd: 2 },
    sigma: kind === "fixed" ? { mode: "fixed", gamma: 0.05 } : { mode: "constrained", maxNorm: 0.1 },
    bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 10 },
  };
}

/** A trained model directory of the given kind (trained on first use, seed 1). */
export async function fixture(kind: FixtureKind): Promise<Fixture> {
  const hit = cache.get(kind);
  if (hit) return hit;
  const config = fixtureConfig(kind);
  const outDir = mkdtempSync(path.join(os.tmpdir(), `lipvae-attack-${kind}-`));
  removeOnExit(outDir);
  await new Trainer({
    config, seed: 1, dataset: mnist(), outDir,
    settings: { ...defaultSettings(config), epochs: 2, finetuneEpochs: 1, validationLimit: 200 },
  }).run();
  const loaded = loadModel(outDir);
  const f: Fixture = { ...loaded, kind, model: attackModel(loaded.vae, loaded.meta.bjorckIters) };
  cache.set(kind, f);
  return f;
}

/** Rows `indices` of the test split as one count × 784 array. */
export function testImages(indices: number[]): Float32Array {
  const images = mnist().test.images;
  const out = new Float32Array(indices.length * 784);
  indices.forEach((k, i) => out.set(images.subarray(k * 784, (k + 1) * 784), i * 784));
  return out;
}
