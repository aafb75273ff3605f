// A guaranteed upper bound on the spectral norm of a matrix, in f64.
//
// For W (r x c) let G = W W^T or W^T W (the smaller side, s x s, l the other).
// 1. G is formed in f64 (the f64 GEMM kernel); each entry's rounding error is
//    at most gamma_l sum_k |w_ik||w_jk| (gamma_l = l u / (1 - l u)) whatever the
//    order of summation, so the exact Gram differs from the computed one by a
//    matrix of 2-norm <= gamma_l trace(G).
// 2. The f64 eigensolver gives an estimate theta of lambda_max(G).
// 3. We prove lambda_max(G) < t for t slightly above theta by showing that
//    t I - G is positive definite: a floating-point Cholesky factorisation of
//    (t I - G) - c I succeeds with c = 2 gamma_{s+1} trace(t I - G), which by
//    the backward-error bound of Cholesky (Demmel 1989; Rump 2006, "Verification
//    of positive definiteness") implies t I - G is positive definite. That bound
//    holds for any order of summation (assembly/cholesky.ts).
// t grows geometrically until it certifies, then bisection tightens it.
// The bound is sqrt(t + gamma_l trace(G)), with the sum and the square root
// rounded upward so that the returned f64 number is never below the real one.
// The heavy loops (Gram, eigensolver, Cholesky) run on the engine's WASM
// kernels; docs/certificates.md gives the argument in full.

import { engine } from "../engine/engine.js";
import { G64 } from "../engine/wasm.js";

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
  /** Eigensolver estimate of sigma_max (not a certificate: within rounding of the computed Gram's). */
  estimate: number;
  /** Certified upper bound on sigma_max. */
  upper: number;
}

/**
 * The certified Cholesky test on an s x s f64 matrix at byte offset `ptr` of the
 * engine's memory (overwritten): shifts its diagonal down by
 * c = 2 gamma_{s+1} sum_i |a_ii| + 4 s eta and factorises it in WASM.
 */
function certifiedPositiveDefiniteAt(ptr: number, s: number): boolean {
  const { arena, kernels } = engine();
  const a = arena.f64(ptr, s * s);
  let trace = 0;
  for (let i = 0; i < s; i++) trace += Math.abs(a[i * s + i]);
  const shift = 2 * gamma(s + 1) * trace + Number.MIN_VALUE * 4 * s;
  for (let i = 0; i < s; i++) a[i * s + i] -= shift;
  return kernels.choleskyLower(s, ptr, s) === 1;
}

/** True when the symmetric matrix a (s x s) is certified positive definite. */
export function certifiedPositiveDefinite(a: Float64Array, s: number): boolean {
  const { arena } = engine();
  const bytes = Math.max(s * s, 1) * 8;
  const ptr = arena.alloc(bytes);
  try {
    arena.f64(ptr, s * s).set(a.subarray(0, s * s));
    return certifiedPositiveDefiniteAt(ptr, s);
  } finally {
    arena.free(ptr, bytes);
  }
}

/**
 * The certified bound from an estimate theta of lambda_max(G) and a test
 * `certifies(t)` that proves t I - G positive definite: grow t from just above
 * theta until it certifies (t = trace(G) >= lambda_max always does), then bisect
 * back down toward the smallest certifiable t (the estimate may fall short on
 * close eigenvalues). Returns sqrt(t + gramError) rounded upward.
 */
export function certifiedUpper(theta: number, trace: number, s: number, gramError: number, certifies: (t: number) => boolean): number {
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
  return nextUp(Math.sqrt(nextUp(hi + gramError)));
}

/** Spectral norm of an r x c row-major matrix with a certified upper bound. */
export function spectralNorm(w: ArrayLike<number>, r: number, c: number): SpectralNorm {
  const { arena, kernels: k } = engine();
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  if (s === 0) return { estimate: 0, upper: 0 };
  const workBytes = Math.max(k.gemm64WorkspaceBytes(), k.eigSymWorkspaceBytes(s));
  const sizes = [r * c * 8, s * s * 8, s * s * 8, s * s * 8, s * 8, workBytes];
  const ptrs = sizes.map((bytes) => arena.alloc(bytes));
  const [pw, pg, pa, pz, pLam, work] = ptrs;
  try {
    arena.f64(pw, r * c).set(w);
    // G = X X^T with X = W (wide) or W^T (tall), f64 operands, lower triangle then mirrored.
    k.gemm64(G64.LOWER | (wide ? G64.TRANS_B : G64.TRANS_A), s, s, l, 1, pw, c, pw, c, 0, pg, s, work);
    const g = arena.f64(pg, s * s);
    let trace = 0;
    for (let i = 0; i < s; i++) trace += g[i * s + i];
    if (trace === 0) return { estimate: 0, upper: 0 };
    const status = k.eigSym(s, pg, s, pLam, pz, work, workBytes);
    const theta = status === 0 ? Math.max(arena.f64(pLam, s)[s - 1], 0) : 0;
    const gramError = gamma(l + 2) * trace; // rounding in forming G, in 2-norm
    const certifies = (t: number) => {
      const a = arena.f64(pa, s * s);
      for (let i = 0; i < s * s; i++) a[i] = -g[i];
      for (let i = 0; i < s; i++) a[i * s + i] += t;
      return certifiedPositiveDefiniteAt(pa, s);
    };
    return { estimate: Math.sqrt(theta), upper: certifiedUpper(theta, trace, s, gramError, certifies) };
  } finally {
    ptrs.forEach((ptr, i) => arena.free(ptr, sizes[i]));
  }
}
