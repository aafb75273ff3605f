// Central chi-square distribution and the paper's chi-square tail bound
// (Inglot 2010), in f64. The regularised incomplete gamma functions come from
// @stdlib through ./gamma.ts, accurate in both tails, so the CDF and the
// survival function are each computed directly (never as 1 − the other).
import { gammaP, gammaQ } from "./gamma.js";
import { firstTrue, growUntilFalse } from "./roots.js";

/** P[χ²_dz ≥ x]. */
export function chi2Survival(x: number, dz: number): number {
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return gammaQ(dz / 2, x / 2);
}

/** P[χ²_dz ≤ x]. */
export function chi2Cdf(x: number, dz: number): number {
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return gammaP(dz / 2, x / 2);
}

/**
 * The x with P[χ²_dz ≤ x] = p, for p in (0, 1). Solved by bisection on the
 * tail that is small (so p near 0 and p near 1 are both accurate); the
 * returned x satisfies P[χ²_dz ≥ x] ≤ 1 − p as computed (the safe side for a
 * certificate that needs the tail to be at most 1 − p).
 */
export function chi2Quantile(p: number, dz: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`chi2Quantile: p must be in (0, 1), got ${p}`);
  const atLeast = p < 0.5
    ? (x: number) => chi2Cdf(x, dz) >= p
    : (x: number) => chi2Survival(x, dz) <= 1 - p;
  const hi = growUntilFalse((x) => !atLeast(x), dz + 1);
  return firstTrue(atLeast, 0, hi);
}

/** log C(dz), C(dz) = π^(−1/2)·exp(½(dz − (dz − 1)·ln dz)), Theorem 1. */
export function logInglotConstant(dz: number): number {
  return -0.5 * Math.log(Math.PI) + 0.5 * (dz - (dz - 1) * Math.log(dz));
}

/**
 * log of Inglot's tail bound C(dz)·u^(dz/2)·e^(−u/2)/(u − dz + 2), defined for
 * dz ≥ 2 and u > dz − 2. Kept in log space: C(1000) alone underflows f64.
 */
export function logInglotBound(u: number, dz: number): number {
  if (u === Infinity) return -Infinity;
  return logInglotConstant(dz) + (dz / 2) * Math.log(u) - u / 2 - Math.log(u - dz + 2);
}

/**
 * u* > dz − 2 with C(dz)·u^(dz/2)·e^(−u/2)/(u − dz + 2) = 1 − ε, dz ≥ 2,
 * ε in (0, 1). The bound is strictly decreasing on (dz − 2, ∞) (from +∞, or
 * from C(2) > 1 when dz = 2, down to 0), so the root is unique. Returns the
 * upper end of the final bracket: the bound is ≤ 1 − ε there, so margins
 * computed from it are never too large.
 */
export function inglotUStar(dz: number, eps: number): number {
  if (!(dz >= 2)) throw new RangeError(`inglotUStar: dz must be ≥ 2, got ${dz}`);
  if (!(eps > 0 && eps < 1)) throw new RangeError(`inglotUStar: eps must be in (0, 1), got ${eps}`);
  const target = Math.log1p(-eps);
  const below = (u: number) => u > dz - 2 && logInglotBound(u, dz) <= target;
  const lo = dz - 2;
  // Step away from dz − 2 in doubling offsets until the bound is below 1 − ε.
  let offset = 1;
  while (!below(lo + offset)) offset *= 2;
  return firstTrue(below, lo, lo + offset);
}
