// Tiny trained models (one per sigma mode, plus a standard VAE) for the
// export-* and eval-* tests: 256 training images, one epoch, ~1 s each.
// Trained at most once per process and removed when the process exits.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Dataset, loadDataset } from "../src/data/datasets.js";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { Trainer, defaultSettings } from "../src/model/train.js";
import { removeOnExit } from "./helpers.js";

export type Variant = "learned" | "fixed" | "constrained" | "standard";
export const VARIANTS: Variant[] = ["learned", "fixed", "constrained", "standard"];

const TINY: ModelConfig = {
  ...PAPER_DEFAULTS,
  hidden: [32, 32],
  latentDim: 4,
  lipschitz: { decoder: 5, encoderMean: 5, encoderStd: 5 },
  bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 10 },
};

export function tinyConfig(variant: Variant): ModelConfig {
  switch (variant) {
    case "learned": return TINY;
    // A per-dimension vector, the general case of sigma = gamma * 1.
    case "fixed": return { ...TINY, sigma: { mode: "fixed", gamma: [0.1, 0.2, 0.05, 0.3] } };
    // Small enough that the clip is active (sigmoid outputs have norm ~1 for dz = 4).
    case "constrained": return { ...TINY, sigma: { mode: "constrained", maxNorm: 0.3, desiredRadius: 4.24 } };
    case "standard": return { ...TINY, kind: "standard", lipschitz: { decoder: 1, encoderMean: 1, encoderStd: 1 } };
  }
}

let root: string | null = null;
let dataset: Dataset | null = null;
const models = new Map<Variant, string>();

/** A scratch directory for this process (removed at exit). */
export function scratchDir(): string {
  if (!root) {
    const dir = mkdtempSync(path.join(tmpdir(), "lipvae-export-"));
    root = dir;
    removeOnExit(dir);
  }
  return root;
}

export function tinyDataset(): Dataset {
  dataset ??= loadDataset("mnist", { limit: 256 });
  return dataset;
}

/** The directory of a trained tiny model of the given variant. */
export async function tinyModel(variant: Variant): Promise<string> {
  const cached = models.get(variant);
  if (cached) return cached;
  const config = tinyConfig(variant);
  const outDir = path.join(scratchDir(), `model-${variant}`);
  await new Trainer({
    config, seed: 1, dataset: tinyDataset(), outDir,
    settings: { ...defaultSettings(config), epochs: 1, finetuneEpochs: 1, validationLimit: 200 },
  }).run();
  models.set(variant, outDir);
  return outDir;
}
