// The latent-space attack, eq. (3) of the paper (and eq. (2) for the soft
// form): make the posterior of the perturbed input look like the target's,
//   hard: min KL(q(z|x+δ) ‖ q(z|x_t))             over ‖δ‖ ≤ c,
//   soft: min KL(q(z|x+δ) ‖ q(z|x_t)) + λ‖δ‖₂      (no norm bound unless given),
// always with x + δ ∈ [0, 1]. The KL between diagonal Gaussians is in closed
// form, so the objective is deterministic and the best iterate is kept:
//   KL = Σ_j log σt_j − log σ_j + (σ_j² + (μ_j − μt_j)²)/(2σt_j²) − ½.

import { tensor, tidy } from "../engine/tensor.js";
import * as ops from "../engine/ops.js";
import { grad, noGrad, requireGrad } from "../engine/tape.js";
import { type Random, stream } from "../engine/random.js";
import type { AttackModel } from "./model.js";
import { type AscentProblem, DEFAULT_OPTIMISER, type OptimiserOptions, initialDelta, projectedAscent } from "./optimise.js";
import { clipRowsToBox, projectRows } from "./projection.js";

import { rowNormsOf } from "./max-damage.js";

export interface LatentOptions extends OptimiserOptions {
  mode: "hard" | "soft";
  /** Hard: the budget c of ‖δ‖ ≤ c. Soft: an optional cap (Infinity = box only). */
  radius: number;
  /** Soft: weight λ of ‖δ‖₂ (the reference code uses 1). */
  lambda: number;
}

/** Fig E.9's attack: hard, c = 3 unless set. */
export const DEFAULT_LATENT: LatentOptions = { ...DEFAULT_OPTIMISER, mode: "hard", radius: 3, lambda: 1 };

/** KL(N(mu1, s1²) ‖ N(mu2, s2²)) per row, in f64 (for reporting and tests). */
export function gaussianKlRows(mu1: ArrayLike<number>, s1: ArrayLike<number>, mu2: ArrayLike<number>, s2: ArrayLike<number>, dz: number): Float64Array {
  const rows = mu1.length / dz;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let kl = 0;
    for (let j = r * dz; j < (r + 1) * dz; j++) {
      kl += Math.log(s2[j] / s1[j]) + (s1[j] ** 2 + (mu1[j] - mu2[j]) ** 2) / (2 * s2[j] ** 2) - 0.5;
    }
    out[r] = kl;
  }
  return out;
}

export interface LatentRowAttack {
  delta: Float32Array;
  norms: Float64Array;
  /** KL(q(z|x+δ) ‖ q(z|x_t)) at δ. */
  kl: Float64Array;
}

/**
 * The batch objective (to maximise: −KL, minus λ‖δ‖ when soft) for rows of
 * x and target (rows × n), plus the plain KL at any δ. Exposed for tests.
 */
export function latentProblem(
  model: AttackModel, x: Float32Array, target: Float32Array, rows: number, opts: Pick<LatentOptions, "mode" | "radius" | "lambda">,
): AscentProblem & { kl(delta: Float32Array): Float64Array } {
  const { n, dz, vae, weights } = model;
  const t = noGrad(() => tidy(() => {
    const p = vae.encode(tensor(target, [rows, n]), weights);
    return { mu: Float32Array.from(p.mu.data), logSigma: Float64Array.from(p.logSigma.data), sigma: Float64Array.from(p.sigma.data) };
  }));
  // Constants of the KL: 1/(2σt²) per coordinate and Σ_j (log σt_j − ½) per row.
  const halfPrecision = new Float32Array(rows * dz);
  const offset = new Float32Array(rows);
  for (let j = 0; j < rows * dz; j++) {
    halfPrecision[j] = 1 / (2 * t.sigma[j] ** 2);
    offset[Math.floor(j / dz)] += t.logSigma[j] - 0.5;
  }
  const bounded = Number.isFinite(opts.radius);
  // Without a cap, steps are scaled as for the reference code's default c = 10.
  const radii = new Float64Array(rows).fill(bounded ? opts.radius : 10);
  const lambda = opts.mode === "soft" ? opts.lambda : 0;
  const at = (delta: Float32Array, withGrad: boolean) => tidy(() => {
    const d = requireGrad(tensor(delta, [rows, n]));
    const post = vae.encode(ops.add(tensor(x, [rows, n]), d), weights);
    const spread = ops.add(ops.square(post.sigma), ops.square(ops.sub(post.mu, tensor(t.mu, [rows, dz]))));
    const inner = ops.sub(ops.mul(spread, tensor(halfPrecision, [rows, dz])), post.logSigma);
    let objective = ops.add(ops.sumRows(inner), tensor(offset, [rows]));
    const kl = Float64Array.from(objective.data);
    if (lambda > 0) objective = ops.add(objective, ops.scale(ops.rowNorms(d), lambda));
    const values = Float64Array.from(objective.data, (v) => -v);
    const grad_ = withGrad ? Float32Array.from(grad(ops.sum(objective), [d])[0].data, (v) => -v) : new Float32Array(0);
    return { kl, values, grad: grad_ };
  });
  return {
    rows, n, deterministic: true, scale: radii,
    project: (d) => { if (bounded) projectRows("ball", d, x, radii, n); else clipRowsToBox(d, x); },
    evaluate: (d) => at(d, true),
    kl: (d) => at(d, false).kl,
  };
}

/** One attack per row: x and target rows × n, one stream per row (the random start). */
export function latentRows(model: AttackModel, x: Float32Array, target: Float32Array, rands: Random[], opts: LatentOptions): LatentRowAttack {
  const rows = rands.length;
  const problem = latentProblem(model, x, target, rows, opts);
  const start = initialDelta(opts.init, rows, model.n, problem.scale, rands);
  const { delta } = projectedAscent(problem, start, opts);
  return { delta, norms: rowNormsOf(delta, model.n), kl: problem.kl(delta) };
}

export interface LatentAttack {
  /** count × n: the restart with the smallest objective per image. */
  delta: Float32Array;
  norms: Float64Array;
  kl: Float64Array;
}

/**
 * The attack on `count` pairs (x, target), restarts per image; the restart
 * with the smallest objective (KL, plus λ‖δ‖ when soft) wins.
 * Streams: "latent:<image>:<restart>" of seed.
 */
export function latentAttack(model: AttackModel, x: Float32Array, target: Float32Array, count: number, opts: LatentOptions & { seed: number }): LatentAttack {
  const n = model.n, T = opts.restarts, rows = count * T;
  const xs = new Float32Array(rows * n), ts = new Float32Array(rows * n);
  const rands: Random[] = [];
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < T; r++) {
      xs.set(x.subarray(i * n, (i + 1) * n), (i * T + r) * n);
      ts.set(target.subarray(i * n, (i + 1) * n), (i * T + r) * n);
      rands.push(stream(opts.seed, `latent:${i}:${r}`));
    }
  }
  const all = latentRows(model, xs, ts, rands, opts);
  const lambda = opts.mode === "soft" ? opts.lambda : 0;
  const score = (j: number) => all.kl[j] + lambda * all.norms[j];
  const delta = new Float32Array(count * n), norms = new Float64Array(count), kl = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let top = i * T;
    for (let r = 1; r < T; r++) if (score(i * T + r) < score(top)) top = i * T + r;
    delta.set(all.delta.subarray(top * n, (top + 1) * n), i * n);
    norms[i] = all.norms[top];
    kl[i] = all.kl[top];
  }
  return { delta, norms, kl };
}
