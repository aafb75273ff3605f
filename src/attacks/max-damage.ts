// The maximum-damage attack, eq. (4) of the paper: maximise
// ‖g(z_δ) − g(z_¬δ)‖₂ with z_δ ~ q(z|x+δ), z_¬δ ~ q(z|x), over ‖δ‖ ≤ R (ball)
// or ‖δ‖ = R (sphere), keeping x + δ in [0, 1] (docs/attacks.md).
//
// Noise: "fresh" is the paper's and the reference code's objective, new
// draws (z_δ, z_¬δ) at every evaluation, so the optimiser climbs a
// stochastic objective; "common" draws `samples` pairs once per attack and
// reuses them (common random numbers), a deterministic objective whose best
// iterate can be kept. Both average the distance over `samples` pairs.
//
// Also here: sampling ‖g(z_δ) − g(z_¬δ)‖ at a fixed δ, the raw material of
// the r-robustness probability P[‖g(z_δ) − g(z_¬δ)‖ ≤ r].

import { type Tensor, tensor, tidy } from "../engine/tensor.js";
import * as ops from "../engine/ops.js";
import { grad, noGrad, requireGrad } from "../engine/tape.js";
import { type Random, stream } from "../engine/random.js";
import { type AttackModel, rowNoise } from "./model.js";
import { type AscentProblem, DEFAULT_OPTIMISER, type OptimiserOptions, initialDelta, projectedAscent } from "./optimise.js";
import { type NormConstraint, projectRows } from "./projection.js";


export type NoiseMode = "fresh" | "common";

export interface MaxDamageOptions extends OptimiserOptions {
  constraint: NormConstraint;
  noise: NoiseMode;
  /** Noise pairs averaged per objective evaluation. */
  samples: number;
}

/** The paper's attack: ball, one fresh noise pair per evaluation. */
export const DEFAULT_MAX_DAMAGE: MaxDamageOptions = { ...DEFAULT_OPTIMISER, constraint: "ball", noise: "fresh", samples: 1 };

/** Posterior of the clean rows, once per attack (it does not depend on δ). */
function cleanPosterior(model: AttackModel, x: Float32Array, rows: number): { mu: Float32Array; sigma: Float32Array } {
  return noGrad(() => tidy(() => {
    const p = model.vae.encode(tensor(x, [rows, model.n]), model.weights);
    return { mu: Float32Array.from(p.mu.data), sigma: Float32Array.from(p.sigma.data) };
  }));
}

/** z = mu + sigma ⊙ eps with mu, sigma [rows, dz] repeated k times per row; eps [rows·k, dz]. */
function latentSamples(mu: Float32Array, sigma: Float32Array, eps: Tensor, k: number, dz: number): Tensor {
  const e = eps.data;
  const out = new Float32Array(e.length);
  for (let j = 0; j < e.length; j++) {
    const src = Math.floor(j / (k * dz)) * dz + (j % dz);
    out[j] = mu[src] + sigma[src] * e[j];
  }
  return tensor(out, eps.shape);
}

/**
 * The batch objective: rows of x (rows × n) with their radii and streams.
 * Exposed for the optimiser and the benchmark.
 */
export function maxDamageProblem(
  model: AttackModel, x: Float32Array, radii: ArrayLike<number>, rands: Random[],
  opts: Pick<MaxDamageOptions, "constraint" | "noise" | "samples">,
): AscentProblem {
  const rows = radii.length, { n, dz, vae, weights } = model;
  const k = opts.samples;
  const clean = cleanPosterior(model, x, rows);
  // Common random numbers: the draws, and so the clean reconstructions g(z_¬δ), are fixed for the whole attack.
  const common = opts.noise === "common"
    ? noGrad(() => tidy(() => {
      const d = Float32Array.from(rowNoise(rands, k, dz).data);
      const eps = rowNoise(rands, k, dz);
      return { d, target: Float32Array.from(vae.decode(latentSamples(clean.mu, clean.sigma, eps, k, dz), weights).data) };
    }))
    : null;
  return {
    rows, n, scale: radii, deterministic: common !== null,
    project: (delta) => { projectRows(opts.constraint, delta, x, radii, n); },
    evaluate: (delta) => tidy(() => {
      const epsD = common ? tensor(common.d, [rows * k, dz]) : rowNoise(rands, k, dz);
      const target = common ? tensor(common.target, [rows * k, n])
        : noGrad(() => vae.decode(latentSamples(clean.mu, clean.sigma, rowNoise(rands, k, dz), k, dz), weights));
      const d = requireGrad(tensor(delta, [rows, n]));
      const post = vae.encode(ops.add(tensor(x, [rows, n]), d), weights);
      const z = ops.add(ops.repeatRows(post.mu, k), ops.mul(ops.repeatRows(post.sigma, k), epsD));
      const dist = ops.rowNorms(ops.sub(vae.decode(z, weights), target));
      const [g] = grad(ops.scale(ops.sum(dist), 1 / k), [d]);
      const dd = dist.data, values = new Float64Array(rows);
      for (let j = 0; j < dd.length; j++) values[Math.floor(j / k)] += dd[j] / k;
      return { values, grad: Float32Array.from(g.data) };
    }),
  };
}

export interface RowAttack {
  /** rows × n perturbations. */
  delta: Float32Array;
  /** ‖δ‖ per row. */
  norms: Float64Array;
  /** Objective at δ (mean distance over the attack's noise; one noisy evaluation for fresh noise). */
  values: Float64Array;
}

/** One attack per row: x rows × n, radius per row, one stream per row (start and noise). */
export function maxDamageRows(
  model: AttackModel, x: Float32Array, radii: ArrayLike<number>, rands: Random[], opts: MaxDamageOptions,
): RowAttack {
  const rows = radii.length;
  const problem = maxDamageProblem(model, x, radii, rands, opts);
  const start = initialDelta(opts.init, rows, model.n, radii, rands);
  const { delta, values } = projectedAscent(problem, start, opts);
  return { delta, values, norms: rowNormsOf(delta, model.n) };
}

/** ‖δ_i‖ per row of a rows × n array. */
export function rowNormsOf(delta: Float32Array, n: number): Float64Array {
  const rows = delta.length / n;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * n; i < (r + 1) * n; i++) s += delta[i] * delta[i];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/**
 * S independent draws of ‖g(z_δ) − g(z_¬δ)‖ per row (rows × S, row-major),
 * z_δ ~ q(z|x+δ) and z_¬δ ~ q(z|x) drawn fresh from the row's stream.
 */
export function damageSamples(model: AttackModel, x: Float32Array, delta: Float32Array, samples: number, rands: Random[]): Float64Array {
  const rows = rands.length, { n, dz, vae, weights } = model;
  const out = new Float64Array(rows * samples);
  const clean = cleanPosterior(model, x, rows);
  const moved = new Float32Array(rows * n);
  for (let i = 0; i < moved.length; i++) moved[i] = x[i] + delta[i];
  const perturbed = cleanPosterior(model, moved, rows);
  // Chunks of samples keep a batch near 2,048 rows.
  const chunk = Math.max(1, Math.floor(2048 / rows));
  for (let s0 = 0; s0 < samples; s0 += chunk) {
    const k = Math.min(chunk, samples - s0);
    noGrad(() => tidy(() => {
      const epsD = rowNoise(rands, k, dz), epsC = rowNoise(rands, k, dz);
      const a = vae.decode(latentSamples(perturbed.mu, perturbed.sigma, epsD, k, dz), weights);
      const b = vae.decode(latentSamples(clean.mu, clean.sigma, epsC, k, dz), weights);
      // Distances in one pass (this loop runs over millions of pixels in the tests).
      const ad = a.data, bd = b.data;
      for (let j = 0; j < rows * k; j++) {
        let sq = 0;
        for (let c = j * n; c < (j + 1) * n; c++) sq += (ad[c] - bd[c]) ** 2;
        out[Math.floor(j / k) * samples + s0 + (j % k)] = Math.sqrt(sq);
      }
    }));
  }
  return out;
}

/** Per row: how many of the S distances are ≤ r (the estimate of the r-robustness probability is count/S). */
export function countWithin(distances: Float64Array, rows: number, r: number): Int32Array {
  const samples = distances.length / rows;
  const counts = new Int32Array(rows);
  for (let i = 0; i < distances.length; i++) if (distances[i] <= r) counts[Math.floor(i / samples)]++;
  return counts;
}

export interface MaxDamageAttack {
  /** images × n: the best restart per image. */
  delta: Float32Array;
  norms: Float64Array;
  /** Mean ‖g(z_δ) − g(z_¬δ)‖ at the chosen δ over `evalSamples` common draws. */
  damage: Float64Array;
  /** Every restart: (images·restarts) × n, image-major, with its evaluated damage. */
  restarts: { delta: Float32Array; damage: Float64Array };
}

/**
 * The attack on `count` images (x: count × n) with `restarts` random
 * restarts each; the restart with the largest mean damage over
 * `evalSamples` draws (the same draws for every restart of an image) wins.
 * Streams: "max-damage:<image>:<restart>" and "max-damage-eval:<image>" of seed.
 */
export function maxDamageAttack(
  model: AttackModel, x: Float32Array, count: number, radius: number,
  opts: MaxDamageOptions & { seed: number; evalSamples?: number },
): MaxDamageAttack {
  const n = model.n, T = opts.restarts, rows = count * T;
  const xs = new Float32Array(rows * n);
  const rands: Random[] = [];
  for (let i = 0; i < count; i++) {
    for (let t = 0; t < T; t++) {
      xs.set(x.subarray(i * n, (i + 1) * n), (i * T + t) * n);
      rands.push(stream(opts.seed, `max-damage:${i}:${t}`));
    }
  }
  const attack = maxDamageRows(model, xs, new Float64Array(rows).fill(radius), rands, opts);
  const evalSamples = opts.evalSamples ?? 64;
  const evalRands = Array.from({ length: rows }, (_, j) => stream(opts.seed, `max-damage-eval:${Math.floor(j / T)}`));
  const dist = damageSamples(model, xs, attack.delta, evalSamples, evalRands);
  const damage = new Float64Array(rows);
  for (let j = 0; j < dist.length; j++) damage[Math.floor(j / evalSamples)] += dist[j] / evalSamples;
  const delta = new Float32Array(count * n), norms = new Float64Array(count), best = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let top = i * T;
    for (let t = 1; t < T; t++) if (damage[i * T + t] > damage[top]) top = i * T + t;
    delta.set(attack.delta.subarray(top * n, (top + 1) * n), i * n);
    norms[i] = attack.norms[top];
    best[i] = damage[top];
  }
  return { delta, norms, damage: best, restarts: { delta: attack.delta, damage } };
}
