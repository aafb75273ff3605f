// Evaluation: finite means, per-image log-likelihood and KL equal to an
// independent f64 computation (plain exported layers + the closed-form
// continuous-Bernoulli density), batch-size independence, and the figures.
import { FIGURE_SCALE, captionedGridSvg } from "../src/io/image-grid.js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import pngjs from "pngjs";
import { stream } from "../src/engine/random.js";
import { loadModel } from "../src/model/store.js";
import { exportModel } from "../src/model/export.js";
import { plainForward, readPlainVae } from "../src/model/plain.js";
import { type EvalResult, evaluate, reconstructionLayout } from "../src/model/evaluate.js";
import { PRIOR_SAMPLES_PNG, RECONSTRUCTIONS_PNG, evalCaptions, writeEvalOutputs } from "../src/cli/eval.js";
import { type Variant, scratchDir, tinyDataset, tinyModel } from "./export-fixture.js";

const { PNG } = pngjs;
const N = 40, SEED = 3;

async function run(variant: Variant, batchSize: number): Promise<EvalResult> {
  const { vae, meta } = loadModel(await tinyModel(variant));
  return evaluate(vae, tinyDataset().test.images, N, { seed: SEED, bjorckIters: meta.bjorckIters, batchSize });
}

/** log p(x | lambda) of the continuous Bernoulli, straight from its definition (torch's clamp of lambda). */
function cbLogDensity(x: number, lambda: number): number {
  const eps = 2 ** -23;
  const l = Math.min(Math.max(lambda, eps), 1 - eps);
  const u = 1 - 2 * l;
  const logC = Math.abs(u) < 1e-9 ? Math.log(2) : Math.log((2 * Math.atanh(u)) / u);
  return x * Math.log(l) + (1 - x) * Math.log1p(-l) + logC;
}

const stats = (r: EvalResult) => [r.logLik.mean, r.kl.mean, r.elbo.mean, r.logLik.stdErr, r.elbo.stdErr];

test("every sigma mode and the standard VAE give finite means, with ELBO = LL - KL", async () => {
  for (const variant of ["learned", "fixed", "constrained", "standard"] as const) {
    const r = await run(variant, 16);
    assert.is(r.images, N);
    assert.ok(stats(r).every(Number.isFinite), `${variant}: ${stats(r)}`);
    assert.ok(r.kl.mean > 0, `${variant}: KL ${r.kl.mean} is positive`);
    assert.ok(Math.abs(r.elbo.mean - (r.logLik.mean - r.kl.mean)) < 1e-9 * Math.abs(r.logLik.mean));
    const mean = r.perImage.logLik.reduce((a, b) => a + b, 0) / N;
    assert.ok(Math.abs(mean - r.logLik.mean) < 1e-9 * Math.abs(mean));
  }
});

test("per-image LL and KL equal an independent f64 computation from the exported layers", async () => {
  const dir = await tinyModel("learned");
  const r = await run("learned", 16);
  const file = path.join(scratchDir(), "eval-independent.safetensors");
  exportModel(loadModel(dir), file);
  const plain = readPlainVae(file);
  // The same noise evaluate drew: the "eval" stream, rows in test-set order, rounded to f32.
  const k = 6, dz = plain.latentDim;
  const noise = new Float32Array(k * dz);
  stream(SEED, "eval").fillNormal(noise);
  const x = tinyDataset().test.images.subarray(0, k * 784);
  const { mu, sigma, lambda } = plainForward(plain, x, noise, k);
  for (let i = 0; i < k; i++) {
    let ll = 0;
    for (let p = 0; p < 784; p++) ll += cbLogDensity(x[i * 784 + p], lambda[i * 784 + p]);
    let kl = 0;
    for (let j = 0; j < dz; j++) {
      const m = mu[i * dz + j], s = sigma[i * dz + j];
      kl += 0.5 * (s * s + m * m - 1 - 2 * Math.log(s));
    }
    const got = r.perImage.logLik[i];
    assert.ok(Math.abs(got - ll) <= 1e-4 * Math.abs(ll) + 1e-3, `image ${i}: LL ${got} vs independent ${ll}`);
    assert.ok(Math.abs(r.perImage.kl[i] - kl) <= 1e-4 * kl + 1e-4, `image ${i}: KL ${r.perImage.kl[i]} vs independent ${kl}`);
  }
});

test("the numbers do not depend on the batch size, and the seed matters", async () => {
  const a = await run("constrained", 7), b = await run("constrained", 500);
  assert.equal(Array.from(a.perImage.logLik), Array.from(b.perImage.logLik));
  assert.equal(Array.from(a.reconstruction.lambda), Array.from(b.reconstruction.lambda));
  const { vae, meta } = loadModel(await tinyModel("constrained"));
  const c = evaluate(vae, tinyDataset().test.images, N, { seed: SEED + 1, bjorckIters: meta.bjorckIters });
  assert.not.equal(c.logLik.mean, a.logLik.mean);
});

test("reconstruction layout: each row of originals is followed by its reconstructions", () => {
  const img = (v: number, n: number) => new Float32Array(n * 784).fill(v);
  const originals = Float32Array.from({ length: 11 * 784 }, (_, i) => Math.floor(i / 784) / 100);
  const { images, columns } = reconstructionLayout(originals, img(1, 11), 11);
  assert.is(columns, 8);
  assert.is(images.length, 4 * 8 * 784, "two pairs of rows of 8");
  const cell = (k: number) => images[k * 784];
  assert.is(cell(0), originals[0]);
  assert.is(cell(7), originals[7 * 784]);
  assert.is(cell(8), 1, "row 2 = reconstructions of row 1");
  assert.is(cell(16), originals[8 * 784]);
  assert.is(cell(19), 0.5, "a short row is padded with blank cells");
  assert.is(cell(26), 1);
  assert.is(cell(27), 0.5);
  assert.is(reconstructionLayout(img(0, 3), img(1, 3), 3).columns, 3);
});

test("writeEvalOutputs: captioned PNGs around the unchanged grids, first cell is the first test image, eval.json", async () => {
  const dir = await tinyModel("learned");
  const model = loadModel(dir);
  const r = await run("learned", 500);
  const out = path.join(scratchDir(), "eval-out");
  const record = writeEvalOutputs(out, model, r, { seed: SEED, dataset: { name: "mnist", images: N, fingerprint: "sha256:x", matchesModel: false } });
  const recon = PNG.sync.read(readFileSync(path.join(out, RECONSTRUCTIONS_PNG)));
  const captions = evalCaptions(model, r, SEED, 8);
  assert.is(captions.reconstructions.title, "Reconstructions of the first 16 test images");
  assert.equal(captions.reconstructions.rows, [["x", "images 0–7"], ["recon(x)"], ["x", "images 8–15"], ["recon(x)"]]);
  assert.is(captions.priorSamples.title, "64 prior samples g(z), z ~ N(0, I)");
  const layout = (images: number, caption: typeof captions.reconstructions) =>
    captionedGridSvg(new Float32Array(images * 784), { columns: 8, scale: FIGURE_SCALE }, caption).layout;
  // 8 columns × 4 rows of 28 px cells with 2 px gaps: 8·28 + 9·2 = 242, 4·28 + 5·2 = 122, magnified 3x,
  // below a title band and (reconstructions) right of a band naming the rows.
  const band = layout(32, captions.reconstructions);
  assert.ok(band.gridX > 0 && band.gridY > 0);
  assert.equal([recon.width, recon.height], [242 * FIGURE_SCALE + band.gridX, 122 * FIGURE_SCALE + band.gridY]);
  const prior = PNG.sync.read(readFileSync(path.join(out, PRIOR_SAMPLES_PNG)));
  const priorBand = layout(64, captions.priorSamples);
  assert.ok(priorBand.gridX === 0 && priorBand.gridY > 0);
  assert.equal([prior.width, prior.height], [242 * FIGURE_SCALE, 242 * FIGURE_SCALE + priorBand.gridY]);
  // Pixel (row 14, col 14) of the first cell (offset by the 2 px gap and the bands) is that of test image 0.
  const want = Math.round(tinyDataset().test.images[14 * 28 + 14] * 255);
  const at = (((2 + 14) * FIGURE_SCALE + band.gridY) * recon.width + (2 + 14) * FIGURE_SCALE + band.gridX) * 4;
  assert.equal([...recon.data.subarray(at, at + 3)], [want, want, want]);
  const json = JSON.parse(readFileSync(path.join(out, "eval.json"), "utf8"));
  assert.equal(json, JSON.parse(JSON.stringify(record)));
  assert.is(json.dataset.images, N);
  assert.is(json.seed, SEED);
  assert.is(json.model.sha256, model.meta.parameters.sha256);
  assert.is(json.logLikelihood.mean, r.logLik.mean);
});

test.run();
