// Model-level benchmarks on the build the library selects: inference of 1000
// images as `lipvae eval` runs it, one max-damage attack step and one image
// through Algorithm 2 (the training-step rows are in train.ts). The model is a randomly initialised paper-size VAE with its
// effective weights frozen at K = 50 (as for evaluation), so no trained file
// is needed; the pixels are a fixed pseudo-random image.
import { engine } from "../src/engine/engine.js";
import { stream } from "../src/engine/random.js";
import { PAPER_DEFAULTS } from "../src/model/config.js";
import { VAE, normalNoise } from "../src/model/vae.js";
import { sliceRows } from "../src/model/train.js";
import { tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { attackModel } from "../src/attacks/model.js";
import { DEFAULT_MAX_DAMAGE, maxDamageProblem } from "../src/attacks/max-damage.js";
import { initialDelta } from "../src/attacks/optimise.js";
import { DEFAULT_MARGIN, estimateMargins } from "../src/attacks/margin.js";
import { measureConstants } from "../src/bounds/measured.js";
import { type BenchRow, engineLabel, measure } from "./harness.js";

export async function modelBenchmarks(quick: boolean, only: RegExp | null): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const want = (name: string) => !only || only.test(name);
  if (!["infer.1000", "attack.step.b25", "margin.image", "certify.measure"].some(want)) return rows;
  const build = engineLabel(engine());
  // GFLOP/s on the FLOPs the GEMMs executed (assembly/flops.ts).
  const flopCounter = () => engine().kernels.flopsF32();
  const model = attackModel(new VAE(PAPER_DEFAULTS, 0), PAPER_DEFAULTS.bjorck.finetuneIters);
  const n = model.n, rand = stream(0, "bench.model");
  const image = Float32Array.from({ length: n }, () => rand.uniform());

  if (want("infer.1000")) {
    // The loop of evaluate() (src/model/evaluate.ts): weights frozen once (above, not
    // timed), batches of 500, ELBO terms per image (encode, sample, decode,
    // continuous-Bernoulli log-likelihood, KL), no gradients.
    const count = 1000, batch = 500, dz = model.dz;
    const images = Float32Array.from({ length: count * n }, () => rand.uniform());
    const logLik = new Float64Array(count), kl = new Float64Array(count);
    const noise = stream(0, "bench.infer");
    const run = () => noGrad(() => tidy(() => {
      for (let start = 0; start < count; start += batch) {
        tidy(() => {
          const terms = model.vae.elbo(sliceRows(images, start, batch, n), normalNoise(batch, dz, noise), model.weights);
          logLik.set(terms.logLik.data, start);
          kl.set(terms.kl.data, start);
        });
      }
      return null;
    }));
    const row = measure("infer.1000", build, flopCounter, run, quick ? { minRuns: 3, minTimeMs: 0, warmup: 1 } : { minRuns: 10, minTimeMs: 500 });
    row.note = "eval loop: 1000 images in batches of 500, ELBO terms, no grad, Björck (K = 50) computed once outside";
    rows.push(row);
  }

  if (want("attack.step.b25")) {
    const B = 25, x = new Float32Array(B * n);
    for (let i = 0; i < B; i++) x.set(image, i * n);
    const radii = new Float64Array(B).fill(3);
    const rands = Array.from({ length: B }, (_, i) => stream(0, `bench.attack:${i}`));
    const problem = maxDamageProblem(model, x, radii, rands, DEFAULT_MAX_DAMAGE);
    const delta = initialDelta("d-ball", B, n, radii, rands);
    const step = () => {
      const { grad } = problem.evaluate(delta, 0);
      for (let i = 0; i < delta.length; i++) delta[i] += 1e-3 * grad[i];
      problem.project(delta);
    };
    const row = measure("attack.step.b25", build, flopCounter, step, quick ? { minRuns: 3, minTimeMs: 0, warmup: 1 } : { minRuns: 10, minTimeMs: 500 });
    row.note = "max-damage fwd + grad wrt δ + ball∩box projection, 25 rows (PyTorch: 5.4 ms)";
    rows.push(row);
  }

  if (want("margin.image")) {
    let levels = 0;
    const run = () => {
      const [result] = estimateMargins(model, image, 1, DEFAULT_MARGIN);
      levels = result.levels.length;
    };
    const row = measure("margin.image", build, 0, run, { minRuns: quick ? 1 : 2, minTimeMs: 0, warmup: 0 });
    row.note = `Algorithm 2, reference defaults (S = 40, T = 5, ${DEFAULT_MARGIN.attack.steps} steps per attack), ${levels} radii tried`;
    rows.push(row);
  }

  if (want("certify.measure")) {
    // What `lipvae certify` computes before any bound: Björck at K = 50 on every
    // usable build, then a certified spectral norm per layer (and per export).
    const vae = new VAE(PAPER_DEFAULTS, 0);
    const run = () => measureConstants(vae, PAPER_DEFAULTS.bjorck.finetuneIters);
    const row = measure("certify.measure", build, 0, run, { minRuns: quick ? 1 : 3, minTimeMs: 0, warmup: 0 });
    row.note = "measured constants a, b, c of the paper model at K = 50 (Björck on each build, a certified spectral norm per layer and per exported layer)";
    rows.push(row);
  }
  return rows;
}
