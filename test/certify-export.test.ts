// The constants `lipvae certify` stores must hold for the network that runs
// (f32 Björck weights times the f32 scale the kernels multiply by) and for the
// file `lipvae export` writes (scale folded into f32 weights, rounded again).
// Both are checked against spectral norms computed here in f64 with mathjs's
// symmetric eigensolver, independently of src/bounds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eigs } from "mathjs";
import { projectRoot } from "../src/paths.js";
import { type ModelConfig, PAPER_DEFAULTS, bjorckOptions } from "../src/model/config.js";
import { VAE } from "../src/model/vae.js";
import { loadModel, saveModel } from "../src/model/store.js";
import { exportModel, foldScale } from "../src/model/export.js";
import { bjorckOnBuild, usableBuilds } from "../src/engine/builds.js";
import { engine } from "../src/engine/engine.js";
import { readPlainVae, type PlainLayer } from "../src/model/plain.js";
import { tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { loadDataset } from "../src/data/datasets.js";
import { removeOnExit } from "./helpers.js";

const ITERS = 30;
const data = loadDataset("mnist", { limit: 16 });
const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-certify-export-"));
removeOnExit(root);

/**
 * A saved model with nominal constant M on every net whose Björck weights have
 * converged (singular values 1 up to f32 rounding), so that the certified
 * constants sit within rounding of the product and the f32 effects decide.
 */
function convergedModel(m: number, bjorck: Pick<ModelConfig["bjorck"], "method" | "tolerance"> = {}): string {
  const config: ModelConfig = {
    ...PAPER_DEFAULTS, hidden: [16, 16], latentDim: 3,
    lipschitz: { decoder: m, encoderMean: m, encoderStd: m },
    bjorck: { beta: 0.5, trainIters: 2, finetuneIters: ITERS, ...bjorck },
  };
  const vae = new VAE(config, 11);
  for (const net of vae.nets) for (const l of net.layers) {
    // The init has singular values 1/sqrt(in); 1.1 after this, inside Björck's basin.
    const f = 1.1 * Math.sqrt(l.weight.shape[1]);
    l.weight.data.forEach((v, i, arr) => (arr[i] = v * f));
  }
  const dir = path.join(root, `m${m}-${bjorck.method ?? "iterate"}-${bjorck.tolerance ?? "none"}`);
  saveModel(dir, vae, {
    seed: 11, bjorckIters: ITERS,
    dataset: { name: "mnist", fingerprint: data.fingerprint, official: data.official, trainLimit: 16 },
    training: { phase: "finetune", settings: {}, history: [], bestValLoss: null, stoppedBecause: "test fixture" },
  });
  return dir;
}

/** sigma_max of an r x c row-major matrix in f64: sqrt of the largest eigenvalue of the smaller Gram. */
function spectralF64(w: ArrayLike<number>, r: number, c: number): number {
  const wide = r <= c, s = wide ? r : c;
  const g: number[][] = Array.from({ length: s }, () => new Array<number>(s).fill(0));
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) {
    let acc = 0;
    if (wide) for (let k = 0; k < c; k++) acc += w[i * c + k] * w[j * c + k];
    else for (let k = 0; k < r; k++) acc += w[k * c + i] * w[k * c + j];
    g[i][j] = acc;
  }
  const values = eigs(g).values as unknown as number[];
  return Math.sqrt(Math.max(...values));
}

const product = (norms: number[], factor: number) => norms.reduce((acc, n) => acc * n, factor);

const NET_KEYS = { decoder: "a", encoder_mean: "b", encoder_std: "c" } as const;

// The paper's iteration at the four M whose f32 scale rounds up, then the opt-in
// methods: the certificate must cover the weights that run, however they are made.
const CASES: [number, Pick<ModelConfig["bjorck"], "method" | "tolerance">][] = [
  [2, {}], [5, {}], [7, {}], [9, {}],
  [7, { method: "spectral" }],
  [2, { method: "iterate", tolerance: 1e-3 }],
];
for (const [m, bjorck] of CASES) {
  test(`M = ${m}${bjorck.method ? ` (${bjorck.method}${bjorck.tolerance ? `, tolerance ${bjorck.tolerance}` : ""})` : ""}: certified a, b, c are >= the f64 Lipschitz products of the running network and of its export`, () => {
    const dir = convergedModel(m, bjorck);
    const run = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "certify", "--model", dir, "--images", "1"], { encoding: "utf8", cwd: projectRoot });
    assert.is(run.status, 0, run.stderr);
    const certified = JSON.parse(readFileSync(path.join(dir, "model.json"), "utf8")).certified as Record<"a" | "b" | "c", number>;

    const model = loadModel(dir);
    const file = path.join(dir, "export.safetensors");
    exportModel(model, file);
    const plain = readPlainVae(file);
    const exported: Record<string, PlainLayer[]> = { decoder: plain.decoder, encoder_mean: plain.encoderMean, encoder_std: plain.encoderStd! };

    // The kernels take the scale as an f32 argument: they multiply by fround(M^(1/L)).
    const running = noGrad(() => tidy(() => model.vae.nets.map((net) => ({
      name: net.name,
      norms: net.effectiveWeights(ITERS, bjorckOptions(model.vae.config)).map((w, i) =>
        Math.fround(net.layerScale) * spectralF64(Float64Array.from(w.data), ...(net.layers[i].weight.shape as [number, number]))),
    }))));
    for (const { name, norms } of running) {
      const key = NET_KEYS[name as keyof typeof NET_KEYS];
      const factor = name === "encoder_mean" ? 1 : 1 / 4;
      const forward = product(norms, factor);
      const exportedProduct = product(exported[name].map((l) => spectralF64(l.weight, l.outDim, l.inDim)), factor);
      const claimed = certified[key];
      assert.ok(claimed >= forward, `${name}: certified ${key} = ${claimed} < ${forward}, the running network's (f32 scale)`);
      assert.ok(claimed >= exportedProduct, `${name}: certified ${key} = ${claimed} < ${exportedProduct}, the exported file's`);
      // The same network and export on every other build this Node can run.
      const net = model.vae.nets.find((n) => n.name === name)!;
      const mats = net.layers.map((l) => ({ w: Float32Array.from(l.weight.data), r: l.weight.shape[0], c: l.weight.shape[1] }));
      let largest = Math.max(forward, exportedProduct);
      for (const build of usableBuilds().filter((b) => b !== engine().build)) {
        const weights = bjorckOnBuild(build, mats, ITERS, 0.5, bjorckOptions(model.vae.config));
        const other = product(weights.map((w, i) => Math.fround(net.layerScale) * spectralF64(w, mats[i].r, mats[i].c)), factor);
        const otherExport = product(weights.map((w, i) => spectralF64(foldScale(w, net.layerScale), mats[i].r, mats[i].c)), factor);
        assert.ok(claimed >= other, `${name}: certified ${key} = ${claimed} < ${other}, the running network's on the ${build} build`);
        assert.ok(claimed >= otherExport, `${name}: certified ${key} = ${claimed} < ${otherExport}, the export's on the ${build} build`);
        largest = Math.max(largest, other, otherExport);
      }
      // And tight: within 1e-5 of the largest.
      assert.ok(claimed <= largest * (1 + 1e-5), `${name}: certified ${key} = ${claimed} is loose (largest ${largest})`);
    }
  });
}

test.run();
