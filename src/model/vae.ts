// The VAE: encoder mean mu(x), encoder std sigma(x) (learned, constrained or
// fixed) and decoder g(z), three independent MLPs (docs/reference-code.md,
// 'Architecture'), with the continuous-Bernoulli ELBO (same file, 'Loss').

import { type Tensor, full, tensor } from "../engine/tensor.js";
import * as ops from "../engine/ops.js";
import { cbLogLik } from "./likelihood.js";
import { stream } from "../engine/random.js";
import { MLP } from "./mlp.js";
import { type ModelConfig, bjorckOptions, fixedSigmaVector, validateConfig } from "./config.js";

/** Björck-orthonormalised (or raw, for the standard kind) weights of all three nets. */
export interface EffectiveWeights {
  iters: number;
  encoderMean: Tensor[];
  encoderStd: Tensor[] | null;
  decoder: Tensor[];
}

export interface Posterior {
  mu: Tensor;
  sigma: Tensor;
  /** log sigma, computed without taking the log of an underflowed sigmoid. */
  logSigma: Tensor;
}

export interface ElboTerms {
  /** mean over the batch of beta KL - log p(x|z): what training minimises. */
  loss: Tensor;
  /** per-example continuous-Bernoulli log-likelihood, summed over pixels [B]. */
  logLik: Tensor;
  /** per-example KL(q(z|x) || N(0, I)) [B]. */
  kl: Tensor;
}

export class VAE {
  readonly config: ModelConfig;
  readonly encoderMean: MLP;
  /** Absent for a fixed sigma (the reference code builds it and never uses it). */
  readonly encoderStd: MLP | null;
  readonly decoder: MLP;
  private readonly fixedSigma: Float64Array | null;

  /** With initialise = false the parameters start at zero (for loading). */
  constructor(config: ModelConfig, seed: number, opts: { initialise?: boolean } = {}) {
    this.config = validateConfig(structuredClone(config));
    const c = this.config;
    const rand = opts.initialise === false ? null : stream(seed, "init");
    const encSizes = [c.inputDim, ...c.hidden, c.latentDim];
    const decSizes = [c.latentDim, ...[...c.hidden].reverse(), c.inputDim];
    this.encoderMean = new MLP("encoder_mean", encSizes, c.kind, c.lipschitz.encoderMean, c.groupSize, rand);
    this.encoderStd = c.sigma.mode === "fixed" ? null
      : new MLP("encoder_std", encSizes, c.kind, c.lipschitz.encoderStd, c.groupSize, rand);
    this.decoder = new MLP("decoder", decSizes, c.kind, c.lipschitz.decoder, c.groupSize, rand);
    this.fixedSigma = fixedSigmaVector(c);
  }

  get nets(): MLP[] {
    return [this.encoderMean, ...(this.encoderStd ? [this.encoderStd] : []), this.decoder];
  }

  namedParameters(): [string, Tensor][] {
    return this.nets.flatMap((n) => n.namedParameters());
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Effective weights for `iters` Björck steps (differentiable when gradients are on). */
  effectiveWeights(iters: number): EffectiveWeights {
    const opts = bjorckOptions(this.config);
    return {
      iters,
      encoderMean: this.encoderMean.effectiveWeights(iters, opts),
      encoderStd: this.encoderStd ? this.encoderStd.effectiveWeights(iters, opts) : null,
      decoder: this.decoder.effectiveWeights(iters, opts),
    };
  }

  /** q(z|x): mean and standard deviation for a batch x [B, 784]. */
  encode(x: Tensor, w: EffectiveWeights): Posterior {
    const mu = this.encoderMean.forward(x, w.encoderMean);
    const batch = x.shape[0], dz = this.config.latentDim;
    const s = this.config.sigma;
    if (s.mode === "fixed") {
      const gamma = this.fixedSigma!;
      const rows = (f: (g: number) => number) => tensor(
        Float64Array.from({ length: batch * dz }, (_, i) => f(gamma[i % dz])), [batch, dz], x.dtype);
      return { mu, sigma: rows((g) => g), logSigma: rows(Math.log) };
    }
    const pre = this.encoderStd!.forward(x, w.encoderStd!);
    const sig = ops.sigmoid(pre);
    const logSig = ops.logSigmoid(pre);
    if (s.mode === "learned") return { mu, sigma: sig, logSigma: logSig };
    // Constrained: sigma = sig * f with f = min(1, maxNorm/||sig||) per row,
    // so log sigma = log sig - relu(log||sig|| - log maxNorm).
    const sigma = ops.clipRowNorm(sig, s.maxNorm);
    const logNorm = ops.scale(ops.log(ops.sumRows(ops.square(sig))), 0.5);
    const logF = ops.neg(ops.relu(ops.addScalar(logNorm, -Math.log(s.maxNorm))));
    return { mu, sigma, logSigma: ops.addColumn(logSig, logF) };
  }

  /** z = mu + sigma * noise (one sample per input; noise ~ N(0, I) supplied by the caller). */
  sample(post: Posterior, noise: Tensor): Tensor {
    return ops.add(post.mu, ops.mul(post.sigma, noise));
  }

  /** Decoder pre-sigmoid output h; lambda = sigmoid(h) is the continuous-Bernoulli parameter. */
  decoderLogits(z: Tensor, w: EffectiveWeights): Tensor {
    return this.decoder.forward(z, w.decoder);
  }

  /** The reconstruction lambda = g(z) in (0, 1)^784. */
  decode(z: Tensor, w: EffectiveWeights): Tensor {
    return ops.sigmoid(this.decoderLogits(z, w));
  }

  /** The negative ELBO (loss), with its per-example parts, for one noise draw. */
  elbo(x: Tensor, noise: Tensor, w: EffectiveWeights): ElboTerms {
    const post = this.encode(x, w);
    const z = this.sample(post, noise);
    const h = this.decoderLogits(z, w);
    const logLik = ops.sumRows(cbLogLik(h, x));
    const kl = gaussianKl(post);
    const perExample = ops.sub(ops.scale(kl, this.config.klBeta), logLik);
    return { loss: ops.mean(perExample), logLik, kl };
  }
}

/** KL(N(mu, diag sigma^2) || N(0, I)) per row: 0.5 sum(sigma^2 + mu^2 - 1 - 2 log sigma). */
export function gaussianKl(post: Posterior): Tensor {
  const dz = post.mu.shape[1];
  const inner = ops.sub(ops.add(ops.square(post.sigma), ops.square(post.mu)), ops.scale(post.logSigma, 2));
  return ops.addScalar(ops.scale(ops.sumRows(inner), 0.5), -0.5 * dz);
}

/** Standard-normal noise [rows, cols] from a seeded stream. */
export function normalNoise(rows: number, cols: number, rand: { fillNormal(out: Float32Array): void }): Tensor {
  const t = full([rows, cols], 0);
  rand.fillNormal(t.data as Float32Array);
  return t;
}
