// Empirical r-robustness probabilities with one-sided confidence bounds: the
// measuring stick for certificates. A certificate claiming P ≥ q at some δ is
// refuted (at confidence `level`) when the upper bound on the empirical
// probability at that δ falls below q.

import type { Random } from "../engine/random.js";
import type { AttackModel } from "./model.js";
import { countWithin, damageSamples } from "./max-damage.js";
import { type IntervalMethod, proportionBound } from "./stats.js";

export interface EmpiricalRobustness {
  samples: number;
  /** Per row: draws with ‖g(z_δ) − g(z_¬δ)‖ ≤ r. */
  successes: Int32Array;
  /** successes / samples. */
  estimate: Float64Array;
  /** One-sided bounds at `level` (each holds with probability ≥ level on its own). */
  lower: Float64Array;
  upper: Float64Array;
}

/** Estimates P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] per row of (x, δ) from `samples` fresh draws of the row's stream. */
export function empiricalRobustness(
  model: AttackModel, x: Float32Array, delta: Float32Array, r: number, samples: number, rands: Random[],
  opts: { level: number; method?: IntervalMethod },
): EmpiricalRobustness {
  const rows = rands.length;
  const successes = countWithin(damageSamples(model, x, delta, samples, rands), rows, r);
  const method = opts.method ?? "clopper-pearson";
  const estimate = new Float64Array(rows), lower = new Float64Array(rows), upper = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    estimate[i] = successes[i] / samples;
    lower[i] = proportionBound(method, successes[i], samples, opts.level, "lower");
    upper[i] = proportionBound(method, successes[i], samples, opts.level, "upper");
  }
  return { samples, successes, estimate, lower, upper };
}
