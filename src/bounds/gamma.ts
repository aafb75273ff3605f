// Regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x).
//
// @stdlib/math-base-special-gammainc 0.3.1 (a port of Boost's) is accurate
// to ~1e-15 almost everywhere, but its large-x branch (Boost's method 7,
// chosen when x > 1000 and a < x or |a − 50| < x) starts the asymptotic
// series Σ (a−1)(a−2)…/x^k at a instead of a − 1: Q(500, 1250) comes out
// 1.3e-3 too large relative, Q(5000, 5000) 1.1e-2. Those are exactly the
// arguments of χ² tails with dz in the hundreds and of noncentral χ² with
// λ in the thousands. In that region this module routes to the library's
// other, correct pieces instead: Temme's uniform expansion when a ≈ x (the
// same test as Boost's method 5), else the continued fraction for Q (x > a
// there). test/bounds-special.test.ts checks both regions against mpmath.
import gammainc from "@stdlib/math-base-special-gammainc";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const internal = (file: string) =>
  require(`@stdlib/math-base-special-gammainc/lib/${file}`) as (a: number, x: number) => number;
/** Temme's expansion: P(a, x) when x < a, Q(a, x) when x ≥ a. */
const temmeLarge = internal("igamma_temme_large.js");
/** x^a·e^(−x)/Γ(a), computed without cancellation. */
const regularisedPrefix = internal("regularised_gamma_prefix.js");
/** Continued fraction with Q(a, x) = prefix·fraction for x > a. */
const upperFraction = internal("upper_gamma_fraction.js");

/** True where stdlib 0.3.1 would use its faulty large-x series. */
function inFaultyRegion(a: number, x: number): boolean {
  return x > 1000 && (a < x || Math.abs(a - 50) / x < 1);
}

function usesTemme(a: number, x: number): boolean {
  const sigma = Math.abs((x - a) / a);
  return a > 200 && 20 / a > sigma * sigma;
}

/** Q(a, x) in the faulty region (where a ≥ x only happens close enough to x for Temme). */
function upperInFaultyRegion(a: number, x: number): number {
  if (usesTemme(a, x)) {
    const t = temmeLarge(a, x);
    return x >= a ? t : 1 - t;
  }
  return regularisedPrefix(a, x) * upperFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a), a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  if (x === Infinity) return 0;
  if (!inFaultyRegion(a, x)) return gammainc(x, a, true, true);
  return Math.min(1, Math.max(0, upperInFaultyRegion(a, x)));
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), a > 0, x ≥ 0. */
export function gammaP(a: number, x: number): number {
  if (x === Infinity) return 1;
  if (!inFaultyRegion(a, x)) return gammainc(x, a, true, false);
  if (usesTemme(a, x)) {
    const t = temmeLarge(a, x);
    return Math.min(1, Math.max(0, x >= a ? 1 - t : t));
  }
  return Math.min(1, Math.max(0, 1 - regularisedPrefix(a, x) * upperFraction(a, x)));
}
