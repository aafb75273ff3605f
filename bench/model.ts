// Model-level benchmarks on the build the library selects: inference of 1000
// images as `lipvae eval` runs it, one max-damage attack step and one image
// through Algorithm 2 (the training-step rows are in train.ts). The model is a randomly initialised paper-size VAE with its
// effective weights frozen at K = 50 (as for evaluation), so no trained file
// is needed; the pixels are a fixed pseudo-random image.
import { engine } from "../src/engine/engine.js";
import { type Random, stream } from "../src/engine/random.js";
import { PAPER_DEFAULTS } from "../src/model/config.js";
import { VAE, normalNoise } from "../src/model/vae.js";
import { sliceRows } from "../src/model/train.js";
import { tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { type AttackModel, attackModel } from "../src/attacks/model.js";
import { DEFAULT_MAX_DAMAGE, maxDamageProblem } from "../src/attacks/max-damage.js";
import { initialDelta } from "../src/attacks/optimise.js";
import { DEFAULT_MARGIN, estimateMargins } from "../src/attacks/margin.js";
import { measureConstants } from "../src/bounds/measured.js";
import { type RowSpec } from "./harness.js";

/** The model rows; they share one frozen paper-size model, built when the first of them is timed. */
export function modelRowSpecs(quick: boolean): RowSpec[] {
  // GFLOP/s on the FLOPs the GEMMs executed (assembly/flops.ts).
  const flopCounter = () => engine().kernels.flopsF32();
  let shared: { model: AttackModel; image: Float32Array; rand: Random } | null = null;
  const frozen = () => {
    if (!shared) {
      const model = attackModel(new VAE(PAPER_DEFAULTS, 0), PAPER_DEFAULTS.bjorck.finetuneIters);
      const rand = stream(0, "bench.model");
      shared = { model, rand, image: Float32Array.from({ length: model.n }, () => rand.uniform()) };
    }
    return shared;
  };
  const timing = quick ? { minRuns: 3, minTimeMs: 0, warmup: 1 } : { minRuns: 10, minTimeMs: 500 };
  return [{
    name: "infer.1000",
    make: () => {
      // The loop of evaluate() (src/model/evaluate.ts): weights frozen once (above, not
      // timed), batches of 500, ELBO terms per image (encode, sample, decode,
      // continuous-Bernoulli log-likelihood, KL), no gradients.
      const { model, rand } = frozen();
      const count = 1000, batch = 500, dz = model.dz, n = model.n;
      const images = Float32Array.from({ length: count * n }, () => rand.uniform());
      const logLik = new Float64Array(count), kl = new Float64Array(count);
      const noise = stream(0, "bench.infer");
      return {
        run: () => noGrad(() => tidy(() => {
          for (let start = 0; start < count; start += batch) {
            tidy(() => {
              const terms = model.vae.elbo(sliceRows(images, start, batch, n), normalNoise(batch, dz, noise), model.weights);
              logLik.set(terms.logLik.data, start);
              kl.set(terms.kl.data, start);
            });
          }
          return null;
        })),
        flops: flopCounter, opts: timing,
        note: () => "eval loop: 1000 images in batches of 500, ELBO terms, no grad, Björck (K = 50) computed once outside",
      };
    },
  }, {
    name: "attack.step.b25",
    make: () => {
      const { model, image } = frozen();
      const B = 25, n = model.n, x = new Float32Array(B * n);
      for (let i = 0; i < B; i++) x.set(image, i * n);
      const radii = new Float64Array(B).fill(3);
      const rands = Array.from({ length: B }, (_, i) => stream(0, `bench.attack:${i}`));
      const problem = maxDamageProblem(model, x, radii, rands, DEFAULT_MAX_DAMAGE);
      const delta = initialDelta("d-ball", B, n, radii, rands);
      return {
        run: () => {
          const { grad } = problem.evaluate(delta, 0);
          for (let i = 0; i < delta.length; i++) delta[i] += 1e-3 * grad[i];
          problem.project(delta);
        },
        flops: flopCounter, opts: timing,
        note: () => "max-damage fwd + grad wrt δ + ball∩box projection, 25 rows",
      };
    },
  }, {
    name: "margin.image",
    make: () => {
      const { model, image } = frozen();
      let levels = 0;
      return {
        run: () => {
          const [result] = estimateMargins(model, image, 1, DEFAULT_MARGIN);
          levels = result.levels.length;
        },
        flops: 0, opts: { minRuns: quick ? 1 : 2, minTimeMs: 0, warmup: 0 },
        note: () => `Algorithm 2, reference defaults (S = 40, T = 5, ${DEFAULT_MARGIN.attack.steps} steps per attack), ${levels} radii tried`,
      };
    },
  }, {
    name: "certify.measure",
    make: () => {
      // What `lipvae certify` computes before any bound: Björck at K = 50 on every
      // usable build, then a certified spectral norm per layer (and per export).
      const vae = new VAE(PAPER_DEFAULTS, 0);
      return {
        run: () => { measureConstants(vae, PAPER_DEFAULTS.bjorck.finetuneIters); },
        flops: 0, opts: { minRuns: quick ? 1 : 3, minTimeMs: 0, warmup: 0 },
        note: () => "measured constants a, b, c of the paper model at K = 50 (Björck on each build, a certified spectral norm per layer and per exported layer)",
      };
    },
  }];
}
