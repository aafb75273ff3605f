// Bracketing searches on monotone functions, in f64. Every certificate in
// src/bounds ends in one of these, so each returns the end of the final
// bracket on which the certified inequality has been *checked* (the safe
// side), never an interpolated guess.

const MAX_STEPS = 2200; // enough to walk from 1e300 down to 1e-300 by halving

/**
 * The last point of [lo, hi] where `holds` is true, for a predicate that is
 * true on [lo, t) or [lo, t] and false after t. Returns lo when holds(lo) is
 * false (the caller decides what an empty set means), hi when holds(hi).
 * The answer is within relTol·hi of t and holds() is true at it.
 */
export function lastTrue(
  holds: (t: number) => boolean,
  lo: number,
  hi: number,
  relTol = 1e-15,
): number {
  if (!holds(lo)) return lo;
  if (holds(hi)) return hi;
  for (let step = 0; step < MAX_STEPS; step++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break; // adjacent floats
    if (holds(mid)) lo = mid;
    else hi = mid;
    if (hi - lo <= relTol * Math.abs(hi)) break;
  }
  return lo;
}

/**
 * The first point of [lo, hi] where `holds` is true, for a predicate that is
 * false then true. Assumes holds(hi); returns a point where holds() is true.
 */
export function firstTrue(
  holds: (t: number) => boolean,
  lo: number,
  hi: number,
  relTol = 1e-15,
): number {
  if (holds(lo)) return lo;
  for (let step = 0; step < MAX_STEPS; step++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (holds(mid)) hi = mid;
    else lo = mid;
    if (hi - lo <= relTol * Math.abs(hi)) break;
  }
  return hi;
}

/**
 * Doubles `start` (> 0) until `holds` turns false; returns that point, or
 * Infinity if it never does within the range of f64.
 */
export function growUntilFalse(holds: (t: number) => boolean, start: number): number {
  let t = start;
  while (holds(t)) {
    t *= 2;
    if (!Number.isFinite(t)) return Infinity;
  }
  return t;
}
