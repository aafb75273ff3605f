// Scalar coefficients of Björck orthonormalisation done through an
// eigendecomposition (docs/architecture.md, 'Spectral Björck').
//
// K order-1 steps map each singular value s to f_K(s), the K-fold composition
// of p(t) = (1+beta) t - beta t^3. f_K is odd, so f_K(s) = s q_K(s^2) with
//   q_0 = 1,  q_k(x) = q_{k-1}(x) r_{k-1}(x),  r_k(x) = (1+beta) - beta x q_k(x)^2,
// and on the Gram G = U diag(x) U^T:  W_K = U diag(q_K(x)) U^T W.
//
// The backward pass needs the divided differences q_K[x_i, x_j] (Daleckii-Krein).
// (q_i - q_j)/(x_i - x_j) loses every digit when eigenvalues nearly coincide,
// and they all coincide at an orthogonal initialisation. Instead the divided
// difference is carried through the recursion with the product rule
// (ab)[x, y] = a[x, y] b(y) + a(x) b[x, y]:
//   m_k = x q_k^2:      m_k[x, y] = q_k(y)^2 + x (q_k(x) + q_k(y)) q_k[x, y]
//   q_{k+1} = q_k r_k:  q_{k+1}[x, y] = q_k[x, y] r_k(y) - beta q_k(x) m_k[x, y]
// which is exact algebra, never divides, and at x = y gives q_K'(x).

import { madd64, nmadd64 } from "./simd";
import { availableThreads, evenBand, jobRecord, runJob, triangleBand, workerWorkspaceBytes } from "./threads";

// Job kinds posted to the kernel threads (threads.ts hands kinds in
// [JOB_SPECTRAL, JOB_EIG) here). Every share is a band of whole rows computed
// exactly as on one thread, so results are bit-identical for any thread count.
export const JOB_SPECTRAL: i32 = 8;
const JOB_DD_ROWS: i32 = 8;
const JOB_ROW_SQUARES: i32 = 9;
const JOB_SCALE_ROWS: i32 = 10;

// Below these sizes a pass is shorter than waking a worker: pair-steps of the
// divided differences (n^2 K / 2), elements of a row pass.
// @ts-ignore: decorator
@inline const SPLIT_MIN_PAIR_STEPS: f64 = 131072.0;
// @ts-ignore: decorator
@inline const SPLIT_MIN_ELEMENTS: f64 = 65536.0;

/** Workspace bytes of bjorckSpectralCoeffs and bjorckSpectralHadamard for n eigenvalues and K = iters. */
export function bjorckSpectralWorkspaceBytes(n: i32, iters: i32): i32 {
  return <i32>tableBytes(n, iters) * 2 + ddScratchBytes(iters);
}

// The tables of q_k(lam_j) and r_k(lam_j) are stored in panels of 8 columns,
// each panel k-major (8 consecutive j for k = 0, then k = 1, ...), so that the
// K steps of 8 columns read consecutive memory.

/** Bytes of one table: n columns rounded up to whole panels, K steps. */
// @ts-ignore: decorator
@inline function tableBytes(n: i32, iters: i32): usize {
  return (<usize>((n + 7) >> 3) * <usize>iters) << 6;
}

/** Byte offset of step k, column j in a table. */
// @ts-ignore: decorator
@inline function tableAt(k: i32, j: i32, iters: i32): usize {
  return ((<usize>(j >> 3) * <usize>iters + <usize>k) << 6) + (<usize>(j & 7) << 3);
}

/** Scratch bytes of one thread's rows of divided differences: the loop constants of one row, aligned. */
function ddScratchBytes(iters: i32): i32 {
  return iters * 32 + 16;
}

/**
 * q[i] = q_K(lam[i]) for i < n; when dd != 0 also dd (n x n, f64) with
 * dd[i][j] = q_K[lam_i, lam_j] (q_K'(lam_i) on the diagonal). Costs O(n K)
 * for q and O(n^2 K) for dd, the latter split between threads.
 */
export function bjorckSpectralCoeffs(n: i32, lam: usize, iters: i32, beta: f64, q: usize, dd: usize, work: usize): void {
  qTables(n, lam, iters, beta, q, work);
  if (dd != 0) ddTriangle(n, lam, iters, beta, work, dd, 0, 0);
}

/**
 * sm = D o (M + M^T) (n x n, f32) for the f32 n x n matrix m, D the divided
 * differences of bjorckSpectralCoeffs, computed row by row without storing D:
 * the backward pass's middle term. sm is symmetric, so each pair is computed
 * once and written to both triangles.
 */
export function bjorckSpectralHadamard(n: i32, lam: usize, iters: i32, beta: f64, m: usize, sm: usize, work: usize): void {
  qTables(n, lam, iters, beta, 0, work);
  ddTriangle(n, lam, iters, beta, work, 0, m, sm);
}

/** Tables tq = q_k(lam_i), tr = r_k(lam_i) for k < iters (at work, tableAt's layout), and q = q_K when q != 0. */
function qTables(n: i32, lam: usize, iters: i32, beta: f64, q: usize, work: usize): void {
  const tq = work, tr = tq + tableBytes(n, iters);
  for (let i = 0; i < n; i++) {
    const x = load<f64>(lam + (<usize>i << 3));
    let qk: f64 = 1;
    for (let k = 0; k < iters; k++) {
      const at = tableAt(k, i, iters);
      store<f64>(tq + at, qk);
      const rk = (1 + beta) - beta * x * qk * qk;
      store<f64>(tr + at, rk);
      qk *= rk;
    }
    if (q != 0) store<f64>(q + (<usize>i << 3), qk);
  }
}

/**
 * The upper triangle's rows of divided differences from qTables' tables at
 * work, written as dd (f64, both triangles) or as sm = D o (M + M^T) (f32).
 * Rows are split between threads in bands of equal area.
 */
function ddTriangle(n: i32, lam: usize, iters: i32, beta: f64, work: usize, dd: usize, m: usize, sm: usize): void {
  const tq = work;
  const scratch = tq + tableBytes(n, iters) * 2;
  const split = <f64>n * <f64>n * <f64>iters >= 2 * SPLIT_MIN_PAIR_STEPS && ddScratchBytes(iters) <= workerWorkspaceBytes();
  const threads = split ? availableThreads() : 1;
  if (threads > 1) {
    const job = jobRecord<DdRowsJob>();
    job.n = n; job.iters = iters; job.lam = lam; job.tq = tq; job.dd = dd; job.m = m; job.sm = sm; job.beta = beta;
    runJob(JOB_DD_ROWS, scratch);
  } else {
    ddRows(n, lam, iters, beta, tq, dd, m, sm, 0, n, scratch);
  }
}

/**
 * Rows [i0, i1) of the upper triangle of the divided differences (ddTriangle's
 * outputs); scratch: ddScratchBytes(iters). Each pair (i, j) runs the K steps
 * with its divided difference in a register, eight f64x2 column pairs at a
 * time (ddPanels) so that the steps' dependency chains overlap; every lane
 * does the same operations in the same order whichever path it takes.
 */
function ddRows(n: i32, lam: usize, iters: i32, beta: f64, tq: usize, dd: usize, m: usize, sm: usize, i0: i32, i1: i32, scratch: usize): void {
  const tr = tq + tableBytes(n, iters);
  // Per step k of row i: q_k(x) twice, then beta q_k(x) twice (loaded rather than splatted in the loop).
  const consts = (scratch + 15) & ~(<usize>15);
  for (let i = i0; i < i1; i++) {
    const xs = f64x2.splat(load<f64>(lam + (<usize>i << 3)));
    for (let k = 0; k < iters; k++) {
      const qx = load<f64>(tq + tableAt(k, i, iters));
      const c = consts + (<usize>k << 5);
      store<f64>(c, qx);
      store<f64>(c, qx, 8);
      store<f64>(c, beta * qx, 16);
      store<f64>(c, beta * qx, 24);
    }
    let j = i;
    // Up to the next whole panel: single columns where a pair would leave it.
    while (j < n && (j & 7) != 0) j = ddColumns(n, i, j, iters, xs, consts, tq, tr, dd, m, sm);
    while (j + 8 <= n) j = ddPanels(n, i, j, j + 16 <= n, iters, xs, consts, tq, tr, dd, m, sm);
    while (j < n) j = ddColumns(n, i, j, iters, xs, consts, tq, tr, dd, m, sm);
  }
}

/**
 * Columns j to j + 15 of row i (two panels), or j to j + 7 when `two` is
 * false (the one panel is then computed twice and written once): eight
 * independent column pairs keep the steps' dependency chains overlapped.
 * Returns the next column.
 */
function ddPanels(n: i32, i: i32, j: i32, two: bool, iters: i32, xs: v128, consts: usize, tq: usize, tr: usize, dd: usize, m: usize, sm: usize): i32 {
  const q = tq + tableAt(0, j, iters), r = tr + tableAt(0, j, iters);
  const q2 = two ? q + tableBytes(8, iters) : q, r2 = two ? r + tableBytes(8, iters) : r;
  let d0 = f64x2.splat(0), d1 = f64x2.splat(0), d2 = f64x2.splat(0), d3 = f64x2.splat(0);
  let d4 = f64x2.splat(0), d5 = f64x2.splat(0), d6 = f64x2.splat(0), d7 = f64x2.splat(0);
  for (let k = 0; k < iters; k++) {
    const c = consts + (<usize>k << 5), o = <usize>k << 6;
    const qx = v128.load(c), bqx = v128.load(c, 16);
    d0 = ddStep(xs, qx, bqx, v128.load(q + o), v128.load(r + o), d0);
    d1 = ddStep(xs, qx, bqx, v128.load(q + o, 16), v128.load(r + o, 16), d1);
    d2 = ddStep(xs, qx, bqx, v128.load(q + o, 32), v128.load(r + o, 32), d2);
    d3 = ddStep(xs, qx, bqx, v128.load(q + o, 48), v128.load(r + o, 48), d3);
    d4 = ddStep(xs, qx, bqx, v128.load(q2 + o), v128.load(r2 + o), d4);
    d5 = ddStep(xs, qx, bqx, v128.load(q2 + o, 16), v128.load(r2 + o, 16), d5);
    d6 = ddStep(xs, qx, bqx, v128.load(q2 + o, 32), v128.load(r2 + o, 32), d6);
    d7 = ddStep(xs, qx, bqx, v128.load(q2 + o, 48), v128.load(r2 + o, 48), d7);
  }
  ddPut(n, i, j, d0, dd, m, sm);
  ddPut(n, i, j + 2, d1, dd, m, sm);
  ddPut(n, i, j + 4, d2, dd, m, sm);
  ddPut(n, i, j + 6, d3, dd, m, sm);
  if (!two) return j + 8;
  ddPut(n, i, j + 8, d4, dd, m, sm);
  ddPut(n, i, j + 10, d5, dd, m, sm);
  ddPut(n, i, j + 12, d6, dd, m, sm);
  ddPut(n, i, j + 14, d7, dd, m, sm);
  return j + 16;
}

/**
 * Column j of row i, or columns j and j + 1 when both are in j's panel and j
 * is even, through the same lane arithmetic as whole panels; returns the next column.
 */
function ddColumns(n: i32, i: i32, j: i32, iters: i32, xs: v128, consts: usize, tq: usize, tr: usize, dd: usize, m: usize, sm: usize): i32 {
  const pair = (j & 1) == 0 && j + 1 < n;
  const q = tq + tableAt(0, j, iters), r = tr + tableAt(0, j, iters);
  let d = f64x2.splat(0);
  for (let k = 0; k < iters; k++) {
    const c = consts + (<usize>k << 5), o = <usize>k << 6;
    const qy = pair ? v128.load(q + o) : v128.load64_splat(q + o), ry = pair ? v128.load(r + o) : v128.load64_splat(r + o);
    d = ddStep(xs, v128.load(c), v128.load(c, 16), qy, ry, d);
  }
  if (pair) {
    ddPut(n, i, j, d, dd, m, sm);
    return j + 2;
  }
  ddPutOne(n, i, j, f64x2.extract_lane(d, 0), dd, m, sm);
  return j + 1;
}

/**
 * One step of the recursion on two columns: with u = x (q_k(x) + q_k(y)),
 * m_k[x, y] = u d + q_k(y)^2, then q_{k+1}[x, y] = d r_k(y) - beta q_k(x) m_k[x, y].
 */
// @ts-ignore: decorator
@inline function ddStep(xs: v128, qx: v128, bqx: v128, qy: v128, ry: v128, d: v128): v128 {
  const u = f64x2.mul(xs, f64x2.add(qx, qy));
  const dm = madd64(u, d, f64x2.mul(qy, qy));
  return nmadd64(bqx, dm, f64x2.mul(d, ry));
}

/** Writes D[i][j], D[i][j+1] (lanes of d) to ddRows' outputs. */
// @ts-ignore: decorator
@inline function ddPut(n: i32, i: i32, j: i32, d: v128, dd: usize, m: usize, sm: usize): void {
  ddPutOne(n, i, j, f64x2.extract_lane(d, 0), dd, m, sm);
  ddPutOne(n, i, j + 1, f64x2.extract_lane(d, 1), dd, m, sm);
}

/** D[i][j] = v into dd (both triangles), or D o (M + M^T) into sm. */
// @ts-ignore: decorator
@inline function ddPutOne(n: i32, i: i32, j: i32, v: f64, dd: usize, m: usize, sm: usize): void {
  if (dd != 0) {
    const ld = <usize>n << 3;
    store<f64>(dd + <usize>i * ld + (<usize>j << 3), v);
    store<f64>(dd + <usize>j * ld + (<usize>i << 3), v);
  }
  if (sm != 0) {
    // The sum in f64 as the f32 entries of M widened, the product in f64, one rounding to f32.
    const ld32 = <usize>n << 2;
    const ij = <usize>i * ld32 + (<usize>j << 2), ji = <usize>j * ld32 + (<usize>i << 2);
    const out = <f32>(v * (<f64>load<f32>(m + ij) + <f64>load<f32>(m + ji)));
    store<f32>(sm + ij, out);
    store<f32>(sm + ji, out);
  }
}

/**
 * lam[i] = sum_j v[i][j]^2 for the f64 rows x cols matrix v, summed left to
 * right (the order of rowSquares in src/engine/reference.ts); when v32 != 0
 * also v rounded to f32 there. Rows are split between threads.
 */
export function spectralRowSquares(rows: i32, cols: i32, v: usize, lam: usize, v32: usize): void {
  if (rowPassSplits(rows, cols)) {
    const job = rowJob<RowSquaresJob>(rows, cols);
    job.v = v; job.lam = lam; job.v32 = v32;
    runJob(JOB_ROW_SQUARES, 0);
  } else {
    rowSquaresRows(cols, v, lam, v32, 0, rows);
  }
}

function rowSquaresRows(cols: i32, v: usize, lam: usize, v32: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const row = v + ((<usize>i * <usize>cols) << 3);
    let acc: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const x = load<f64>(row + (<usize>j << 3));
      acc += x * x;
    }
    store<f64>(lam + (<usize>i << 3), acc);
    if (v32 != 0) {
      const row32 = v32 + ((<usize>i * <usize>cols) << 2);
      for (let j = 0; j < cols; j++) store<f32>(row32 + (<usize>j << 2), <f32>load<f64>(row + (<usize>j << 3)));
    }
  }
}

/**
 * out[i][j] = q[i] * x[i][j] rounded once to f32, for rows x cols matrices
 * (x f64, or f32 when xF32 != 0; the product is taken in f64 either way);
 * q = 0 copies x to f32. Rows are split between threads.
 */
export function spectralScaleRows(rows: i32, cols: i32, q: usize, x: usize, xF32: i32, out: usize): void {
  if (rowPassSplits(rows, cols)) {
    const job = rowJob<ScaleRowsJob>(rows, cols);
    job.q = q; job.x = x; job.xF32 = xF32; job.out = out;
    runJob(JOB_SCALE_ROWS, 0);
  } else {
    scaleRows(cols, q, x, xF32, out, 0, rows);
  }
}

function scaleRows(cols: i32, q: usize, x: usize, xF32: i32, out: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const qi: f64 = q != 0 ? load<f64>(q + (<usize>i << 3)) : 1;
    const at = <usize>i * <usize>cols;
    const dst = out + (at << 2);
    if (xF32 != 0) {
      const src = x + (at << 2);
      for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>j << 2), <f32>(qi * <f64>load<f32>(src + (<usize>j << 2))));
    } else {
      const src = x + (at << 3);
      for (let j = 0; j < cols; j++) store<f32>(dst + (<usize>j << 2), <f32>(qi * load<f64>(src + (<usize>j << 3))));
    }
  }
}

/** True when a row pass of this size is worth splitting between the kernel threads. */
function rowPassSplits(rows: i32, cols: i32): bool {
  return <f64>rows * <f64>cols >= SPLIT_MIN_ELEMENTS && availableThreads() > 1;
}

/** The arguments of a JOB_DD_ROWS job. */
@unmanaged class DdRowsJob {
  n: i32; iters: i32; lam: usize; tq: usize; dd: usize; m: usize; sm: usize; beta: f64;
}

/** What every row pass's arguments begin with. */
@unmanaged class RowPassJob {
  rows: i32; cols: i32;
}

/** The arguments of a JOB_ROW_SQUARES job. */
@unmanaged class RowSquaresJob extends RowPassJob {
  v: usize; lam: usize; v32: usize;
}

/** The arguments of a JOB_SCALE_ROWS job. */
@unmanaged class ScaleRowsJob extends RowPassJob {
  q: usize; x: usize; xF32: i32; out: usize;
}

/** The record of a row pass over rows x cols, with its size written. */
function rowJob<T extends RowPassJob>(rows: i32, cols: i32): T {
  const job = jobRecord<T>();
  job.rows = rows; job.cols = cols;
  return job;
}

/** Share `tid` of `threads` of a spectral job whose arguments are at args (assembly/threads.ts). */
export function spectralShare(kind: i32, args: usize, tid: i32, threads: i32, work: usize): void {
  if (kind == JOB_DD_ROWS) {
    const job = changetype<DdRowsJob>(args);
    const n = job.n;
    // Row i of the upper triangle has n - i entries: equal-area bands of the
    // lower triangle, read from the bottom.
    const i0 = n - triangleBand(n, threads - tid, threads, 1), i1 = n - triangleBand(n, threads - tid - 1, threads, 1);
    if (i1 <= i0) return;
    ddRows(n, job.lam, job.iters, job.beta, job.tq, job.dd, job.m, job.sm, i0, i1, work);
    return;
  }
  const pass = changetype<RowPassJob>(args);
  const i0 = evenBand(pass.rows, tid, threads, 1), i1 = evenBand(pass.rows, tid + 1, threads, 1);
  if (i1 <= i0) return;
  if (kind == JOB_ROW_SQUARES) {
    const job = changetype<RowSquaresJob>(args);
    rowSquaresRows(job.cols, job.v, job.lam, job.v32, i0, i1);
  } else if (kind == JOB_SCALE_ROWS) {
    const job = changetype<ScaleRowsJob>(args);
    scaleRows(job.cols, job.q, job.x, job.xF32, job.out, i0, i1);
  }
}
