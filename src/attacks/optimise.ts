// Projected gradient ascent for the attacks, over a batch of independent rows
// (one row = one image × one random restart), each with its own step scale
// (its radius). The reference code runs scipy's L-BFGS-B instead, on a
// stochastic objective for the max-damage attack, where its line searches
// are unreliable (docs/reference-code.md, 'Bugs and fragile spots', item 8);
// docs/attacks.md §3 says why we use first-order steps with an exact
// projection instead.
//
//   adam:        Adam moments per coordinate, learning rate stepSize·R/√n, so a
//                step moves δ by about stepSize·R in L2 when every coordinate moves;
//   normalised:  δ ← δ + stepSize·R·∇/‖∇‖ (the usual L2 PGD step).
// Both decay the step linearly to 10% over the run (helps the noisy objective
// settle) and project after every step.

import type { Random } from "../engine/random.js";

export type StepMethod = "adam" | "normalised";
export type InitKind = "d-ball" | "sphere" | "zero";

export interface OptimiserOptions {
  /** Gradient steps per restart. */
  steps: number;
  method: StepMethod;
  /** Step length as a fraction of the row's radius (see the header). */
  stepSize: number;
  /** Random restarts per image (independent runs from fresh random starts). */
  restarts: number;
  /**
   * Start point before projection: "d-ball" = random direction with a radius
   * uniform on (0, R), the reference code's sample_d_ball; "sphere" = radius R;
   * "zero" = δ = 0.
   */
  init: InitKind;
}

/** Normalised steps of R/2 decaying to R/20: on trained models they reach a higher damage than Adam in fewer steps (docs/attacks.md §3). */
export const DEFAULT_OPTIMISER: OptimiserOptions = { steps: 50, method: "normalised", stepSize: 0.5, restarts: 5, init: "d-ball" };

/** What the optimiser needs to know about one batch of rows. */
export interface AscentProblem {
  rows: number;
  /** Length of each row (784 pixels). */
  n: number;
  /** Per-row step scale (the radius of the constraint). */
  scale: ArrayLike<number>;
  /** Objective values (to maximise) and their gradients at δ (rows × n). */
  evaluate(delta: Float32Array, step: number): { values: Float64Array; grad: Float32Array };
  /** Projects δ in place onto the feasible set, row by row. */
  project(delta: Float32Array): void;
  /** True when evaluate() is a deterministic function of δ: then the best iterate is kept. */
  deterministic: boolean;
}

export interface AscentResult {
  delta: Float32Array;
  /** The objective at the returned δ (for a stochastic objective: one noisy evaluation there). */
  values: Float64Array;
}

/** Random starts for each row, drawn from that row's own stream (reproducible whatever the batching). */
export function initialDelta(kind: InitKind, rows: number, n: number, radii: ArrayLike<number>, rands: Random[]): Float32Array {
  const delta = new Float32Array(rows * n);
  if (kind === "zero") return delta;
  const dir = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    rands[r].fillNormal(dir);
    let norm = 0;
    for (let i = 0; i < n; i++) norm += dir[i] * dir[i];
    norm = Math.sqrt(norm);
    const R = Number.isFinite(radii[r]) ? radii[r] : 1;
    const length = kind === "sphere" ? R : 1e-8 + (R - 1e-8) * rands[r].uniform();
    for (let i = 0; i < n; i++) delta[r * n + i] = (length * dir[i]) / norm;
  }
  return delta;
}

/** Runs `steps` projected ascent steps from `start` (which is projected first). */
export function projectedAscent(problem: AscentProblem, start: Float32Array, opts: Pick<OptimiserOptions, "steps" | "method" | "stepSize">): AscentResult {
  const { rows, n } = problem;
  const delta = Float32Array.from(start);
  problem.project(delta);
  const m = opts.method === "adam" ? new Float64Array(rows * n) : null;
  const v = opts.method === "adam" ? new Float64Array(rows * n) : null;
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const best = problem.deterministic ? Float32Array.from(delta) : null;
  const bestValues = new Float64Array(rows).fill(-Infinity);

  for (let t = 0; t < opts.steps; t++) {
    const e = problem.evaluate(delta, t);
    if (best) keepBest(best, bestValues, delta, e.values, n);
    const g = e.grad;
    const decay = 1 - (0.9 * t) / Math.max(1, opts.steps - 1);
    for (let r = 0; r < rows; r++) {
      const off = r * n;
      const scale = opts.stepSize * problem.scale[r] * decay;
      if (m && v) {
        const lr = scale / Math.sqrt(n);
        const c1 = 1 - b1 ** (t + 1), c2 = 1 - b2 ** (t + 1);
        for (let i = off; i < off + n; i++) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
          delta[i] += (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
        }
      } else {
        let norm = 0;
        for (let i = off; i < off + n; i++) norm += g[i] * g[i];
        norm = Math.sqrt(norm);
        if (norm === 0) continue;
        for (let i = off; i < off + n; i++) delta[i] += (scale * g[i]) / norm;
      }
    }
    problem.project(delta);
  }
  // Value at the final iterate.
  const last = problem.evaluate(delta, opts.steps);
  if (!best) return { delta, values: last.values };
  keepBest(best, bestValues, delta, last.values, n);
  return { delta: best, values: bestValues };
}

function keepBest(best: Float32Array, bestValues: Float64Array, delta: Float32Array, values: Float64Array, n: number): void {
  for (let r = 0; r < bestValues.length; r++) {
    if (values[r] > bestValues[r]) {
      bestValues[r] = values[r];
      best.set(delta.subarray(r * n, (r + 1) * n), r * n);
    }
  }
}
