// One-sided confidence bounds for a binomial proportion: the margin estimator
// and the property tests judge an estimated r-robustness probability k/S by
// them instead of by the point estimate alone (docs/attacks.md §6–7).
//   Clopper–Pearson: exact (inverts the binomial tail; never below the nominal
//                    coverage), computed by bisection on the binomial CDF;
//   Wilson:          the score interval (closed form, close to nominal on average).

import gammaln from "@stdlib/math-base-special-gammaln";
import { chi2Quantile } from "../bounds/chi2.js";

export type IntervalMethod = "clopper-pearson" | "wilson";

/** Which side of the estimate the bound sits on. */
export type Side = "lower" | "upper";

/** P[X ≤ k] for X ~ Binomial(n, p), summed in log space. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const lp = Math.log(p), lq = Math.log1p(-p), lnf = gammaln(n + 1);
  // Sum the smaller tail directly (accurate when it is tiny).
  const term = (i: number) => Math.exp(lnf - gammaln(i + 1) - gammaln(n - i + 1) + i * lp + (n - i) * lq);
  if (k < n * p) {
    let s = 0;
    for (let i = 0; i <= k; i++) s += term(i);
    return Math.min(1, s);
  }
  let s = 0;
  for (let i = k + 1; i <= n; i++) s += term(i);
  return Math.max(0, 1 - s);
}

/**
 * One-sided Clopper–Pearson bound at confidence `level` for k successes in n:
 * lower = the p with P[X ≥ k | p] = 1 − level (0 when k = 0);
 * upper = the p with P[X ≤ k | p] = 1 − level (1 when k = n).
 */
export function clopperPearson(k: number, n: number, level: number, side: Side): number {
  checkCounts(k, n, level);
  const alpha = 1 - level;
  if (side === "lower" && k === 0) return 0;
  if (side === "upper" && k === n) return 1;
  // Both tails are monotone in p: P[X ≥ k | p] rises, P[X ≤ k | p] falls.
  const tooHigh = side === "lower"
    ? (p: number) => 1 - binomialCdf(k - 1, n, p) > alpha
    : (p: number) => binomialCdf(k, n, p) < alpha;
  let lo = 0, hi = 1;
  for (let i = 0; i < 100 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (tooHigh(mid)) hi = mid;
    else lo = mid;
  }
  // The conservative end of the final bracket.
  return side === "lower" ? lo : hi;
}

/** One-sided Wilson score bound at confidence `level`. */
export function wilson(k: number, n: number, level: number, side: Side): number {
  checkCounts(k, n, level);
  const z2 = normalQuantileSquared(level);
  const p = k / n;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = Math.sqrt(z2) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n)) / denom;
  return side === "lower" ? Math.max(0, centre - half) : Math.min(1, centre + half);
}

/** A one-sided bound by the named method. */
export function proportionBound(method: IntervalMethod, k: number, n: number, level: number, side: Side): number {
  return method === "wilson" ? wilson(k, n, level, side) : clopperPearson(k, n, level, side);
}

/** z² for the one-sided normal quantile z = Φ⁻¹(level) (level > 1/2): P[χ²₁ ≤ z²] = 2·level − 1. */
function normalQuantileSquared(level: number): number {
  return chi2Quantile(2 * level - 1, 1);
}

function checkCounts(k: number, n: number, level: number): void {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(k) && k >= 0 && k <= n)) {
    throw new RangeError(`binomial bound: need whole numbers 0 ≤ k ≤ n, n ≥ 1 (got k = ${k}, n = ${n})`);
  }
  if (!(level > 0.5 && level < 1)) throw new RangeError(`confidence level must be in (0.5, 1), got ${level}`);
}
