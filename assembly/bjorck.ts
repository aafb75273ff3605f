// Björck orthonormalisation, order 1:  A <- (1+beta) A - beta A (A^T A).
//
// Always on the smaller Gram matrix (docs/performance-notes.md, 'Where the FLOPs
// go'): for an r x c matrix
//   r <= c ("wide"):  P = A A^T (r x r),  Y = (1+beta) A - beta P A
//   r >  c ("tall"):  P = A^T A (c x c),  Y = (1+beta) A - beta A P
// Both equal the textbook update because A p(A^T A) = p(A A^T) A.
//
// The backward pass is written by hand with 3 GEMMs per iteration
// (autograd would use 4). For the wide case, with G = dL/dY:
//   D  = -beta G A^T,  S = D + D^T
//   dA = (1+beta) G - beta P G + S A
// and the mirror image for the tall case.
//
// Saved state (when save != 0) is [A_0, P_0, A_1, P_1, ..., A_{K-1}, P_{K-1}],
// each A_k r*c floats, each P_k s*s floats (s = min(r, c)).

import { gemm, syrk, gemmWorkspaceBytes } from "./gemm";
import { F32 } from "./simd";
import { copy, scaleInto } from "./elementwise";

/** Bytes of workspace bjorckForward / bjorckBackward need for an r x c matrix. */
export function bjorckWorkspaceBytes(r: i32, c: i32): i32 {
  const s = min(r, c);
  return gemmWorkspaceBytes() + (2 * s * s + 2 * r * c) * 4;
}

/** Floats of saved state for K iterations (0 means nothing is saved). */
export function bjorckSaveFloats(r: i32, c: i32, iters: i32): i32 {
  const s = min(r, c);
  return iters * (r * c + s * s);
}

/** P = A A^T (wide) or A^T A (tall): the smaller Gram of A. */
function gram(r: i32, c: i32, a: usize, p: usize, gw: usize): void {
  if (r <= c) syrk(0, r, c, 1, a, c, 0, p, r, gw);
  else syrk(1, c, r, 1, a, c, 0, p, c, gw);
}

/** Y = (1+beta) A - beta P A (or A P), given the Gram P of A. */
function update(r: i32, c: i32, beta: f32, a: usize, p: usize, y: usize, gw: usize): void {
  scaleInto(r * c, 1 + beta, a, y);
  if (r <= c) gemm(0, 0, r, c, r, -beta, p, r, a, c, 1, y, c, gw);
  else gemm(0, 0, r, c, c, -beta, a, c, p, c, 1, y, c, gw);
}

/**
 * ||P - I||_F for the s x s Gram P, accumulated in f64. It bounds every
 * |sigma_i^2 - 1| of the iterate, so a tolerance on it bounds the spectral
 * norm: sigma_max <= sqrt(1 + tol).
 */
function gramDeviation(s: i32, p: usize): f64 {
  let acc: f64 = 0;
  for (let i = 0; i < s; i++) {
    const row = p + <usize>(i * s) * F32;
    for (let j = 0; j < s; j++) {
      const d = <f64>load<f32>(row + <usize>j * F32) - (i == j ? 1.0 : 0.0);
      acc += d * d;
    }
  }
  return Math.sqrt(acc);
}

/**
 * K iterations from w (r x c) into out (r x c). With save != 0, also records
 * every iterate and Gram for the backward pass.
 */
export function bjorckForward(r: i32, c: i32, iters: i32, beta: f32, w: usize, out: usize, save: usize, work: usize): void {
  forward(r, c, iters, beta, -1, w, out, save, work);
}

/**
 * As bjorckForward, but stops before step k when the iterate A_k already has
 * ||P_k - I||_F <= tol (P_k its smaller Gram, which step k computes anyway, so
 * the test costs O(s^2)); the output is then A_k. Returns the number of steps
 * done, which is what bjorckBackward must be given. tol < 0 never stops.
 */
export function bjorckForwardTol(r: i32, c: i32, iters: i32, beta: f32, tol: f64, w: usize, out: usize, save: usize, work: usize): i32 {
  return forward(r, c, iters, beta, tol, w, out, save, work);
}

function forward(r: i32, c: i32, iters: i32, beta: f32, tol: f64, w: usize, out: usize, save: usize, work: usize): i32 {
  const s = min(r, c);
  const n = r * c;
  const gw = work;
  const gramBuf = work + <usize>gemmWorkspaceBytes();
  const buf0 = gramBuf + <usize>(2 * s * s) * F32;
  const buf1 = buf0 + <usize>n * F32;
  let src = w;
  for (let k = 0; k < iters; k++) {
    let a = src;
    let p = gramBuf;
    if (save != 0) {
      const slot = save + <usize>(k * (n + s * s)) * F32;
      if (a != slot) copy(n, a, slot);
      a = slot;
      p = slot + <usize>n * F32;
    }
    gram(r, c, a, p, gw);
    if (tol >= 0 && gramDeviation(s, p) <= tol) {
      if (a != out) copy(n, a, out);
      return k;
    }
    // With saved state the next iterate is written straight into its slot.
    const y = k == iters - 1 ? out : save != 0 ? save + <usize>((k + 1) * (n + s * s)) * F32 : (k & 1 ? buf1 : buf0);
    update(r, c, beta, a, p, y, gw);
    src = y;
  }
  if (iters <= 0) copy(n, w, out);
  return max(iters, 0);
}

/**
 * Backward through K saved iterations: given gOut = dL/dA_K, writes gIn = dL/dW.
 * gOut is left unchanged. gIn may not alias gOut.
 */
export function bjorckBackward(r: i32, c: i32, iters: i32, beta: f32, save: usize, gOut: usize, gIn: usize, work: usize): void {
  const s = min(r, c);
  const n = r * c;
  const gw = work;
  const d = work + <usize>gemmWorkspaceBytes();
  const buf0 = d + <usize>(2 * s * s) * F32;
  const buf1 = buf0 + <usize>n * F32;
  if (iters <= 0) {
    copy(n, gOut, gIn);
    return;
  }
  let g = gOut;
  for (let k = iters - 1; k >= 0; k--) {
    const a = save + <usize>(k * (n + s * s)) * F32;
    const p = a + <usize>n * F32;
    const gNew = k == 0 ? gIn : (k & 1 ? buf1 : buf0);
    if (r <= c) {
      gemm(0, 1, r, r, c, -beta, g, c, a, c, 0, d, r, gw);            // D = -beta G A^T
      symmetrise(r, d);                                                  // S = D + D^T
      scaleInto(n, 1 + beta, g, gNew);
      gemm(0, 0, r, c, r, -beta, p, r, g, c, 1, gNew, c, gw);           // - beta P G
      gemm(0, 0, r, c, r, 1, d, r, a, c, 1, gNew, c, gw);               // + S A
    } else {
      gemm(1, 0, c, c, r, -beta, a, c, g, c, 0, d, c, gw);              // D = -beta A^T G
      symmetrise(c, d);
      scaleInto(n, 1 + beta, g, gNew);
      gemm(0, 0, r, c, c, -beta, g, c, p, c, 1, gNew, c, gw);           // - beta G P
      gemm(0, 0, r, c, c, 1, a, c, d, c, 1, gNew, c, gw);               // + A S
    }
    g = gNew;
  }
}

/**
 * D <- D + D^T in place (n x n, contiguous), in 16 x 16 tiles so that the
 * column-wise half of the access stays in cache (a plain double loop strides
 * through memory by n floats per element).
 */
function symmetrise(n: i32, d: usize): void {
  const T = 16;
  for (let ib = 0; ib < n; ib += T) {
    const iEnd = min(n, ib + T);
    for (let jb = ib; jb < n; jb += T) {
      const jEnd = min(n, jb + T);
      for (let i = ib; i < iEnd; i++) {
        const jStart = jb == ib ? i : jb;
        for (let j = jStart; j < jEnd; j++) {
          const pij = d + <usize>(i * n + j) * F32;
          const pji = d + <usize>(j * n + i) * F32;
          const v = load<f32>(pij) + load<f32>(pji);
          store<f32>(pij, v);
          store<f32>(pji, v);
        }
      }
    }
  }
}
