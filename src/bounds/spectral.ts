// A guaranteed upper bound on the spectral norm of a matrix, in f64.
//
// For W (r x c, f32 entries) let G = W W^T or W^T W (the smaller side, s x s).
// 1. G is formed in f64; each entry's rounding error is at most
//    gamma_l sum_k |w_ik||w_jk| (gamma_l = l u / (1 - l u)), so the exact Gram
//    differs from the computed one by a matrix of 2-norm <= gamma_l trace(G).
// 2. Power iteration gives an estimate theta of lambda_max(G) (a lower bound).
// 3. We prove lambda_max(G) < t for t slightly above theta by showing that
//    t I - G is positive definite: a floating-point Cholesky factorisation of
//    (t I - G) - c I succeeds with c = 2 gamma_{s+1} trace(t I - G), which by
//    the backward-error bound of Cholesky (Demmel 1989; Rump 2006, "Verification
//    of positive definiteness") implies t I - G is positive definite.
// t grows geometrically until it certifies, then bisection tightens it.
// The bound is sqrt(t + gamma_l trace(G)), with the sum and the square root
// rounded upward so that the returned f64 number is never below the real one.

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);

const bits = new Float64Array(1);
const words = new BigUint64Array(bits.buffer);

/** The smallest f64 above x (x finite and >= 0): rounds a round-to-nearest result upward. */
export function nextUp(x: number): number {
  if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`nextUp needs a finite x >= 0, got ${x}`);
  if (x === 0) return Number.MIN_VALUE;
  bits[0] = x;
  words[0] += 1n;
  return bits[0];
}

/** An upper bound on the real product a b (a, b finite and >= 0): the f64 product is off by at most half an ulp. */
export function mulUp(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  const p = a * b;
  return p === Infinity ? p : nextUp(p);
}

export interface SpectralNorm {
  /** Power-iteration estimate of sigma_max (a lower bound up to rounding). */
  estimate: number;
  /** Certified upper bound on sigma_max. */
  upper: number;
}

/** The smaller Gram matrix of an r x c row-major matrix, in f64. */
export function smallGram(w: ArrayLike<number>, r: number, c: number): { g: Float64Array; s: number; l: number } {
  const wide = r <= c;
  const s = wide ? r : c, l = wide ? c : r;
  // Copy into s contiguous vectors of length l so the dot products run over adjacent memory.
  const v = new Float64Array(s * l);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) {
    if (wide) v[i * l + j] = w[i * c + j];
    else v[j * l + i] = w[i * c + j];
  }
  const g = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      const oi = i * l, oj = j * l;
      for (let k = 0; k < l; k++) acc += v[oi + k] * v[oj + k];
      g[i * s + j] = acc;
      g[j * s + i] = acc;
    }
  }
  return { g, s, l };
}

/** Largest eigenvalue estimate of a symmetric PSD matrix by power iteration. */
export function powerIteration(g: Float64Array, s: number, maxIters = 500, tol = 1e-13): number {
  let v = new Float64Array(s);
  // A deterministic start with no special structure.
  for (let i = 0; i < s; i++) v[i] = 1 + Math.sin(1.7 * i + 0.3);
  let theta = 0;
  let w = new Float64Array(s);
  for (let it = 0; it < maxIters; it++) {
    let norm = 0;
    for (let i = 0; i < s; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    for (let i = 0; i < s; i++) v[i] /= norm;
    for (let i = 0; i < s; i++) {
      let acc = 0;
      for (let j = 0; j < s; j++) acc += g[i * s + j] * v[j];
      w[i] = acc;
    }
    let rq = 0;
    for (let i = 0; i < s; i++) rq += v[i] * w[i];
    const converged = Math.abs(rq - theta) <= tol * Math.abs(rq);
    theta = rq;
    [v, w] = [w, v];
    if (converged) break;
  }
  return theta;
}

/** True when the symmetric matrix a (s x s) is certified positive definite. */
export function certifiedPositiveDefinite(a: Float64Array, s: number): boolean {
  let trace = 0;
  for (let i = 0; i < s; i++) trace += Math.abs(a[i * s + i]);
  const shift = 2 * gamma(s + 1) * trace + Number.MIN_VALUE * 4 * s;
  // Cholesky of a - shift I, lower triangle, in place on a copy.
  const l = Float64Array.from(a);
  for (let i = 0; i < s; i++) l[i * s + i] -= shift;
  for (let j = 0; j < s; j++) {
    let d = l[j * s + j];
    for (let k = 0; k < j; k++) d -= l[j * s + k] * l[j * s + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    l[j * s + j] = ljj;
    for (let i = j + 1; i < s; i++) {
      let acc = l[i * s + j];
      for (let k = 0; k < j; k++) acc -= l[i * s + k] * l[j * s + k];
      l[i * s + j] = acc / ljj;
    }
  }
  return true;
}

/** Spectral norm of an r x c matrix with a certified upper bound. */
export function spectralNorm(w: ArrayLike<number>, r: number, c: number): SpectralNorm {
  const { g, s, l } = smallGram(w, r, c);
  let trace = 0;
  for (let i = 0; i < s; i++) trace += g[i * s + i];
  if (trace === 0) return { estimate: 0, upper: 0 };
  const theta = Math.max(powerIteration(g, s, 1000), 0);
  const gramError = gamma(l + 2) * trace; // rounding in forming G, in 2-norm
  const certifies = (t: number) => {
    const a = new Float64Array(s * s);
    for (let i = 0; i < s * s; i++) a[i] = -g[i];
    for (let i = 0; i < s; i++) a[i * s + i] += t;
    return certifiedPositiveDefinite(a, s);
  };
  // Grow t from just above the estimate until t I - G is certified definite
  // (t = trace(G) >= lambda_max always is), then bisect back down toward the
  // smallest certifiable t: power iteration may stop short on close eigenvalues.
  let lo = theta, hi = NaN, step = 1e-10;
  for (let attempt = 0; attempt < 40; attempt++) {
    const t = theta * (1 + step) + (step * trace) / s;
    if (certifies(t)) {
      hi = t;
      break;
    }
    lo = t;
    step *= 4;
  }
  if (Number.isNaN(hi)) hi = trace * (1 + 1e-12);
  for (let it = 0; it < 14 && hi - lo > 1e-8 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (certifies(mid)) hi = mid;
    else lo = mid;
  }
  return { estimate: Math.sqrt(theta), upper: nextUp(Math.sqrt(nextUp(hi + gramError))) };
}
