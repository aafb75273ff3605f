// The certified spectral-norm bound in plain JavaScript: the method of
// src/bounds/spectral.ts before its heavy loops moved to WASM (power iteration
// for the estimate, Cholesky in sequential order), kept as the oracle the WASM
// path is tested against (test/bounds-spectral-wasm.test.ts).
import { certifiedUpper, type SpectralNorm } from "../src/bounds/spectral.js";

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);

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
export function certifiedPositiveDefiniteJs(a: Float64Array, s: number): boolean {
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
export function spectralNormJs(w: ArrayLike<number>, r: number, c: number): SpectralNorm {
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
    return certifiedPositiveDefiniteJs(a, s);
  };
  return { estimate: Math.sqrt(theta), upper: certifiedUpper(theta, trace, s, gramError, certifies) };
}
