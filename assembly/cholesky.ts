// Cholesky factorisation in f64 as a test of positive definiteness: the
// heavy loop of the certified spectral-norm bound (src/bounds/spectral.ts),
// which asks whether (t I - G) - c I factorises for a shift c covering the
// factorisation's rounding errors (docs/certificates.md).
//
// Row by row (Cholesky-Banachiewicz): l_ij = (a_ij - sum_{k<j} l_ik l_jk) / l_jj
// for j < i, then l_ii = sqrt(a_ii - sum_{k<i} l_ik^2). Every inner product runs
// along two rows (contiguous, f64x2), and two rows are computed together so
// that each earlier row is read once for both. The backward-error bound the
// certificate relies on, |A - L L^T| <= gamma_{n+1} |L| |L^T|, holds whatever the
// order of summation inside each inner product and with or without fused
// multiply-adds (Higham, Accuracy and Stability of Numerical Algorithms,
// Lemma 8.4 and Theorem 10.3), so the blocking and the SIMD lanes change no term.

import { madd64 } from "./simd";
import { dot } from "./dot64";

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

/**
 * Entries j < jEnd of rows x and y (jEnd <= both rows' indices), sharing each
 * pass over row j: x_j = (x_j - x[0:j] . l_j) / l_jj, likewise y_j.
 */
function twoRows(jEnd: i32, a: usize, ld: usize, x: usize, y: usize): void {
  for (let j = 0; j < jEnd; j++) {
    const lj = a + <usize>j * ld;
    let ax0 = f64x2.splat(0), ax1 = f64x2.splat(0), ay0 = f64x2.splat(0), ay1 = f64x2.splat(0);
    let k = 0;
    for (; k + 4 <= j; k += 4) {
      const o = <usize>k << 3;
      const l0 = v128.load(lj + o), l1 = v128.load(lj + o, 16);
      ax0 = madd64(v128.load(x + o), l0, ax0);
      ax1 = madd64(v128.load(x + o, 16), l1, ax1);
      ay0 = madd64(v128.load(y + o), l0, ay0);
      ay1 = madd64(v128.load(y + o, 16), l1, ay1);
    }
    const sx = f64x2.add(ax0, ax1), sy = f64x2.add(ay0, ay1);
    let dx = f64x2.extract_lane(sx, 0) + f64x2.extract_lane(sx, 1);
    let dy = f64x2.extract_lane(sy, 0) + f64x2.extract_lane(sy, 1);
    for (; k < j; k++) {
      const lk = load<f64>(at(lj, k));
      dx += load<f64>(at(x, k)) * lk;
      dy += load<f64>(at(y, k)) * lk;
    }
    const ljj = load<f64>(at(lj, j));
    store<f64>(at(x, j), (load<f64>(at(x, j)) - dx) / ljj);
    store<f64>(at(y, j), (load<f64>(at(y, j)) - dy) / ljj);
  }
}

/** The diagonal entry of row i (entries before it done): false when the pivot is not > 0 (or NaN). */
// @ts-ignore: decorator
@inline function pivot(i: i32, row: usize): bool {
  const d = load<f64>(at(row, i)) - dot(i, row, row);
  if (!(d > 0)) return false;
  store<f64>(at(row, i), Math.sqrt(d));
  return true;
}

/**
 * Factorises the symmetric n x n matrix a (row-major, leading dimension lda;
 * only the lower triangle is read) in place into L L^T, L in the lower
 * triangle. Returns 1 when every pivot is > 0, 0 at the first that is not
 * (zero, negative or NaN); a is then partly overwritten.
 */
export function choleskyLower(n: i32, a: usize, lda: i32): i32 {
  const ld = <usize>lda << 3;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const x = a + <usize>i * ld, y = x + ld;
    twoRows(i, a, ld, x, y);
    if (!pivot(i, x)) return 0;
    store<f64>(at(y, i), (load<f64>(at(y, i)) - dot(i, y, x)) / load<f64>(at(x, i)));
    if (!pivot(i + 1, y)) return 0;
  }
  if (i < n) {
    const x = a + <usize>i * ld;
    for (let j = 0; j < i; j++) {
      const lj = a + <usize>j * ld;
      store<f64>(at(x, j), (load<f64>(at(x, j)) - dot(j, x, lj)) / load<f64>(at(lj, j)));
    }
    if (!pivot(i, x)) return 0;
  }
  return 1;
}
