// Symmetric eigendecomposition in f64:  A = U diag(w) U^T.
//
// Three stages, each arranged so that every inner loop runs along a row
// (contiguous, f64x2):
//   1. Householder tridiagonalisation of the full matrix, reflector k taken
//      from row k (by symmetry, the same as column k), stored in row k right
//      of the diagonal. From n = 160 on (and given the workspace), the first
//      columns go in panels of 32 (assembly/tridiag-blocked.ts, LAPACK's
//      dsytrd/dlatrd): per column one matrix-vector product over the
//      untouched trailing matrix, and per panel one rank-64 update of it with
//      gemm64's tile kernel, which turns half of the 4/3 n^3 flops into GEMM
//      work.
//      The last columns (a trailing matrix under 160 rows), and every column
//      below that size, run unblocked: the rank-2 update of step k and the
//      matrix-vector product of step k+1 share one pass over the trailing
//      matrix (once the first trailing row is updated, the next reflector is
//      known, and each later row is dotted with it while it is still in L1).
//   2. Backward accumulation of Q^T = H_{n-3} ... H_0 in place over the
//      reflectors (right-multiplying by H_k touches rows and columns > k only,
//      and row k is no longer needed once H_k is applied). The last
//      reflectors four per pass over the rows (the pass is memory-bound);
//      where stage 1 ran in panels, the first ones 32 at a time in LAPACK's
//      compact WY form (dorgqr/dlarft: H_hi ... H_lo = I - V T^T V^T, applied
//      by three GEMMs).
//   3. The eigenpairs of the tridiagonal T. From n = DC_MIN_N (96), when the
//      workspace holds dcBytes(n): divide and conquer (assembly/tridiag-dc.ts),
//      which finds T's eigenvectors S by merges that are mostly GEMM work, then
//      turns them into A's by one product z <- S^T Q^T (gemm64, 2n^3 flops):
//      at n = 512, about 25 ms on one thread where QL took 41
//      (docs/performance-notes.md). Below that size, and for the divide and
//      conquer's leaves of at most 32 rows, implicit QL with shifts (tql2 of
//      EISPACK, as in JAMA). Eigenvectors are rows of Z = (Q R_1 R_2 ...)^T, so each
//      Givens rotation combines two rows. The rotations are not applied as
//      they are found: each QL sweep's (cos, sin) pairs are logged, and the
//      log is replayed on 8-column strips of Z (n x 8 doubles fit in L1), a
//      sweep at a time with the running row kept in registers. Rotations on
//      rows commute with any split into columns, so the result is bit-identical
//      to applying them at once, whatever the log capacity.
//
// Threads: the O(n^3) parts are split between the kernel threads
// (assembly/threads.ts) by rows or columns, each row or column computed by
// exactly the same operations as on one thread, so the result is
// bit-identical for any thread count: each unblocked tridiagonalisation step's
// pass over the trailing rows (one job per step, after the step's reflector is
// known), each blocked step's matrix-vector product (four fixed row bands,
// threads taking whole bands), each panel's rank-64 update (row bands of its
// lower triangle), the WY blocks' GEMMs (gemm64's own row bands), each
// four-reflector accumulation pass (row bands), and each replay of the
// rotation log (bands of 8-column strips, each thread copying strips into its
// own workspace); in the divide and conquer, its GEMMs (gemm64's row bands) and
// each merge's secular equations (bands of roots, of Loewner's z entries and
// of eigenvectors). QL itself and the small steps stay on the calling thread.
//
// Output: w ascending; z (n x n, contiguous) holds the eigenvectors as ROWS:
// row j of z is the unit eigenvector of w[j] (z = U^T).
//
// Accuracy: backward stable, |w_computed - w| <= ~ n eps ||A||_2 (absolute: the
// smallest eigenvalues of a Gram matrix are accurate to ~1e-16 ||A||, which is
// why this is f64). Entries must lie within about 1e+-150 of 1 (the
// reflector norms are not rescaled).

import { madd64, nmadd64, F64 } from "./simd";
import { dot } from "./dot64";
import { availableThreads, jobRecord, runJob, workerWorkspaceBytes } from "./threads";
import { secularShare, tridiagDcWorkspaceBytes, tridiagEigenDc } from "./tridiag-dc";
import { accumulatePanels, blockedColumns, blockedScratchBytes, blockedUseful, symvShare, syr2kShare, tridiagonalisePanels } from "./tridiag-blocked";

// Iterations allowed per eigenvalue before giving up (LAPACK allows 30 on average).
// @ts-ignore: decorator
@inline const MAX_ITER: i32 = 60;

// Job kinds posted to the kernel threads (threads.ts hands kinds >= JOB_EIG here).
export const JOB_EIG: i32 = 16;
const JOB_TRIDIAG: i32 = 16;
const JOB_ACCUMULATE: i32 = 17;
const JOB_REPLAY: i32 = 18;
export const JOB_SECULAR: i32 = 19; // divide and conquer's secular equations (tridiag-dc.ts)
// The blocked stages' jobs (assembly/tridiag-blocked.ts).
export const JOB_SYMV: i32 = 24;
export const JOB_SYR2K: i32 = 25;
const JOB_EIG_BATCH: i32 = 26;

// Below this many rows a pass over them is shorter than waking a worker
// (a 96 x 96 step of the tridiagonalisation is about 5 microseconds).
// @ts-ignore: decorator
@inline export const SPLIT_MIN_ROWS: i32 = 96;

/** Return codes of eigSym. */
export const EIG_OK: i32 = 0;
export const EIG_NOT_FINITE: i32 = 1;
export const EIG_NO_CONVERGENCE: i32 = 2;
export const EIG_WORKSPACE: i32 = 3;

/**
 * Default workspace for eigSym at size n: 12 n-vectors plus a rotation log of
 * about n^2/2 rotations (one QL pass needs about 0.75 n^2; a fuller log
 * only means fewer replays), or the blocked stages' scratch where that is
 * larger; from n = DC_MIN_N what the divide and conquer needs (about 3n^2
 * doubles and gemm64's buffers) if that is more still.
 */
export function eigSymWorkspaceBytes(n: i32): i32 {
  const rotations = max(n * n / 2, 4 * n + 64);
  const log = (rotations + 2) * 24;
  // The blocked stages' scratch shares the log's place (they run before it).
  const stages = 12 * n * 8 + (blockedUseful(n) ? max(log, blockedScratchBytes(n)) : log);
  // The divide and conquer's workspace starts at tau, which stage 3 no longer needs.
  return n >= DC_MIN_N ? max(stages, dcBytes(n)) : stages;
}

// From this size on, stage 3 is divide and conquer (tridiag-dc.ts) when the
// workspace holds dcBytes(n): measured faster than QL with its rotation replay.
// @ts-ignore: decorator
@inline const DC_MIN_N: i32 = 96;

/** Workspace for eigSym with stage 3 by divide and conquer: e, then tridiag-dc.ts's. */
function dcBytes(n: i32): i32 {
  return n * 8 + tridiagDcWorkspaceBytes(n);
}

/** Address of f64 element i of the array at base. */
// @ts-ignore: decorator
@inline export function at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

/**
 * sqrt(x^2 + y^2) without Math.hypot's cost where the squares can neither
 * overflow nor underflow (QL's p can be huge when an off-diagonal is tiny).
 */
// @ts-ignore: decorator
@inline function hypot(x: f64, y: f64): f64 {
  const s = x * x + y * y;
  return s < 1e300 && s > 1e-300 ? Math.sqrt(s) : Math.hypot(x, y);
}

/** y[j] += alpha x[j], j < len. */
export function axpy(len: i32, alpha: f64, x: usize, y: usize): void {
  const va = f64x2.splat(alpha);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    v128.store(y + o, madd64(va, v128.load(x + o), v128.load(y + o)));
    v128.store(y + o, madd64(va, v128.load(x + o, 16), v128.load(y + o, 16)), 16);
  }
  for (; j < len; j++) store<f64>(at(y, j), load<f64>(at(y, j)) + alpha * load<f64>(at(x, j)));
}

/** row[j] -= vi w[j] + wi v[j], j < len (one row of the symmetric rank-2 update). */
export function rank2Row(len: i32, row: usize, vi: f64, wi: f64, v: usize, w: usize): void {
  const a = f64x2.splat(vi), b = f64x2.splat(wi);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    let r0 = v128.load(row + o), r1 = v128.load(row + o, 16);
    r0 = nmadd64(a, v128.load(w + o), r0);
    r1 = nmadd64(a, v128.load(w + o, 16), r1);
    r0 = nmadd64(b, v128.load(v + o), r0);
    r1 = nmadd64(b, v128.load(v + o, 16), r1);
    v128.store(row + o, r0);
    v128.store(row + o, r1, 16);
  }
  for (; j < len; j++) {
    const p = at(row, j);
    store<f64>(p, load<f64>(p) - vi * load<f64>(at(w, j)) - wi * load<f64>(at(v, j)));
  }
}

/**
 * Householder reflector for x (len >= 2) in place, as LAPACK's dlarfg:
 * (I - tau v v^T) x = beta e_1 with v = [1, x[1:]/(x0 - beta)].
 * Returns tau (0 when x[1:] = 0: no reflection needed); beta goes to *betaOut.
 */
export function reflector(len: i32, x: usize, betaOut: usize): f64 {
  const x0 = load<f64>(x);
  const tail = dot(len - 1, x + 8, x + 8);
  if (tail == 0) {
    store<f64>(betaOut, x0);
    return 0;
  }
  const beta = -copysign<f64>(Math.sqrt(x0 * x0 + tail), x0);
  const tau = (beta - x0) / beta;
  const s = 1 / (x0 - beta);
  const vs = f64x2.splat(s);
  let j = 1;
  for (; j + 2 <= len; j += 2) {
    const p = at(x, j);
    v128.store(p, f64x2.mul(v128.load(p), vs));
  }
  for (; j < len; j++) store<f64>(at(x, j), load<f64>(at(x, j)) * s);
  store<f64>(x, 1);
  store<f64>(betaOut, beta);
  return tau;
}

/**
 * Stage 1: reduces z (n x n, symmetric, full) to tridiagonal form T.
 * d[k] = T[k][k], e[k] = T[k][k+1] (e[n-1] = 0), tau[k] the reflector scalars,
 * reflector k in z[k][k+1..]. p0, p1: n-vectors of scratch. With `blocked`
 * (blockedScratchBytes(n) bytes, or 0), the first columns go through
 * assembly/tridiag-blocked.ts in panels and this code finishes the rest.
 */
function tridiagonalise(n: i32, z: usize, d: usize, e: usize, tau: usize, p0: usize, p1: usize, blocked: usize): void {
  const ld = <usize>n << 3;
  const k0 = blocked != 0 ? tridiagonalisePanels(n, z, d, e, tau, blocked) : 0;
  if (n - k0 >= 3) {
    // Reflector k0 and its matrix-vector product p = tau A22 v (the only unfused pass).
    const m = n - k0 - 1;
    const row = z + <usize>k0 * ld + (<usize>k0 << 3);
    const v = row + 8;
    store<f64>(at(d, k0), load<f64>(row));
    const t = reflector(m, v, at(e, k0));
    store<f64>(at(tau, k0), t);
    for (let i = 0; i < m; i++) store<f64>(at(p0, i), t * dot(m, row + <usize>(i + 1) * ld + 8, v));
  }
  let p = p0, pNext = p1;
  for (let k = k0; k <= n - 3; k++) {
    const m = n - k - 1;
    const row0 = z + <usize>(k + 1) * ld + (<usize>(k + 1) << 3); // trailing block's (0, 0)
    const v = z + <usize>k * ld + (<usize>(k + 1) << 3);
    const t = load<f64>(at(tau, k));
    if (t != 0) {
      // w = p - (tau/2)(p.v) v, overwriting p.
      axpy(m, -0.5 * t * dot(m, p, v), v, p);
      rank2Row(m, row0, 1, load<f64>(p), v, p);
    }
    const next = k + 1 <= n - 3;
    let tNext: f64 = 0;
    const vNext = row0 + 8;
    if (next) {
      store<f64>(at(d, k + 1), load<f64>(row0));
      tNext = reflector(m - 1, vNext, at(e, k + 1));
      store<f64>(at(tau, k + 1), tNext);
    }
    const threads = m >= SPLIT_MIN_ROWS && (t != 0 || next) ? availableThreads() : 1;
    if (threads > 1) {
      const job = jobRecord<TridiagJob>();
      job.m = m; job.n = n; job.row0 = row0; job.v = v; job.p = p; job.pNext = pNext;
      job.flags = (t != 0 ? 1 : 0) | (next ? 2 : 0); job.tNext = tNext;
      runJob(JOB_TRIDIAG, 0);
    } else {
      trailingRows(m, ld, row0, v, p, pNext, t != 0, next, tNext, 1, m);
    }
    const swap = p;
    p = pNext;
    pNext = swap;
  }
  // The last 2x2 block needs no reflector.
  if (n >= 2) {
    const a = z + <usize>(n - 2) * ld + (<usize>(n - 2) << 3);
    store<f64>(at(d, n - 2), load<f64>(a));
    store<f64>(at(e, n - 2), load<f64>(a, 8));
    store<f64>(at(d, n - 1), load<f64>(a + ld, 8));
  } else {
    store<f64>(d, load<f64>(z));
  }
  store<f64>(at(e, n - 1), 0);
}

/**
 * Rows li0..li1-1 of a tridiagonalisation step's trailing block (row0 its first
 * row, m x m, leading dimension ld bytes): the rank-2 update with v and
 * w = p (when `update`), then the next step's matrix-vector product entry
 * pNext[li-1] = tNext (row . vNext) with vNext in row0 (when `next`).
 * Each row reads only itself, v, p and row0, so any split is exact.
 */
function trailingRows(m: i32, ld: usize, row0: usize, v: usize, p: usize, pNext: usize,
  update: bool, next: bool, tNext: f64, li0: i32, li1: i32): void {
  const vNext = row0 + 8;
  for (let li = li0; li < li1; li++) {
    const row = row0 + <usize>li * ld;
    if (update) rank2Row(m, row, load<f64>(at(v, li)), load<f64>(at(p, li)), v, p);
    if (next) store<f64>(at(pNext, li - 1), tNext * dot(m - 1, row + 8, vNext));
  }
}

/**
 * Stage 2: overwrites z (reflectors in rows 0..n-3) with Q^T. Right-multiplying
 * by H_k only touches rows and columns > k, and row k is no longer needed once
 * H_k is applied. The pass over the rows is memory-bound (the trailing block is
 * 2 MiB at n = 512), so reflectors are applied four at a time: per row, four dot
 * products in one pass, a 4x4 triangular solve for the sequential coefficients,
 * four axpys in one pass.
 */
function accumulate(n: i32, z: usize, tau: usize, scratch: usize, blocked: usize): void {
  const ld = <usize>n << 3;
  // Reflectors 0..kb-1 go through assembly/tridiag-blocked.ts afterwards, in WY blocks.
  const kb = blocked != 0 ? blockedColumns(n) : 0;
  if (n >= 2) {
    const a = z + <usize>(n - 2) * ld + (<usize>(n - 2) << 3);
    store<f64>(a, 1);
    store<f64>(a, 0, 8);
    store<f64>(a + ld, 0);
    store<f64>(a + ld, 1, 8);
  }
  let hi = n - 3;
  for (; hi - 3 >= kb; hi -= 4) {
    const lo = hi - 3;
    accumulate4Setup(n, z, lo, scratch);
    const threads = n - lo - 1 >= SPLIT_MIN_ROWS ? availableThreads() : 1;
    if (threads > 1) {
      const job = jobRecord<AccumulateJob>();
      job.n = n; job.z = z; job.tau = tau; job.lo = lo; job.scratch = scratch;
      runJob(JOB_ACCUMULATE, 0);
    } else {
      accumulate4Rows(n, z, tau, lo, scratch, lo + 1, n);
    }
  }
  for (let k = hi; k >= kb; k--) {
    const m = n - k - 1;
    const v = z + <usize>k * ld + (<usize>(k + 1) << 3);
    const row0 = z + <usize>(k + 1) * ld + (<usize>(k + 1) << 3);
    identityBlock(n, z, k + 1, k + 1);
    const t = load<f64>(at(tau, k));
    if (t == 0) continue;
    for (let i = 0; i < m; i++) {
      const row = row0 + <usize>i * ld;
      axpy(m, -t * dot(m, row, v), v, row);
    }
  }
  if (kb > 0) accumulatePanels(n, z, tau, kb, blocked);
  // Row 0 and column 0: H_k never touches index 0.
  store<f64>(z, 1);
  for (let j = 1; j < n; j++) store<f64>(at(z, j), 0);
  for (let i = 1; i < n; i++) store<f64>(z + <usize>i * ld, 0);
}

/**
 * Rows first..last of the block (columns >= first) become identity rows and
 * columns first..last below them zero: the rows and columns that join the
 * accumulated block when reflectors first-1 .. last-1 are applied. (A row e_i
 * is left alone by every H_j with j >= i, so joining them early is exact.)
 */
export function identityBlock(n: i32, z: usize, first: i32, last: i32): void {
  const ld = <usize>n << 3;
  for (let i = first; i <= last; i++) {
    const row = z + <usize>i * ld;
    for (let j = first; j < n; j++) store<f64>(at(row, j), i == j ? 1 : 0);
  }
  for (let i = last + 1; i < n; i++) {
    const row = z + <usize>i * ld;
    for (let j = first; j <= last; j++) store<f64>(at(row, j), 0);
  }
}

/**
 * Prepares the pass applying H_{lo+3}, H_{lo+2}, H_{lo+1}, H_lo: copies
 * v_{lo+1..lo+3} to scratch (their rows join the block), then the Gram of the
 * four reflectors (v_i . v_j over their common columns > i, i > j) after them.
 * scratch: 3n + 6 doubles.
 */
function accumulate4Setup(n: i32, z: usize, lo: i32, scratch: usize): void {
  const ld = <usize>n << 3;
  const hi = lo + 3;
  // v_j lives in row j from column j+1; all four share columns hi+1 .. n-1.
  const v0 = z + <usize>lo * ld, v1 = scratch, v2 = v1 + ld, v3 = v2 + ld;
  for (let j = lo + 2; j < n; j++) store<f64>(at(v1, j), load<f64>(at(v0 + ld, j)));
  for (let j = lo + 3; j < n; j++) store<f64>(at(v2, j), load<f64>(at(v0 + 2 * ld, j)));
  for (let j = lo + 4; j < n; j++) store<f64>(at(v3, j), load<f64>(at(v0 + 3 * ld, j)));
  identityBlock(n, z, lo + 1, hi + 1);
  const len = n - hi - 1;
  const c0 = at(v0, hi + 1), c1 = at(v1, hi + 1), c2 = at(v2, hi + 1), c3 = at(v3, hi + 1);
  const g = v3 + ld;
  store<f64>(g, dot(n - lo - 2, at(v1, lo + 2), at(v0, lo + 2)));
  store<f64>(g, dot(n - lo - 3, at(v2, lo + 3), at(v0, lo + 3)), 8);
  store<f64>(g, dot(n - lo - 3, at(v2, lo + 3), at(v1, lo + 3)), 16);
  store<f64>(g, dot(len, c3, c0), 24);
  store<f64>(g, dot(len, c3, c1), 32);
  store<f64>(g, dot(len, c3, c2), 40);
}

/** x[j] -= k0 c0[j] + k1 c1[j] + k2 c2[j] + k3 c3[j] (in that order), j < len: four axpys in one pass over x. */
// @ts-ignore: decorator
@inline export function axpy4(len: i32, x: usize, k0: f64, c0: usize, k1: f64, c1: usize, k2: f64, c2: usize, k3: f64, c3: usize): void {
  const s0 = f64x2.splat(k0), s1 = f64x2.splat(k1), s2 = f64x2.splat(k2), s3 = f64x2.splat(k3);
  let j = 0;
  for (; j + 2 <= len; j += 2) {
    const o = <usize>j << 3;
    let xv = v128.load(x + o);
    xv = nmadd64(s0, v128.load(c0 + o), xv);
    xv = nmadd64(s1, v128.load(c1 + o), xv);
    xv = nmadd64(s2, v128.load(c2 + o), xv);
    xv = nmadd64(s3, v128.load(c3 + o), xv);
    v128.store(x + o, xv);
  }
  if (j < len) {
    const p = at(x, j);
    store<f64>(p, load<f64>(p) - k0 * load<f64>(at(c0, j)) - k1 * load<f64>(at(c1, j)) - k2 * load<f64>(at(c2, j)) - k3 * load<f64>(at(c3, j)));
  }
}

// dot4's results (globals belong to one instance, i.e. to one thread).
export let dot4Out0: f64 = 0;
export let dot4Out1: f64 = 0;
export let dot4Out2: f64 = 0;
export let dot4Out3: f64 = 0;

/** x . c0, ..., x . c3 over len entries into dot4Out0..3: four dot products in one pass over x. */
// @ts-ignore: decorator
@inline export function dot4(len: i32, x: usize, c0: usize, c1: usize, c2: usize, c3: usize): void {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
  let j = 0;
  for (; j + 2 <= len; j += 2) {
    const o = <usize>j << 3;
    const xv = v128.load(x + o);
    a0 = madd64(xv, v128.load(c0 + o), a0);
    a1 = madd64(xv, v128.load(c1 + o), a1);
    a2 = madd64(xv, v128.load(c2 + o), a2);
    a3 = madd64(xv, v128.load(c3 + o), a3);
  }
  let d0 = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
  let d1 = f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1);
  let d2 = f64x2.extract_lane(a2, 0) + f64x2.extract_lane(a2, 1);
  let d3 = f64x2.extract_lane(a3, 0) + f64x2.extract_lane(a3, 1);
  if (j < len) {
    const xj = load<f64>(at(x, j));
    d0 += xj * load<f64>(at(c0, j));
    d1 += xj * load<f64>(at(c1, j));
    d2 += xj * load<f64>(at(c2, j));
    d3 += xj * load<f64>(at(c3, j));
  }
  dot4Out0 = d0;
  dot4Out1 = d1;
  dot4Out2 = d2;
  dot4Out3 = d3;
}

/**
 * Applies H_{lo+3}, H_{lo+2}, H_{lo+1}, H_lo (in that order) to rows i0..i1-1
 * (all > lo) of z, after accumulate4Setup. Rows are independent.
 */
function accumulate4Rows(n: i32, z: usize, tau: usize, lo: i32, scratch: usize, i0: i32, i1: i32): void {
  const ld = <usize>n << 3;
  const hi = lo + 3;
  const v0 = z + <usize>lo * ld, v1 = scratch, v2 = v1 + ld, v3 = v2 + ld;
  const t0 = load<f64>(at(tau, lo)), t1 = load<f64>(at(tau, lo + 1));
  const t2 = load<f64>(at(tau, lo + 2)), t3 = load<f64>(at(tau, lo + 3));
  const len = n - hi - 1;
  const c0 = at(v0, hi + 1), c1 = at(v1, hi + 1), c2 = at(v2, hi + 1), c3 = at(v3, hi + 1);
  const g = v3 + ld;
  const g10 = load<f64>(g), g20 = load<f64>(g, 8), g21 = load<f64>(g, 16);
  const g30 = load<f64>(g, 24), g31 = load<f64>(g, 32), g32 = load<f64>(g, 40);
  for (let i = i0; i < i1; i++) {
    const row = z + <usize>i * ld;
    // d_j = x . v_j: the shared columns in one pass, then the few before them.
    const x = at(row, hi + 1);
    dot4(len, x, c0, c1, c2, c3);
    let d0 = dot4Out0, d1 = dot4Out1, d2 = dot4Out2, d3 = dot4Out3;
    for (let col = lo + 1; col <= hi; col++) {
      const xc = load<f64>(at(row, col));
      d0 += xc * load<f64>(at(v0, col));
      if (col >= lo + 2) d1 += xc * load<f64>(at(v1, col));
      if (col >= lo + 3) d2 += xc * load<f64>(at(v2, col));
    }
    // H_{lo+3} acts first: each coefficient sees the rows already reflected.
    const k3 = t3 * d3;
    const k2 = t2 * (d2 - k3 * g32);
    const k1 = t1 * (d1 - k3 * g31 - k2 * g21);
    const k0 = t0 * (d0 - k3 * g30 - k2 * g20 - k1 * g10);
    axpy4(len, x, k0, c0, k1, c1, k2, c2, k3, c3);
    for (let col = lo + 1; col <= hi; col++) {
      const p = at(row, col);
      let xc = load<f64>(p) - k0 * load<f64>(at(v0, col));
      if (col >= lo + 2) xc -= k1 * load<f64>(at(v1, col));
      if (col >= lo + 3) xc -= k2 * load<f64>(at(v2, col));
      store<f64>(p, xc);
    }
  }
}

/**
 * Replays the logged sweeps on the rows of z: sweep s covers rows l..m and
 * rotation i (i = m-1 down to l) maps (row i, row i+1) to
 * (c row_i - s row_{i+1}, s row_i + c row_{i+1}), as tql2 does to columns.
 * Sweeps: [l, m] as f64 pairs in `sweeps`; rotations: (c, s) pairs in `rot`.
 * strip: n x 8 doubles of scratch. Columns are independent: bands of strips
 * go to the kernel threads, each with a strip in its own workspace.
 */
function replay(n: i32, z: usize, sweeps: usize, nSweeps: i32, rot: usize, strip: usize): void {
  if (nSweeps == 0) return;
  const threads = n >= SPLIT_MIN_ROWS && n * 64 <= workerWorkspaceBytes() ? availableThreads() : 1;
  if (threads > 1) {
    const job = jobRecord<ReplayJob>();
    job.n = n; job.z = z; job.sweeps = sweeps; job.nSweeps = nSweeps; job.rot = rot;
    runJob(JOB_REPLAY, strip);
  } else {
    replayColumns(n, z, sweeps, nSweeps, rot, strip, 0, n >> 3, true);
  }
}

/**
 * The replay on 8-column strips s0..s1-1 of z and, with `tail`, on the
 * n mod 8 columns after the last whole strip.
 */
function replayColumns(n: i32, z: usize, sweeps: usize, nSweeps: i32, rot: usize, strip: usize,
  s0: i32, s1: i32, tail: bool): void {
  const ld = <usize>n << 3;
  // 8 columns at a time, copied to a contiguous strip: in place, the rows of a
  // strip lie n doubles apart, which for n = 512 maps them all onto the same
  // few cache sets; contiguous, the strip (32 KiB at n = 512) streams from L1/L2.
  for (let j = s0 << 3; j < s1 << 3; j += 8) {
    const col = z + (<usize>j << 3);
    for (let i = 0; i < n; i++) {
      const src = col + <usize>i * ld, dst = strip + (<usize>i << 6);
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      v128.store(dst, v128.load(src, 32), 32);
      v128.store(dst, v128.load(src, 48), 48);
    }
    let r = rot;
    for (let s = 0; s < nSweeps; s++) {
      const l = <i32>load<f64>(sweeps + (<usize>s << 4));
      const m = <i32>load<f64>(sweeps + (<usize>s << 4), 8);
      let below = strip + (<usize>m << 6);
      let c0 = v128.load(below), c1 = v128.load(below, 16), c2 = v128.load(below, 32), c3 = v128.load(below, 48);
      for (let i = m - 1; i >= l; i--) {
        const row = below - 64;
        const vc = v128.load64_splat(r);
        const vs = v128.load64_splat(r, 8);
        const a0 = v128.load(row), a1 = v128.load(row, 16), a2 = v128.load(row, 32), a3 = v128.load(row, 48);
        v128.store(below, madd64(vs, a0, f64x2.mul(vc, c0)));
        v128.store(below, madd64(vs, a1, f64x2.mul(vc, c1)), 16);
        v128.store(below, madd64(vs, a2, f64x2.mul(vc, c2)), 32);
        v128.store(below, madd64(vs, a3, f64x2.mul(vc, c3)), 48);
        c0 = nmadd64(vs, c0, f64x2.mul(vc, a0));
        c1 = nmadd64(vs, c1, f64x2.mul(vc, a1));
        c2 = nmadd64(vs, c2, f64x2.mul(vc, a2));
        c3 = nmadd64(vs, c3, f64x2.mul(vc, a3));
        below = row;
        r += 16;
      }
      v128.store(below, c0);
      v128.store(below, c1, 16);
      v128.store(below, c2, 32);
      v128.store(below, c3, 48);
    }
    for (let i = 0; i < n; i++) {
      const dst = col + <usize>i * ld, src = strip + (<usize>i << 6);
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      v128.store(dst, v128.load(src, 32), 32);
      v128.store(dst, v128.load(src, 48), 48);
    }
  }
  if (!tail) return;
  // Remaining columns one at a time, with the same arithmetic as the strips.
  for (let j = (n >> 3) << 3; j < n; j++) {
    const col = z + (<usize>j << 3);
    let r = rot;
    for (let s = 0; s < nSweeps; s++) {
      const l = <i32>load<f64>(sweeps + (<usize>s << 4));
      const m = <i32>load<f64>(sweeps + (<usize>s << 4), 8);
      let below = col + <usize>m * ld;
      let carry = f64x2.splat(load<f64>(below));
      for (let i = m - 1; i >= l; i--) {
        const row = below - ld;
        const vc = v128.load64_splat(r);
        const vs = v128.load64_splat(r, 8);
        const a = f64x2.splat(load<f64>(row));
        store<f64>(below, f64x2.extract_lane(madd64(vs, a, f64x2.mul(vc, carry)), 0));
        carry = nmadd64(vs, carry, f64x2.mul(vc, a));
        below = row;
        r += 16;
      }
      store<f64>(below, f64x2.extract_lane(carry, 0));
    }
  }
}


/** Start of share t of `count` items split between `threads`. */
function band(count: i32, t: i32, threads: i32): i32 {
  return <i32>(<i64>count * <i64>t / <i64>threads);
}

/** The arguments of a JOB_TRIDIAG job (stage 1's trailing update, split by rows). */
@unmanaged class TridiagJob {
  m: i32; n: i32; row0: usize; v: usize; p: usize; pNext: usize; flags: i32; tNext: f64;
}

/** The arguments of a JOB_ACCUMULATE job (stage 2, four reflectors at a time). */
@unmanaged class AccumulateJob {
  n: i32; z: usize; tau: usize; lo: i32; scratch: usize;
}

/** The arguments of a JOB_REPLAY job (QL's rotations replayed on bands of columns). */
@unmanaged class ReplayJob {
  n: i32; z: usize; sweeps: usize; nSweeps: i32; rot: usize;
}

/** Share `tid` of `threads` of an eigensolver job whose arguments are at args (assembly/threads.ts). */
export function eigShare(kind: i32, args: usize, tid: i32, threads: i32, work: usize): void {
  if (kind == JOB_TRIDIAG) {
    const job = changetype<TridiagJob>(args);
    const m = job.m, flags = job.flags;
    trailingRows(m, <usize>job.n << 3, job.row0, job.v, job.p, job.pNext, (flags & 1) != 0, (flags & 2) != 0, job.tNext,
      1 + band(m - 1, tid, threads), 1 + band(m - 1, tid + 1, threads));
  } else if (kind == JOB_ACCUMULATE) {
    const job = changetype<AccumulateJob>(args);
    const n = job.n, lo = job.lo;
    const rows = n - lo - 1;
    accumulate4Rows(n, job.z, job.tau, lo, job.scratch, lo + 1 + band(rows, tid, threads), lo + 1 + band(rows, tid + 1, threads));
  } else if (kind == JOB_SYMV) {
    symvShare(args, tid, threads);
  } else if (kind == JOB_SYR2K) {
    syr2kShare(args, tid, threads);
  } else if (kind == JOB_REPLAY) {
    const job = changetype<ReplayJob>(args);
    const n = job.n, strips = n >> 3;
    replayColumns(n, job.z, job.sweeps, job.nSweeps, job.rot, work, band(strips, tid, threads), band(strips, tid + 1, threads), tid == threads - 1);
  } else if (kind == JOB_SECULAR) {
    secularShare(args, tid, threads);
  } else if (kind == JOB_EIG_BATCH) {
    const job = changetype<EigBatchJob>(args);
    // Take whole problems until the job's are gone (any thread may solve any of them).
    for (let g = atomic.add<i32>(changetype<usize>(job) + offsetof<EigBatchJob>("next"), 1); g < job.whole;
      g = atomic.add<i32>(changetype<usize>(job) + offsetof<EigBatchJob>("next"), 1)) {
      solveProblem(nthLarge(job.count, job.problems, g));
    }
  }
}

/**
 * Eigenvalues w (ascending) and eigenvectors (rows of z) of the symmetric
 * n x n matrix a (row-major, leading dimension lda; both triangles are read).
 * z must be n x n contiguous and may alias a when lda = n. work: workBytes
 * bytes, eigSymWorkspaceBytes(n) for full speed; at least 12n doubles plus
 * 24(n + 2) bytes (a smaller log only means more replays; from n = 160 on, a
 * workspace without room for the blocked stages' scratch runs stages 1-2
 * unblocked, as accurate but rounded differently; from n = 96, less than
 * eigSymWorkspaceBytes(n) means QL instead of divide and conquer). Returns
 * EIG_OK, EIG_NOT_FINITE (outputs NaN), EIG_NO_CONVERGENCE or EIG_WORKSPACE.
 */
export function eigSym(n: i32, a: usize, lda: i32, w: usize, z: usize, work: usize, workBytes: i32): i32 {
  if (n <= 0) return EIG_OK;
  // Workspace: e, tau, two n-vectors for the tridiagonalisation, the n x 8
  // strip of the replay (first the accumulation's scratch), then the log.
  const e = work;
  const tau = e + (<usize>n << 3);
  const p0 = tau + (<usize>n << 3);
  const p1 = p0 + (<usize>n << 3);
  const strip = p1 + (<usize>n << 3);
  const logBase = strip + (<usize>n << 6);
  // The log: sweeps ([l, m] pairs) and rotations ((c, s) pairs) share what is
  // left, one sweep record per two rotations (a sweep has at least one rotation,
  // most have many; the capacity checks below guard both).
  const left = workBytes - 12 * n * 8;
  const rotCap = left / 24 - 2;
  if (rotCap < n) return EIG_WORKSPACE;
  const ld = <usize>n << 3;

  // Copy (z may alias a) and refuse NaN and infinities, which would never converge.
  let finite = true;
  for (let i = 0; i < n; i++) {
    const src = a + <usize>i * <usize>lda * 8;
    const dst = z + <usize>i * ld;
    for (let j = 0; j < n; j++) {
      const x = load<f64>(at(src, j));
      if (x - x != 0) finite = false;
      store<f64>(at(dst, j), x);
    }
  }
  if (!finite) {
    for (let i = 0; i < n; i++) store<f64>(at(w, i), NaN);
    for (let i = 0; i < n * n; i++) store<f64>(at(z, i), NaN);
    return EIG_NOT_FINITE;
  }

  const d = w;
  // The blocked stages' scratch lies where the log will be, when there is room.
  const blocked = blockedUseful(n) && left >= blockedScratchBytes(n) ? logBase : 0;
  tridiagonalise(n, z, d, e, tau, p0, p1, blocked);
  accumulate(n, z, tau, strip, blocked);
  // Stage 3: divide and conquer where it is faster and the workspace allows, else QL.
  if (n >= DC_MIN_N && workBytes >= dcBytes(n)) return tridiagEigenDc(n, d, e, z, tau);
  return qlEigen(n, d, e, z, strip, logBase, left);
}

/** One problem of eigSymBatch: eigSym's arguments, then its return code. */
@unmanaged class EigProblem {
  n: i32; a: usize; lda: i32; w: usize; z: usize; work: usize; workBytes: i32; status: i32;
}

/** The arguments of a JOB_EIG_BATCH job: the first `whole` large problems, taken in turn through `next`. */
@unmanaged class EigBatchJob {
  count: i32; problems: usize; whole: i32; next: i32;
}

/** Bytes of one eigSymBatch problem record. */
export function eigProblemBytes(): i32 {
  return <i32>offsetof<EigProblem>();
}

/**
 * eigSym on `count` problems, records of eigProblemBytes() at `problems`
 * ({n, a, lda, w, z, work, workBytes, status}, 4 bytes each; every problem
 * with its own workspace), each status written back. With k threads and L
 * problems of at least SPLIT_MIN_ROWS rows, the first k floor(L/k) of those
 * are solved whole, one per thread at a time; the rest one after another,
 * each split between the threads. One problem's passes are too short to
 * keep two threads busy, two problems are not. Each problem gets the bits
 * eigSym gives it alone, on any thread count.
 */
export function eigSymBatch(count: i32, problems: usize): void {
  const threads = availableThreads();
  let large = 0;
  for (let i = 0; i < count; i++) if (problemAt(problems, i).n >= SPLIT_MIN_ROWS) large++;
  const whole = threads > 1 ? (large / threads) * threads : 0;
  if (whole > 0) {
    const job = jobRecord<EigBatchJob>();
    job.count = count; job.problems = problems; job.whole = whole; job.next = 0;
    runJob(JOB_EIG_BATCH, 0);
  }
  let solvedWhole = 0;
  for (let i = 0; i < count; i++) {
    const p = problemAt(problems, i);
    if (p.n >= SPLIT_MIN_ROWS && solvedWhole < whole) solvedWhole++;
    else solveProblem(p);
  }
}

/** Record i of an eigSymBatch table. */
function problemAt(problems: usize, i: i32): EigProblem {
  return changetype<EigProblem>(problems + <usize>i * offsetof<EigProblem>());
}

/** The g-th problem of at least SPLIT_MIN_ROWS rows. */
function nthLarge(count: i32, problems: usize, g: i32): EigProblem {
  let seen = 0;
  for (let i = 0; i < count; i++) {
    const p = problemAt(problems, i);
    if (p.n >= SPLIT_MIN_ROWS && seen++ == g) return p;
  }
  return unreachable();
}

function solveProblem(p: EigProblem): void {
  p.status = eigSym(p.n, p.a, p.lda, p.w, p.z, p.work, p.workBytes);
}

/**
 * Stage 3 by implicit QL: the tridiagonal (d, e; e destroyed) becomes its
 * eigenvalues, ascending in d, and the rows of z (n x n, contiguous, Q^T on
 * entry) the eigenvectors. strip: n x 8 doubles; log: logBytes >= 24(n + 2)
 * bytes for the rotation log (its size does not change the result).
 * Also solves the leaves of the divide and conquer (tridiag-dc.ts) with z = I.
 */
export function qlEigen(n: i32, d: usize, e: usize, z: usize, strip: usize, log: usize, logBytes: i32): i32 {
  const ld = <usize>n << 3;
  const rotCap = logBytes / 24 - 2;
  const sweepCap = rotCap / 2 + 1;
  const sweeps = log;
  const rot = log + (<usize>sweepCap << 4);
  // Implicit QL (tql2), logging rotations.
  const eps: f64 = 2.220446049250313e-16;
  let f: f64 = 0, tst1: f64 = 0;
  let nSweeps = 0, nRot = 0;
  for (let l = 0; l < n; l++) {
    tst1 = max(tst1, abs(load<f64>(at(d, l))) + abs(load<f64>(at(e, l))));
    let m = l;
    while (m < n - 1) {
      if (abs(load<f64>(at(e, m))) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > MAX_ITER) return EIG_NO_CONVERGENCE;
        let g = load<f64>(at(d, l));
        const el = load<f64>(at(e, l));
        let p = (load<f64>(at(d, l + 1)) - g) / (2 * el);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        store<f64>(at(d, l), el / (p + r));
        store<f64>(at(d, l + 1), el * (p + r));
        const dl1 = load<f64>(at(d, l + 1));
        let h = g - load<f64>(at(d, l));
        for (let i = l + 2; i < n; i++) store<f64>(at(d, i), load<f64>(at(d, i)) - h);
        f += h;
        // Room for this sweep's rotations, else replay and empty the log.
        if (nRot + (m - l) > rotCap || nSweeps + 1 > sweepCap) {
          replay(n, z, sweeps, nSweeps, rot, strip);
          nSweeps = 0;
          nRot = 0;
        }
        store<f64>(sweeps + (<usize>nSweeps << 4), <f64>l);
        store<f64>(sweeps + (<usize>nSweeps << 4), <f64>m, 8);
        nSweeps++;
        p = load<f64>(at(d, m));
        let c: f64 = 1, c2: f64 = 1, c3: f64 = 1, s: f64 = 0, s2: f64 = 0;
        const el1 = load<f64>(at(e, l + 1));
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          const ei = load<f64>(at(e, i));
          const di = load<f64>(at(d, i));
          g = c * ei;
          h = c * p;
          r = hypot(p, ei);
          store<f64>(at(e, i + 1), s * r);
          s = ei / r;
          c = p / r;
          p = c * di - s * g;
          store<f64>(at(d, i + 1), h + s * (c * g + s * di));
          const slot = rot + (<usize>nRot << 4);
          store<f64>(slot, c);
          store<f64>(slot, s, 8);
          nRot++;
        }
        p = -s * s2 * c3 * el1 * load<f64>(at(e, l)) / dl1;
        store<f64>(at(e, l), s * p);
        store<f64>(at(d, l), c * p);
      } while (abs(load<f64>(at(e, l))) > eps * tst1);
    }
    store<f64>(at(d, l), load<f64>(at(d, l)) + f);
    store<f64>(at(e, l), 0);
  }
  replay(n, z, sweeps, nSweeps, rot, strip);

  // Ascending order (selection sort: n row swaps, O(n^2) moves).
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let best = load<f64>(at(d, i));
    for (let j = i + 1; j < n; j++) {
      const v = load<f64>(at(d, j));
      if (v < best) {
        k = j;
        best = v;
      }
    }
    if (k != i) {
      store<f64>(at(d, k), load<f64>(at(d, i)));
      store<f64>(at(d, i), best);
      const ri = z + <usize>i * ld, rk = z + <usize>k * ld;
      let j = 0;
      for (; j + 2 <= n; j += 2) {
        const o = <usize>j << 3;
        const t = v128.load(ri + o);
        v128.store(ri + o, v128.load(rk + o));
        v128.store(rk + o, t);
      }
      if (j < n) {
        const t = load<f64>(at(ri, j));
        store<f64>(at(ri, j), load<f64>(at(rk, j)));
        store<f64>(at(rk, j), t);
      }
    }
  }
  return EIG_OK;
}
