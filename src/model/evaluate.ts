// Test-set evaluation as the reference code's `check_NLL` (docs/reference-code.md, 'Loss'):
// one z sample per image, LL = sum over pixels of the continuous-Bernoulli
// log-density (KL excluded), plus the ELBO = LL - KL, and the two figures:
// reconstructions and decoded prior samples (the paper's Fig 7).
//
// The effective weights are computed once (Björck with K = 50 costs far more
// than a forward pass) and shared by every batch and both figures.

import { type Tensor, tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { stream } from "../engine/random.js";
import { sliceRows } from "./train.js";
import { type EffectiveWeights, type VAE, normalNoise } from "./vae.js";

export interface EvalOptions {
  /** Seeds the streams "eval" (test-set noise), "eval.reconstruction" and "eval.prior". */
  seed: number;
  /** Björck iterations defining the model (meta.bjorckIters). */
  bjorckIters: number;
  batchSize?: number;
  /** Test images shown in the reconstruction figure (default 16). */
  reconstructions?: number;
  /** Prior samples decoded for the sample figure (default 64). */
  priorSamples?: number;
  onProgress?: (done: number, total: number, meanLogLik: number) => void;
}

export interface Stat {
  mean: number;
  /** Standard error of the mean over images. */
  stdErr: number;
}

export interface EvalResult {
  images: number;
  logLik: Stat;
  kl: Stat;
  elbo: Stat;
  /** Per-image values, in test-set order. */
  perImage: { logLik: Float64Array; kl: Float64Array };
  /** The first test images and their reconstructions lambda = g(mu + sigma eps), one sample each. */
  reconstruction: { originals: Float32Array; lambda: Float32Array; count: number };
  /** lambda = g(z), z ~ N(0, I). */
  prior: { lambda: Float32Array; count: number };
  seconds: number;
}

const PIXELS = 784;

/** Evaluates on the first `count` rows of `images` (n × 784 in [0,1]). */
export function evaluate(vae: VAE, images: Float32Array, count: number, opts: EvalOptions): EvalResult {
  const t0 = performance.now();
  const batchSize = opts.batchSize ?? 500;
  const nRecon = Math.min(opts.reconstructions ?? 16, count);
  const nPrior = opts.priorSamples ?? 64;
  const dz = vae.config.latentDim;
  const logLik = new Float64Array(count), kl = new Float64Array(count);
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(opts.bjorckIters);
    const rand = stream(opts.seed, "eval");
    let sumLL = 0;
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      tidy(() => {
        const x = sliceRows(images, start, size);
        const terms = vae.elbo(x, normalNoise(size, dz, rand), w);
        logLik.set(terms.logLik.data, start);
        kl.set(terms.kl.data, start);
      });
      for (let i = start; i < start + size; i++) sumLL += logLik[i];
      opts.onProgress?.(start + size, count, sumLL / (start + size));
    }
    const elbo = logLik.map((v, i) => v - kl[i]);
    const originals = images.slice(0, nRecon * PIXELS);
    return {
      images: count,
      logLik: stat(logLik),
      kl: stat(kl),
      elbo: stat(elbo),
      perImage: { logLik, kl },
      reconstruction: { originals, lambda: reconstruct(vae, w, originals, nRecon, opts.seed), count: nRecon },
      prior: { lambda: samplePrior(vae, w, nPrior, opts.seed), count: nPrior },
      seconds: (performance.now() - t0) / 1000,
    };
  }));
}

/** lambda for one posterior sample of each image (own stream, so the figure does not depend on --images). */
export function reconstruct(vae: VAE, w: EffectiveWeights, images: Float32Array, count: number, seed: number): Float32Array {
  if (count === 0) return new Float32Array(0);
  return tidy(() => {
    const x = sliceRows(images, 0, count);
    const post = vae.encode(x, w);
    const z = vae.sample(post, normalNoise(count, vae.config.latentDim, stream(seed, "eval.reconstruction")));
    return copyOut(vae.decode(z, w));
  });
}

/** lambda = g(z) for `count` draws z ~ N(0, I). */
export function samplePrior(vae: VAE, w: EffectiveWeights, count: number, seed: number): Float32Array {
  if (count === 0) return new Float32Array(0);
  return tidy(() => copyOut(vae.decode(normalNoise(count, vae.config.latentDim, stream(seed, "eval.prior")), w)));
}

function copyOut(t: Tensor): Float32Array {
  return Float32Array.from(t.data);
}

function stat(v: Float64Array): Stat {
  const n = v.length;
  let mean = 0;
  for (const x of v) mean += x;
  mean /= n;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, stdErr: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN };
}

/**
 * The reconstruction figure's layout: rows of up to 8 test images, each row
 * followed by a row of their reconstructions (so every reconstruction sits
 * right below its original). A short last row is padded with gap-gray cells.
 */
export function reconstructionLayout(originals: Float32Array, lambda: Float32Array, count: number, blank = 0.5): { images: Float32Array; columns: number } {
  const columns = Math.max(1, Math.min(8, count));
  const pairRows = Math.ceil(count / columns);
  const images = new Float32Array(2 * pairRows * columns * PIXELS).fill(blank);
  for (let k = 0; k < count; k++) {
    const row = Math.floor(k / columns), col = k % columns;
    images.set(originals.subarray(k * PIXELS, (k + 1) * PIXELS), ((2 * row) * columns + col) * PIXELS);
    images.set(lambda.subarray(k * PIXELS, (k + 1) * PIXELS), ((2 * row + 1) * columns + col) * PIXELS);
  }
  return { images, columns };
}
