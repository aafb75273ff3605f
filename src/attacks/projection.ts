// Euclidean projections of a perturbation δ onto the attack's feasible set:
// the norm constraint (ball ‖δ‖ ≤ R or sphere ‖δ‖ = R) intersected with the
// pixel box x + δ ∈ [0, 1], i.e. lo = −x ≤ δ ≤ 1 − x = hi (docs/attacks.md §2).
//
// Ball ∩ box (convex, exact). The KKT conditions of min ½‖δ − v‖² subject to
// the box and ½(‖δ‖² − R²) ≤ 0 give δ = clip_box(t·v) with t = 1/(1 + λ) ∈ (0, 1].
// Because the box contains 0, ‖clip_box(t·v)‖ is continuous and nondecreasing
// in t, so λ = 0 when ‖clip_box(v)‖ ≤ R and otherwise t solves
// ‖clip_box(t·v)‖ = R. Each coordinate is t·v_i up to its breakpoint
// τ_i = bound_i/|v_i| and constant after it, so ‖clip_box(t·v)‖² is a
// piecewise quadratic in t: sorting the breakpoints finds t exactly (no
// bisection tolerance).
//
// Sphere ∩ box (not convex). On the sphere ‖δ − v‖² = R² − 2⟨δ, v⟩ + ‖v‖², so
// the nearest point maximises ⟨δ, v⟩. While R ≤ ‖corner(v)‖ (corner(v) is the
// box point that is farthest along each sign of v) the maximiser of ⟨δ, v⟩
// over the ball ∩ box lies on the sphere, so clip_box(t·v) with ‖·‖ = R (t may
// now exceed 1) is the exact projection. Past that, coordinates where v is 0
// can add norm at no cost, which is still exact. Only when even those cannot
// reach R do we fall back to a feasible point that is not guaranteed nearest
// (a bisection between corner(v) and the box's farthest corner), and when R
// exceeds the box's farthest corner no point exists: we return that corner,
// whose norm is then below R (the result reports both cases).

/** The attack's norm constraint. */
export type NormConstraint = "ball" | "sphere";

export interface Projection {
  /** ‖δ‖ after projection. */
  norm: number;
  /** False when the sphere case fell back to a feasible but possibly not nearest point, or R was unreachable. */
  exact: boolean;
}

type Vec = Float32Array | Float64Array;

/** Upper bound of |δ_i| in the direction of sign(v_i) (0 when v_i = 0). */
function directedBound(v: number, x: number): number {
  return v > 0 ? 1 - x : v < 0 ? x : 0;
}

function clipToBox(value: number, x: number): number {
  return Math.min(1 - x, Math.max(-x, value));
}

/**
 * The t ≥ 0 with ‖clip_box(t·v)‖ = R, for 0 < R ≤ ‖corner(v)‖. The
 * breakpoints are sorted (natively), a binary search finds the segment
 * holding the root, and on that segment the squared norm is t²·A + B.
 */
function scaleForNorm(v: Vec, x: Vec, off: number, n: number, radius: number): number {
  const tau = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const vi = v[off + i], b = directedBound(vi, x[off + i]);
    if (b > 0) tau[m++] = b / Math.abs(vi);
  }
  if (m === 0) return 0;
  const sorted = tau.subarray(0, m).sort();
  const r2 = radius * radius;
  const normSq = (t: number): number => {
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const vi = v[off + i];
      const d = Math.min(t * Math.abs(vi), directedBound(vi, x[off + i]));
      sq += d * d;
    }
    return sq;
  };
  // Smallest k with ‖clip(τ_k v)‖² ≥ R² (the last one if rounding leaves none).
  let lo = 0, hi = m - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (normSq(sorted[mid]) >= r2) hi = mid;
    else lo = mid + 1;
  }
  const top = sorted[lo], bottom = lo > 0 ? sorted[lo - 1] : 0;
  // On (bottom, top]: coordinates with τ_i ≥ top move with t, the others sit at their bound.
  let free = 0, clipped = 0;
  for (let i = 0; i < n; i++) {
    const vi = v[off + i], b = directedBound(vi, x[off + i]);
    if (b === 0) continue;
    if (b / Math.abs(vi) >= top) free += vi * vi;
    else clipped += b * b;
  }
  const t = Math.sqrt(Math.max(0, r2 - clipped) / free);
  return Math.min(top, Math.max(bottom, t));
}

function writeScaled(v: Vec, x: Vec, off: number, n: number, t: number, out: Vec): number {
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = clipToBox(t * v[off + i], x[off + i]);
    out[off + i] = d;
    sq += d * d;
  }
  return Math.sqrt(sq);
}

/**
 * Projects row `row` of v (rows of length n) onto {‖δ‖ ≤ R} ∩ {x + δ ∈ [0,1]},
 * writing the result into out (which may be v). Exact.
 */
export function projectBallBox(v: Vec, x: Vec, radius: number, out: Vec = v, row = 0, n = v.length): Projection {
  const off = row * n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += clipToBox(v[off + i], x[off + i]) ** 2;
  const t = Math.sqrt(sq) <= radius ? 1 : radius > 0 ? scaleForNorm(v, x, off, n, radius) : 0;
  return { norm: writeScaled(v, x, off, n, t, out), exact: true };
}

/**
 * Projects onto {‖δ‖ = R} ∩ {x + δ ∈ [0,1]} (see the header for when it is
 * exact). With v = 0 the direction is undefined; any feasible point is
 * nearest, and we take the box's farthest corner scaled to norm R.
 */
export function projectSphereBox(v: Vec, x: Vec, radius: number, out: Vec = v, row = 0, n = v.length): Projection {
  const off = row * n;
  const src = Float64Array.from(v.subarray(off, off + n));
  const xs = x.subarray(off, off + n);
  let cornerSq = 0, freeCapSq = 0, farSq = 0;
  for (let i = 0; i < n; i++) {
    const b = directedBound(src[i], xs[i]);
    const far = Math.max(xs[i], 1 - xs[i]);
    cornerSq += b * b;
    farSq += far * far;
    if (src[i] === 0) freeCapSq += far * far;
  }
  const r2 = radius * radius;
  const write = (f: (i: number) => number): number => {
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const d = clipToBox(f(i), xs[i]);
      out[off + i] = d;
      sq += d * d;
    }
    return Math.sqrt(sq);
  };
  // The farthest box point from 0, per coordinate.
  const farthest = (i: number) => (xs[i] < 1 - xs[i] ? 1 - xs[i] : -xs[i]);
  const corner = (i: number) => (src[i] > 0 ? 1 - xs[i] : src[i] < 0 ? -xs[i] : 0);
  if (r2 <= cornerSq) {
    const t = radius > 0 ? scaleForNorm(src, xs, 0, n, radius) : 0;
    return { norm: write((i) => t * src[i]), exact: true };
  }
  if (r2 <= cornerSq + freeCapSq) {
    // The corner along v, plus norm from the coordinates v leaves free.
    const rho = Math.sqrt((r2 - cornerSq) / freeCapSq);
    return { norm: write((i) => (src[i] === 0 ? rho * farthest(i) : corner(i))), exact: true };
  }
  if (r2 > farSq) return { norm: write(farthest), exact: false };
  // Feasible but beyond what v's sign pattern allows: walk from the filled
  // corner towards the farthest corner until the norm reaches R.
  const base = (i: number) => (src[i] === 0 ? farthest(i) : corner(i));
  let lo = 0, hi = 1;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += ((1 - mid) * base(i) + mid * farthest(i)) ** 2;
    if (sq < r2) lo = mid;
    else hi = mid;
  }
  return { norm: write((i) => (1 - hi) * base(i) + hi * farthest(i)), exact: false };
}

/** Projects one row onto the constraint set of the given kind. */
export function project(kind: NormConstraint, v: Vec, x: Vec, radius: number, out: Vec = v, row = 0, n = v.length): Projection {
  return kind === "ball" ? projectBallBox(v, x, radius, out, row, n) : projectSphereBox(v, x, radius, out, row, n);
}

/** Projects every row of v (rows × n) in place; radii per row. Returns the norms. */
export function projectRows(kind: NormConstraint, v: Vec, x: Vec, radii: ArrayLike<number>, n: number): Float64Array {
  const rows = v.length / n;
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) norms[r] = project(kind, v, x, radii[r], v, r, n).norm;
  return norms;
}

/** Projects every row onto the pixel box only (no norm constraint), in place. */
export function clipRowsToBox(v: Vec, x: Vec): void {
  for (let i = 0; i < v.length; i++) v[i] = clipToBox(v[i], x[i]);
}
