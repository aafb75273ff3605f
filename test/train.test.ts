// Models and training: the loss against an independent f64 computation, a
// tiny model learns, checkpoints round-trip bit-exactly, resume equals an
// uninterrupted run, the Lipschitz property holds, bad files give clear errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tensor, tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { refBjorckForward, refGroupsortForward } from "../src/engine/reference.js";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { VAE } from "../src/model/vae.js";
import { cbLogLik } from "../src/model/likelihood.js";
import { type TrainEvent, type TrainResult, Trainer, defaultSettings } from "../src/model/train.js";
import { LipvaeError } from "../src/errors.js";
import { loadModel } from "../src/model/store.js";
import { loadDataset } from "../src/data/datasets.js";
import { assertClose, rng, uniform } from "./helpers.js";
import { removeOnExit } from "./helpers.js";

const tiny = (over: Partial<ModelConfig> = {}): ModelConfig => ({
  ...PAPER_DEFAULTS,
  hidden: [16, 16],
  latentDim: 3,
  lipschitz: { decoder: 4, encoderMean: 3, encoderStd: 2 },
  bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 6 },
  ...over,
});
const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipvae-train-"));
  removeOnExit(dir);
  return dir;
};
const data = loadDataset("mnist", { limit: 256 });

// ---------------------------------------------------------------------------
// An independent f64 implementation of the ELBO (docs/reference-code.md, 'Loss'), from lambda.

/** Continuous-Bernoulli log-density from lambda, with C(l) = 2 artanh(1-2l)/(1-2l), C(1/2) = 2. */
function cbLogDensity(x: number, l: number): number {
  const logC = Math.abs(l - 0.5) < 1e-9 ? Math.log(2) : Math.log((2 * Math.atanh(1 - 2 * l)) / (1 - 2 * l));
  return x * Math.log(l) + (1 - x) * Math.log(1 - l) + logC;
}

function refForward(vae: VAE, net: "encoderMean" | "encoderStd" | "decoder", x: Float64Array, rows: number, iters: number): Float64Array {
  const mlp = vae[net]!;
  let h = x, width = mlp.sizes[0];
  mlp.layers.forEach((layer, i) => {
    const [out, inn] = layer.weight.shape;
    const w = refBjorckForward(out, inn, iters, 0.5, layer.weight.data).out;
    const b = layer.bias.data;
    const y = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
      let acc = b[o];
      for (let k = 0; k < inn; k++) acc += h[r * width + k] * w[o * inn + k];
      y[r * out + o] = mlp.layerScale * acc;
    }
    h = y;
    width = out;
    if (i < mlp.layers.length - 1) {
      const s = new Float64Array(h.length);
      refGroupsortForward(2, h, s);
      h = s;
    }
  });
  return h;
}

test("continuous-Bernoulli log-density: hand-computed values", () => {
  const logp = (x: number, l: number) =>
    tidy(() => cbLogLik(tensor([Math.log(l / (1 - l))], [1, 1], "f64"), tensor([x], [1, 1], "f64")).item());
  // lambda = 1/2 is the uniform density on [0, 1]: log p = 0 for every x.
  assertClose([logp(0.3, 0.5), logp(1, 0.5)], [0, 0], 1e-12);
  // By hand: 0.3 log 0.2 + 0.7 log 0.8 + log(2 artanh(0.6)/0.6) = -0.482831 - 0.156200 + 0.837459 = 0.198428
  const byHand = 0.3 * Math.log(0.2) + 0.7 * Math.log(0.8) + Math.log((2 * Math.atanh(0.6)) / 0.6);
  assertClose([logp(0.3, 0.2)], [byHand], 1e-12, 0, "log p(0.3 | 0.2)");
  assertClose([byHand], [0.198428], 1e-6, 0, "the hand value itself");
  for (const [x, l] of [[0.9, 0.7], [0, 0.05], [1, 0.9999], [0.5, 0.5002], [0.2, 0.4995]] as [number, number][]) {
    assertClose([logp(x, l)], [cbLogDensity(x, l)], 1e-9, 1e-9, `log p(${x} | ${l})`);
  }
});

test("the ELBO equals an independent f64 computation (learned, fixed and constrained sigma)", () => {
  const sigmas: ModelConfig["sigma"][] = [{ mode: "learned" }, { mode: "fixed", gamma: [0.1, 0.2, 0.3] }, { mode: "constrained", maxNorm: 0.05 }];
  for (const sigma of sigmas) {
    const vae = new VAE(tiny({ sigma, klBeta: 2.5 }), 3);
    const rows = 4, iters = 2;
    const x = Float64Array.from(data.train.images.subarray(0, rows * 784));
    const eps = uniform(rng(8), rows * 3, -2, 2);
    const got = tidy(() => noGrad(() => {
      const w = vae.effectiveWeights(iters);
      const r = vae.elbo(tensor(x, [rows, 784]), tensor(eps, [rows, 3]), w);
      return { loss: r.loss.item(), ll: r.logLik.toArray(), kl: r.kl.toArray() };
    }));
    const mu = refForward(vae, "encoderMean", x, rows, iters);
    let sigmaVals: Float64Array;
    if (sigma.mode === "fixed") sigmaVals = Float64Array.from({ length: rows * 3 }, (_, i) => (sigma.gamma as number[])[i % 3]);
    else {
      const pre = refForward(vae, "encoderStd", x, rows, iters);
      sigmaVals = pre.map((v) => 1 / (1 + Math.exp(-v)));
      if (sigma.mode === "constrained") {
        for (let r = 0; r < rows; r++) {
          const n = Math.hypot(...sigmaVals.subarray(r * 3, r * 3 + 3));
          if (n > sigma.maxNorm) for (let j = 0; j < 3; j++) sigmaVals[r * 3 + j] *= sigma.maxNorm / n;
        }
      }
    }
    const z = mu.map((m, i) => m + sigmaVals[i] * eps[i]);
    const lambda = refForward(vae, "decoder", z, rows, iters).map((v) => 1 / (1 + Math.exp(-v)));
    const ll = new Float64Array(rows), kl = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let p = 0; p < 784; p++) ll[r] += cbLogDensity(x[r * 784 + p], lambda[r * 784 + p]);
      for (let j = 0; j < 3; j++) {
        const s = sigmaVals[r * 3 + j], m = mu[r * 3 + j];
        kl[r] += 0.5 * (s * s + m * m - 1 - 2 * Math.log(s));
      }
    }
    const loss = Array.from(ll).reduce((acc, v, r) => acc + 2.5 * kl[r] - v, 0) / rows;
    assertClose(got.ll, ll, 2e-3, 2e-5, `${sigma.mode}: log-likelihood`);
    assertClose(got.kl, kl, 1e-4, 1e-5, `${sigma.mode}: KL`);
    assertClose([got.loss], [loss], 2e-3, 2e-5, `${sigma.mode}: loss`);
  }
});

async function trainTiny(outDir: string, epochs: number, over: Partial<ModelConfig> = {}, stopAfterStep?: number, resume = false) {
  const config = tiny(over);
  const settings = { ...defaultSettings(config), lr: 3e-3, batchSize: 64, epochs, finetuneEpochs: 1, validationLimit: 128 };
  const control = { stop: false };
  let steps = 0;
  const trainer = new Trainer({
    config, seed: 5, dataset: data, outDir, settings, resume, control,
    onEvent: (e) => {
      if (e.type === "step" && ++steps === stopAfterStep) control.stop = true;
    },
  });
  return trainer.run();
}

test("a tiny Lipschitz-VAE's loss falls within a few epochs", async () => {
  const r = await trainTiny(tmp(), 4, {}, undefined);
  const train = r.history.filter((h) => h.phase === "train");
  assert.ok(train[3].trainLoss < train[0].trainLoss - 50, `train loss ${train.map((h) => h.trainLoss.toFixed(1))}`);
  assert.is(r.status, "finished");
  assert.is(r.history.at(-1)!.phase, "finetune");
});

test("resume after an interruption equals an uninterrupted run, bit for bit", async () => {
  const straight = await trainTiny(tmp(), 2);
  const dir = tmp();
  const first = await trainTiny(dir, 2, {}, 3); // stops mid-epoch 1 (4 batches per epoch)
  assert.is(first.status, "interrupted");
  const second = await trainTiny(dir, 2, {}, 6, true); // stops again, in epoch 2
  assert.is(second.status, "interrupted");
  const resumed = await trainTiny(dir, 2, {}, undefined, true);
  assert.is(resumed.status, "finished");
  const a = straight.vae.parameters().map((p) => Array.from(p.data));
  const b = resumed.vae.parameters().map((p) => Array.from(p.data));
  assert.equal(b, a);
  assert.equal(resumed.history.map((h) => h.trainLoss), straight.history.map((h) => h.trainLoss));
  await assert.not.throws(() => loadModel(dir));
});

test("a saved model loads back bit-exactly and gives the same outputs", async () => {
  const dir = tmp();
  const r = await trainTiny(dir, 1);
  const { vae, meta } = loadModel(dir);
  assert.is(meta.bjorckIters, 6);
  vae.parameters().forEach((p, i) => assert.equal(Array.from(p.data), Array.from(r.vae.parameters()[i].data)));
  const out = (m: VAE) => tidy(() => noGrad(() => m.encode(tensor(data.test.images.subarray(0, 784 * 2), [2, 784]), m.effectiveWeights(6)).mu.toArray()));
  assert.equal(out(vae), out(r.vae));
});

test("Lipschitz property: ||f(x) - f(x')|| <= M ||x - x'|| for every net on random pairs", () => {
  const vae = new VAE(tiny(), 11);
  // Orthogonal init gives every singular value 1/sqrt(in): rescale the raw weights to
  // singular values 1.2 (inside Björck's convergence range) so that the bound is nearly tight.
  for (const net of vae.nets) for (const l of net.layers) {
    const f = 1.2 * Math.sqrt(l.weight.shape[1]);
    l.weight.data.forEach((v, i, arr) => (arr[i] = v * f));
  }
  const rand = rng(4);
  tidy(() => noGrad(() => {
    const w = vae.effectiveWeights(6);
    for (let trial = 0; trial < 30; trial++) {
      const x = uniform(rand, 784, 0, 1), d = uniform(rand, 784, -0.1, 0.1);
      const x2 = x.map((v, i) => v + d[i]);
      const dist = Math.hypot(...d);
      const pair = (f: (t: ReturnType<typeof tensor>) => ReturnType<typeof tensor>) => {
        const a = f(tensor(x, [1, 784])).toArray(), b = f(tensor(x2, [1, 784])).toArray();
        return Math.hypot(...a.map((v, i) => v - b[i]));
      };
      const mu = pair((t) => vae.encode(t, w).mu);
      const sigma = pair((t) => vae.encode(t, w).sigma);
      assert.ok(mu <= 3 * dist * (1 + 1e-5), `mu: ${mu} > 3 * ${dist}`);
      assert.ok(sigma <= (2 / 4) * dist * (1 + 1e-5), `sigma: ${sigma} > (2/4) * ${dist}`);
      const z = uniform(rand, 3, -2, 2), dz = uniform(rand, 3, -0.5, 0.5);
      const g = (v: Float64Array) => vae.decode(tensor(v, [1, 3]), w).toArray();
      const ga = g(z), gb = g(z.map((v, i) => v + dz[i]));
      assert.ok(Math.hypot(...ga.map((v, i) => v - gb[i])) <= (4 / 4) * Math.hypot(...dz) * (1 + 1e-5), "decoder");
    }
  }));
});

test("corrupt, truncated or mismatched model files give clear errors", async () => {
  const dir = tmp();
  await trainTiny(dir, 1);
  const weights = path.join(dir, "model.safetensors"), json = path.join(dir, "model.json");
  const good = readFileSync(weights);
  writeFileSync(weights, good.subarray(0, good.length - 100));
  assert.throws(() => loadModel(dir), /does not match the hash recorded in model\.json/);
  writeFileSync(weights, good);
  const meta = readFileSync(json, "utf8");
  writeFileSync(json, meta.slice(0, 50));
  assert.throws(() => loadModel(dir), /model\.json is not valid JSON/);
  writeFileSync(json, meta);
  assert.throws(() => loadModel(path.join(dir, "nope")), /does not exist/);
  assert.not.throws(() => loadModel(dir));
});

// ---------------------------------------------------------------------------
// Interruptions: Ctrl-C at any moment of any phase leaves a checkpoint that
// resumes to exactly the parameters of an uninterrupted run.

/** A fresh run directory that does not exist yet (as for `lipvae train --out new`). */
const newRunDir = () => path.join(tmp(), "run");

type Moment = (e: TrainEvent) => boolean;
// 256 images in batches of 64: 4 steps per epoch; 600 validation images: two chunks of 500 + 100.
const interruptions: [string, Moment][] = [
  ["at the first step", (e) => e.type === "step" && e.phase === "train" && e.epoch === 0 && e.batch === 1],
  ["mid-epoch", (e) => e.type === "step" && e.phase === "train" && e.epoch === 0 && e.batch === 2],
  ["after an epoch's last step, before its validation", (e) => e.type === "step" && e.phase === "train" && e.epoch === 0 && e.batch === 4],
  ["during validation", (e) => e.type === "validation" && e.phase === "train" && e.epoch === 0 && e.done === 500],
  ["in the fine-tune", (e) => e.type === "step" && e.phase === "finetune" && e.batch === 3],
];

async function trainInterruptible(outDir: string, stopWhen: Moment | null, resume = false, seen: TrainEvent[] = []) {
  const config = tiny();
  const settings = { ...defaultSettings(config), lr: 3e-3, batchSize: 64, epochs: 2, finetuneEpochs: 1, validationLimit: 600 };
  const control = { stop: false };
  const trainer = new Trainer({
    config, seed: 5, dataset: data, outDir, settings, resume, control,
    onEvent: (e) => {
      seen.push(e);
      if (stopWhen?.(e)) control.stop = true;
    },
  });
  return trainer.run();
}

let uninterrupted: Promise<TrainResult> | null = null;
for (const [moment, stopWhen] of interruptions) {
  test(`Ctrl-C ${moment}: a checkpoint is written and resuming gives the uninterrupted run bit for bit`, async () => {
    uninterrupted ??= trainInterruptible(newRunDir(), null);
    const straight = await uninterrupted;
    const dir = newRunDir();
    const seen: TrainEvent[] = [];
    const first = await trainInterruptible(dir, stopWhen, false, seen);
    assert.is(first.status, "interrupted");
    const note = seen.find((e) => e.type === "interrupted");
    assert.ok(note && existsSync(note.checkpoint), "the interrupted event names a checkpoint that exists");
    const resumed = await trainInterruptible(dir, null, true);
    assert.is(resumed.status, "finished");
    assert.equal(resumed.vae.parameters().map((p) => Array.from(p.data)), straight.vae.parameters().map((p) => Array.from(p.data)));
    assert.equal(resumed.history.map((h) => [h.phase, h.epoch, h.trainLoss, h.valLoss]), straight.history.map((h) => [h.phase, h.epoch, h.trainLoss, h.valLoss]));
    assert.equal(loadModel(dir).meta.training.history.map((h) => h.valLoss), straight.history.map((h) => h.valLoss));
  });
}

test("the run directory exists before the first step", async () => {
  const dir = newRunDir();
  let existedAtFirstStep = false;
  await trainInterruptible(dir, (e) => {
    if (e.type === "step") existedAtFirstStep = existsSync(dir);
    return e.type === "step";
  });
  assert.ok(existedAtFirstStep);
});

// ---------------------------------------------------------------------------
// Divergence: a NaN/Inf validation loss is never "best" and never saved.

test("a run that diverges in its last step stops with a clear error and saves no model", async () => {
  const dir = newRunDir();
  const config = tiny();
  // One step of 256 images: its loss is finite, the update it makes is not.
  const settings = { ...defaultSettings(config), lr: 1e10, batchSize: 256, epochs: 1, finetune: false, validationLimit: 128 };
  const trainer = new Trainer({ config, seed: 5, dataset: data, outDir: dir, settings });
  const err = await trainer.run().then(() => null, (e: unknown) => e);
  assert.instance(err, LipvaeError);
  assert.match((err as Error).message, /diverged/);
  assert.match((err as Error).message, /lower --lr/);
  assert.match((err as Error).message, /no model was saved/);
  assert.not.ok(existsSync(path.join(dir, "model.json")), "no model.json");
});

test("a divergence after a good epoch keeps the good model in the directory", async () => {
  const dir = newRunDir();
  const config = tiny();
  const settings = { ...defaultSettings(config), lr: 3e-3, batchSize: 64, epochs: 3, finetune: false, validationLimit: 128 };
  let trainer: Trainer | null = null;
  trainer = new Trainer({
    config, seed: 5, dataset: data, outDir: dir, settings,
    // After epoch 2's last step (past the per-step loss check), poison a weight as a
    // too-large step would: only the validation loss can notice.
    onEvent: (e) => {
      if (e.type === "step" && e.epoch === 1 && e.batch === 4) trainer!.vae.parameters()[0].data[0] = NaN;
    },
  });
  const err = await trainer.run().then(() => null, (e: unknown) => e);
  assert.instance(err, LipvaeError);
  assert.match((err as Error).message, /validation loss .*NaN/);
  assert.match((err as Error).message, /remains in/);
  const { vae, meta } = loadModel(dir);
  assert.is(meta.training.history.length, 1);
  assert.ok(Number.isFinite(meta.training.bestValLoss));
  assert.ok(vae.parameters().every((p) => p.data.every(Number.isFinite)), "saved parameters are finite");
});

test("resume refuses settings that differ from the checkpoint's", async () => {
  const dir = newRunDir();
  await trainInterruptible(dir, (e) => e.type === "step" && e.batch === 2);
  const config = tiny();
  const settings = { ...defaultSettings(config), lr: 3e-3, batchSize: 32, epochs: 2, finetuneEpochs: 1, validationLimit: 600 };
  assert.throws(() => new Trainer({ config, seed: 5, dataset: data, outDir: dir, settings, resume: true }),
    (err: Error) => err instanceof LipvaeError && /batchSize 64/.test(err.message) && /32/.test(err.message));
});

test.run();
