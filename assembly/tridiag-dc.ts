// Stage 3 of the f64 eigensolver for large n: the eigenvectors of the
// symmetric tridiagonal T by Cuppen's divide and conquer, as LAPACK's dstedc
// (dlaed0 .. dlaed4), then the back-transform to A's eigenvectors as one GEMM.
//
// T is torn into blocks of at most LEAF rows by rank-one corrections at the
// cuts (T = diag(T1, T2) + |e| v v^T, v = e_last + sign(e) e_first); each leaf
// is solved by the QL code of eig.ts, and sibling blocks are merged bottom-up.
// A merge solves D + rho z z^T, with D the children's eigenvalues and z the
// last row of Q1 and first row of Q2 stacked:
//   - deflation (dlaed2's tolerance 8 eps max(|d|, |z|)): components with
//     rho |z_i| <= tol keep their eigenpair; two eigenvalues closer than the
//     tolerance are decoupled by a Givens rotation of their eigenvectors;
//   - the secular equation 1/rho + sum z_j^2/(d_j - lambda) = 0, one root at a
//     time, in the coordinate tau = lambda - d_origin with the origin at the
//     nearer pole, so that every delta_j = d_j - lambda is computed as
//     (d_j - d_origin) - tau (dlaed4's 'middle way' iteration on a bracket that
//     every step shrinks; bisection when a step would leave it, so it always
//     converges);
//   - z recomputed from the roots by the Loewner formula (Gu and Eisenstat),
//     which makes the computed eigenvectors z_i / delta_i of the merged block
//     orthogonal to working precision however close the roots are;
//   - the children's eigenvectors times those of the merge as GEMMs (gemm64).
//     As dlaed2 does, eigenvectors still confined to one child's rows are kept
//     apart from the mixed ones so that the products skip the zero blocks.
// Eigenvectors are stored as ROWS throughout (so are the outputs of eig.ts):
// a block's row r holds its r-th eigenvector, and a merge is
// S_new = U^T [Q1 rows; Q2 rows]. T is first scaled by a power of two (exact)
// to entries below 2. When T is diagonal no merge mixes anything, S is a
// permutation, and z's rows are permuted instead of multiplied.
//
// Threads: the GEMMs (gemm64's row bands) and each large merge's secular stage
// (bands of roots, of Loewner's z entries, of eigenvectors) are split between
// the kernel threads; every entry is computed by the same operations on any
// thread, so the result does not depend on the thread count. The rest
// (leaves, deflation, packing) stays on the calling thread.

import { gemm64, gemm64WorkspaceBytes } from "./gemm64";
import { qlEigen, EIG_OK, JOB_SECULAR } from "./eig";
import { availableThreads, jobRecord, runJob } from "./threads";

// Blocks of at most this many rows are solved by QL.
// @ts-ignore: decorator
@inline const LEAF: i32 = 32;
// Secular-equation iterations before plain bisection takes over, and in all.
// @ts-ignore: decorator
@inline const RATIONAL_STEPS: i32 = 40;
// @ts-ignore: decorator
@inline const MAX_STEPS: i32 = 400;

const EPS: f64 = 2.220446049250313e-16;

// Merges with fewer non-deflated eigenvalues keep their secular stage on one thread.
// @ts-ignore: decorator
@inline const SECULAR_SPLIT_MIN: i32 = 64;
// The phases of a merge's secular stage (secularPhase).
// @ts-ignore: decorator
@inline const PHASE_ROOTS: i32 = 0;
// @ts-ignore: decorator
@inline const PHASE_ZHAT: i32 = 1;
// @ts-ignore: decorator
@inline const PHASE_VECTORS: i32 = 2;

// Bytes at the start of the workspace for the Workspace record itself.
// @ts-ignore: decorator
@inline const HEADER: usize = 256;

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

// @ts-ignore: decorator
@inline function ati(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

function roundUp16(bytes: usize): usize {
  return (bytes + 15) & ~(<usize>15);
}

/** Bytes of workspace tridiagEigenDc needs at size n. */
export function tridiagDcWorkspaceBytes(n: i32): i32 {
  const nn = roundUp16(<usize>n * <usize>n * 8);
  const vec = roundUp16(<usize>n * 8);
  const ints = roundUp16(<usize>n * 4);
  const gemm = roundUp16(<usize>gemm64WorkspaceBytes());
  const total: usize = 16 + HEADER + 3 * nn + gemm + 6 * vec + 7 * ints;
  return <i32>total;
}

/**
 * Eigen-decomposition of the symmetric tridiagonal T (d[i] = T[i][i],
 * e[i] = T[i][i+1], e destroyed) combined with the rows of z (n x n, holding
 * Q^T of A = Q T Q^T): on return d holds the eigenvalues ascending and row j of
 * z the eigenvector of A for d[j]. Returns EIG_OK or eig.ts's
 * EIG_NO_CONVERGENCE (from a leaf's QL).
 */
export function tridiagEigenDc(n: i32, d: usize, e: usize, z: usize, work: usize): i32 {
  // Scale T by a power of two (exact) to max |entry| in [1, 2): the secular
  // equation's sums then neither overflow nor underflow.
  let big: f64 = 0;
  for (let i = 0; i < n; i++) {
    big = max(big, abs(load<f64>(at(d, i))));
    if (i < n - 1) big = max(big, abs(load<f64>(at(e, i))));
  }
  if (big == 0) return EIG_OK; // T = 0: every vector is an eigenvector, z (= Q^T) included.
  const exponent = <i64>min(max(Math.floor(Math.log2(big)), -1022), 1023);
  const scale = reinterpret<f64>(<u64>(exponent + 1023) << 52);
  const inv = 1 / scale;
  for (let i = 0; i < n; i++) {
    store<f64>(at(d, i), load<f64>(at(d, i)) * inv);
    store<f64>(at(e, i), i < n - 1 ? load<f64>(at(e, i)) * inv : 0);
  }
  const ws = changetype<Workspace>(roundUp16(work)); // the record lives in the workspace: kernels never allocate
  ws.carve(n, changetype<usize>(ws) + HEADER);
  ws.mixed = false;
  const status = solveBlock(ws, d, e, 0, n);
  if (status != EIG_OK) return status;

  // Ascending order: sort the eigenvalues, gather S's rows in that order (into
  // dl), then z <- S_sorted Q^T with Q^T copied out of z.
  const order = ws.idx;
  sortIndex(n, d, order);
  const dSorted = ws.tmp;
  const ld = <usize>n << 3;
  for (let r = 0; r < n; r++) store<f64>(at(dSorted, r), load<f64>(at(d, load<i32>(ati(order, r)))) * scale);
  memory.copy(d, dSorted, ld);
  if (!ws.mixed) {
    // S is a permutation (T was diagonal, as for G = I): permute z's rows instead of the GEMM.
    for (let r = 0; r < n; r++) {
      const row = ws.s + <usize>load<i32>(ati(order, r)) * ld;
      let c = 0;
      while (load<f64>(at(row, c)) != 1) c++;
      memory.copy(ws.qp + <usize>r * ld, z + <usize>c * ld, ld);
    }
    memory.copy(z, ws.qp, <usize>n * ld);
    return EIG_OK;
  }
  for (let r = 0; r < n; r++) memory.copy(ws.dl + <usize>r * ld, ws.s + <usize>load<i32>(ati(order, r)) * ld, ld);
  memory.copy(ws.qp, z, <usize>n * ld);
  gemm64(0, n, n, n, 1, ws.dl, n, ws.qp, n, 0, z, n, ws.gemm);
  return EIG_OK;
}

/** Carves tridiagEigenDc's workspace (see tridiagDcWorkspaceBytes). */
@unmanaged class Workspace {
  n: i32;
  s: usize;      // n x n: block-diagonal eigenvectors (rows) of the blocks solved so far
  qp: usize;     // n x n: a merge's packed children's eigenvectors; a leaf's QL log
  dl: usize;     // n x n: a merge's deltas, then U^T; a leaf's eigenvectors
  gemm: usize;   // gemm64's packing buffers
  zv: usize;     // the merge's z
  zhat: usize;   // Loewner's z
  tmp: usize;    // one row of scratch
  dlam: usize;   // the non-deflated eigenvalues, ascending
  zz: usize;     // their z components
  idx: usize;    // i32 x n: ascending order of a block's eigenvalues
  keep: usize;   // i32 x n: the non-deflated rows, ascending
  drop: usize;   // i32 x n: the deflated rows
  kind: usize;   // i32 x n: 1 = nonzero in the top child's columns only, 3 = bottom only, 2 = both
  packed: usize; // i32 x n: non-deflated rows grouped by kind (1, 2, 3)
  pos: usize;    // i32 x n: position in `packed` of keep[i]
  org: usize;    // i32 x n: the pole nearer to each root
  tau: usize;    // each root's offset from that pole
  mixed: bool;   // some leaf or merge mixed S's rows (else S is a permutation of I)
  k: i32;        // the merge's non-deflated count
  rho: f64;      // and its rank-one weight

  carve(n: i32, work: usize): void {
    this.n = n;
    const nn = roundUp16(<usize>n * <usize>n * 8);
    const vec = roundUp16(<usize>n * 8);
    const ints = roundUp16(<usize>n * 4);
    let p = work;
    this.s = p; p += nn;
    this.qp = p; p += nn;
    this.dl = p; p += nn;
    this.gemm = p; p += roundUp16(<usize>gemm64WorkspaceBytes());
    this.zv = p; p += vec;
    this.zhat = p; p += vec;
    this.tmp = p; p += vec;
    this.dlam = p; p += vec;
    this.zz = p; p += vec;
    this.idx = p; p += ints;
    this.keep = p; p += ints;
    this.drop = p; p += ints;
    this.kind = p; p += ints;
    this.packed = p; p += ints;
    this.pos = p; p += ints;
    this.org = p; p += ints;
    this.tau = p;
  }
}

/**
 * Eigenpairs of T's rows lo..hi-1 (already torn at both ends): eigenvalues in
 * d[lo..hi) (any order), eigenvectors in the rows lo..hi-1 of ws.s,
 * columns lo..hi-1, in the same order.
 */
function solveBlock(ws: Workspace, d: usize, e: usize, lo: i32, hi: i32): i32 {
  const m = hi - lo;
  if (m <= LEAF) return solveLeaf(ws, d, e, lo, hi);
  const mid = lo + (m >> 1);
  // Tear: T = diag(T1 - |b| e_last e_last^T, T2 - |b| e_first e_first^T) + |b| v v^T.
  const b = load<f64>(at(e, mid - 1));
  store<f64>(at(d, mid - 1), load<f64>(at(d, mid - 1)) - abs(b));
  store<f64>(at(d, mid), load<f64>(at(d, mid)) - abs(b));
  let status = solveBlock(ws, d, e, lo, mid);
  if (status != EIG_OK) return status;
  status = solveBlock(ws, d, e, mid, hi);
  if (status != EIG_OK) return status;
  merge(ws, d, b, lo, mid, hi);
  return EIG_OK;
}

/** A leaf by QL (eig.ts) on an identity block, copied into ws.s. */
function solveLeaf(ws: Workspace, d: usize, e: usize, lo: i32, hi: i32): i32 {
  const m = hi - lo;
  const n = ws.n;
  const q = ws.dl; // m x m, contiguous
  for (let i = 0; i < m * m; i++) store<f64>(at(q, i), 0);
  for (let i = 0; i < m; i++) store<f64>(at(q, i * m + i), 1);
  const leafE = ws.tmp;
  for (let i = 0; i < m - 1; i++) store<f64>(at(leafE, i), load<f64>(at(e, lo + i)));
  store<f64>(at(leafE, m - 1), 0);
  // QL's replay strip (m x 8 doubles), then its rotation log, in qp.
  const strip = ws.qp;
  const log = strip + roundUp16(<usize>m << 6);
  const logBytes = <i32>(<usize>n * <usize>n * 8 - (log - ws.qp));
  const status = qlEigen(m, at(d, lo), leafE, q, strip, log, logBytes);
  if (status != EIG_OK) return status;
  for (let i = 0; i < m * m; i++) {
    const v = load<f64>(at(q, i));
    if (v != 0 && v != 1) ws.mixed = true;
  }
  const ld = <usize>n << 3;
  for (let r = 0; r < m; r++) memory.copy(ws.s + <usize>(lo + r) * ld + (<usize>lo << 3), q + (<usize>(r * m) << 3), <usize>m << 3);
  return EIG_OK;
}

/** order[0..m) <- indices of v[0..m) by ascending value, ties in index order (insertion sort: runs are mostly sorted). */
function sortIndex(m: i32, v: usize, order: usize): void {
  for (let i = 0; i < m; i++) {
    const x = load<f64>(at(v, i));
    let j = i;
    while (j > 0 && load<f64>(at(v, load<i32>(ati(order, j - 1)))) > x) {
      store<i32>(ati(order, j), load<i32>(ati(order, j - 1)));
      j--;
    }
    store<i32>(ati(order, j), i);
  }
}

/**
 * Merges the solved blocks lo..mid-1 and mid..hi-1 torn by the off-diagonal b:
 * the eigenpairs of the block lo..hi-1 replace them (same storage contract as
 * solveBlock; the non-deflated eigenvalues come first, ascending).
 */
function merge(ws: Workspace, d: usize, b: f64, lo: i32, mid: i32, hi: i32): void {
  const n = ws.n;
  const m = hi - lo, m1 = mid - lo, m2 = hi - mid;
  const ld = <usize>n << 3;
  const block = ws.s + <usize>lo * ld + (<usize>lo << 3); // row r, column c at block + r ld + 8c
  const dv = at(d, lo);
  // The children's eigenvectors are zero outside their own columns.
  for (let r = 0; r < m1; r++) memory.fill(block + <usize>r * ld + (<usize>m1 << 3), 0, <usize>m2 << 3);
  for (let r = m1; r < m; r++) memory.fill(block + <usize>r * ld, 0, <usize>m1 << 3);

  // z = [last entries of Q1's eigenvectors; sign(b) first entries of Q2's] / sqrt 2, rho = 2|b|.
  const zv = ws.zv;
  const sgn: f64 = b < 0 ? -1 : 1;
  const r2 = Math.SQRT1_2;
  for (let r = 0; r < m1; r++) store<f64>(at(zv, r), r2 * load<f64>(block + <usize>r * ld + (<usize>(m1 - 1) << 3)));
  for (let r = m1; r < m; r++) store<f64>(at(zv, r), sgn * r2 * load<f64>(block + <usize>r * ld + (<usize>m1 << 3)));
  const rho = 2 * abs(b);

  // Deflation (dlaed2).
  let zmax: f64 = 0, dmax: f64 = 0;
  for (let r = 0; r < m; r++) {
    zmax = max(zmax, abs(load<f64>(at(zv, r))));
    dmax = max(dmax, abs(load<f64>(at(dv, r))));
  }
  const tol = 8 * EPS * max(dmax, zmax);
  if (rho * zmax <= tol) return; // the coupling is negligible: the children's eigenpairs stand
  ws.mixed = true;
  const idx = ws.idx, keep = ws.keep, drop = ws.drop, kind = ws.kind;
  sortIndex(m, dv, idx);
  for (let r = 0; r < m; r++) store<i32>(ati(kind, r), r < m1 ? 1 : 3);
  let k = 0, nDrop = 0, pj = -1;
  for (let t = 0; t < m; t++) {
    const nj = load<i32>(ati(idx, t));
    const znj = load<f64>(at(zv, nj));
    if (rho * abs(znj) <= tol) {
      store<i32>(ati(drop, nDrop++), nj);
      continue;
    }
    if (pj < 0) {
      pj = nj;
      continue;
    }
    // Eigenvalues closer than the tolerance (weighted by c s): rotate z_pj into z_nj and let pj go.
    const zpj = load<f64>(at(zv, pj));
    const tau = Math.hypot(znj, zpj);
    const c = znj / tau, s = -zpj / tau;
    const gap = load<f64>(at(dv, nj)) - load<f64>(at(dv, pj));
    if (abs(gap * c * s) <= tol) {
      store<f64>(at(zv, nj), tau);
      store<f64>(at(zv, pj), 0);
      rotateRows(m, block + <usize>pj * ld, block + <usize>nj * ld, c, s);
      if (load<i32>(ati(kind, nj)) != load<i32>(ati(kind, pj))) store<i32>(ati(kind, nj), 2);
      const dp = load<f64>(at(dv, pj)), dn = load<f64>(at(dv, nj));
      store<f64>(at(dv, pj), dp * c * c + dn * s * s);
      store<f64>(at(dv, nj), dp * s * s + dn * c * c);
      store<i32>(ati(drop, nDrop++), pj);
    } else {
      store<i32>(ati(keep, k++), pj);
    }
    pj = nj;
  }
  if (pj >= 0) store<i32>(ati(keep, k++), pj);
  if (k == 1) {
    // One coupled eigenpair: rho z z^T only moves its eigenvalue (to d + rho z^2).
    const r = load<i32>(ati(keep, 0));
    const zr = load<f64>(at(zv, r));
    store<f64>(at(dv, r), load<f64>(at(dv, r)) + rho * zr * zr);
    return;
  }
  mergeSecular(ws, d, rho, lo, mid, hi, k, nDrop);
}

/**
 * The part of a merge after deflation: k >= 2 non-deflated rows (ws.keep,
 * ascending), nDrop deflated ones (ws.drop).
 */
function mergeSecular(ws: Workspace, d: usize, rho: f64, lo: i32, mid: i32, hi: i32, k: i32, nDrop: i32): void {
  const n = ws.n;
  const m = hi - lo, m1 = mid - lo, m2 = hi - mid;
  const ld = <usize>n << 3;
  const block = ws.s + <usize>lo * ld + (<usize>lo << 3);
  const dv = at(d, lo);
  const keep = ws.keep, drop = ws.drop, kind = ws.kind, packed = ws.packed, pos = ws.pos;
  const dlam = ws.dlam, zz = ws.zz, dl = ws.dl;
  for (let i = 0; i < k; i++) {
    const r = load<i32>(ati(keep, i));
    store<f64>(at(dlam, i), load<f64>(at(dv, r)));
    store<f64>(at(zz, i), load<f64>(at(ws.zv, r)));
  }
  ws.k = k;
  ws.rho = rho;
  // The roots, then Loewner's z, then the eigenvectors: each phase a band of
  // independent entries per thread, computed by the same operations on any.
  const threads = k >= SECULAR_SPLIT_MIN ? availableThreads() : 1;
  for (let phase = PHASE_ROOTS; phase <= PHASE_ZHAT; phase++) {
    if (threads > 1) postSecular(ws, phase);
    else secularPhase(ws, phase, 0, k);
  }
  // Non-deflated rows grouped by kind: kind 1 and 2 meet the top columns, 2 and 3 the bottom ones.
  let n1 = 0, n2 = 0;
  for (let i = 0; i < k; i++) {
    const t = load<i32>(ati(kind, load<i32>(ati(keep, i))));
    if (t == 1) n1++;
    else if (t == 2) n2++;
  }
  let p1 = 0, p2 = n1, p3 = n1 + n2;
  for (let i = 0; i < k; i++) {
    const r = load<i32>(ati(keep, i));
    const t = load<i32>(ati(kind, r));
    const p = t == 1 ? p1++ : t == 2 ? p2++ : p3++;
    store<i32>(ati(packed, p), r);
    store<i32>(ati(pos, i), p);
  }
  if (threads > 1) postSecular(ws, PHASE_VECTORS);
  else secularPhase(ws, PHASE_VECTORS, 0, k);
  // Pack out of the block: top columns of kinds 1, 2; bottom columns of kinds 2, 3; deflated rows whole.
  const qTop = ws.qp;
  const nTop = n1 + n2, nBot = k - n1;
  const qBot = qTop + (<usize>(nTop * m1) << 3);
  const qDrop = qBot + (<usize>(nBot * m2) << 3);
  for (let p = 0; p < nTop; p++) {
    memory.copy(qTop + (<usize>(p * m1) << 3), block + <usize>load<i32>(ati(packed, p)) * ld, <usize>m1 << 3);
  }
  for (let p = n1; p < k; p++) {
    memory.copy(qBot + (<usize>((p - n1) * m2) << 3), block + <usize>load<i32>(ati(packed, p)) * ld + (<usize>m1 << 3), <usize>m2 << 3);
  }
  for (let t = 0; t < nDrop; t++) {
    const r = load<i32>(ati(drop, t));
    memory.copy(qDrop + (<usize>(t * m) << 3), block + <usize>r * ld, <usize>m << 3);
    store<f64>(at(ws.zv, t), load<f64>(at(dv, r))); // zv is free now: the deflated eigenvalues
  }
  // Rows 0..k-1: U^T times the packed eigenvectors; then the deflated rows.
  gemm64(0, k, m1, nTop, 1, dl, k, qTop, m1, 0, block, n, ws.gemm);
  gemm64(0, k, m2, nBot, 1, dl + (<usize>n1 << 3), k, qBot, m2, 0, block + (<usize>m1 << 3), n, ws.gemm);
  for (let j = 0; j < k; j++) store<f64>(at(dv, j), load<f64>(at(dlam, load<i32>(ati(ws.org, j)))) + load<f64>(at(ws.tau, j)));
  for (let t = 0; t < nDrop; t++) {
    memory.copy(block + <usize>(k + t) * ld, qDrop + (<usize>(t * m) << 3), <usize>m << 3);
    store<f64>(at(dv, k + t), load<f64>(at(ws.zv, t)));
  }
}

/** The arguments of a JOB_SECULAR job. */
@unmanaged class SecularJob {
  phase: i32; ws: Workspace;
}

/** Runs one secular phase on every kernel thread. */
function postSecular(ws: Workspace, phase: i32): void {
  const job = jobRecord<SecularJob>();
  job.phase = phase; job.ws = ws;
  runJob(JOB_SECULAR, 0);
}

/** Share `tid` of `threads` of a JOB_SECULAR job. */
export function secularShare(args: usize, tid: i32, threads: i32): void {
  const job = changetype<SecularJob>(args);
  const ws = job.ws, k = ws.k;
  secularPhase(ws, job.phase, <i32>(<i64>k * tid / threads), <i32>(<i64>k * (tid + 1) / threads));
}

/**
 * One phase of a merge's secular stage for entries j0..j1-1 of ws.k (the
 * non-deflated eigenvalues ws.dlam ascending, their z in ws.zz, ws.rho):
 * PHASE_ROOTS: root j as its nearer pole ws.org[j] and offset ws.tau[j];
 * PHASE_ZHAT: Loewner's zhat_i^2 = -prod_j delta_ij / prod_{j != i} (d_i - d_j);
 * PHASE_VECTORS: row j of U^T in ws.dl (k x k), the unit vector zhat_i / delta_ij,
 * entry i stored at column ws.pos[i].
 * delta_ij = d_i - lambda_j is always (d_i - d_org[j]) - tau_j: accurate
 * however close lambda_j is to d_i, and the same wherever it is computed.
 */
function secularPhase(ws: Workspace, phase: i32, j0: i32, j1: i32): void {
  const k = ws.k;
  const dlam = ws.dlam, zz = ws.zz, zhat = ws.zhat, org = ws.org, tau = ws.tau;
  if (phase == PHASE_ROOTS) {
    for (let j = j0; j < j1; j++) store<f64>(at(tau, j), secularRoot(k, j, dlam, zz, ws.rho, ati(org, j)));
  } else if (phase == PHASE_ZHAT) {
    for (let i = j0; i < j1; i++) {
      const di = load<f64>(at(dlam, i));
      let w = (di - load<f64>(at(dlam, load<i32>(ati(org, i))))) - load<f64>(at(tau, i));
      for (let j = 0; j < k; j++) {
        if (j == i) continue;
        const delta = (di - load<f64>(at(dlam, load<i32>(ati(org, j))))) - load<f64>(at(tau, j));
        w *= delta / (di - load<f64>(at(dlam, j)));
      }
      store<f64>(at(zhat, i), copysign<f64>(Math.sqrt(-w), load<f64>(at(zz, i))));
    }
  } else {
    const pos = ws.pos;
    for (let j = j0; j < j1; j++) {
      const row = ws.dl + <usize>j * (<usize>k << 3);
      const dOrg = load<f64>(at(dlam, load<i32>(ati(org, j)))), tj = load<f64>(at(tau, j));
      let ss: f64 = 0;
      for (let i = 0; i < k; i++) {
        const v = load<f64>(at(zhat, i)) / ((load<f64>(at(dlam, i)) - dOrg) - tj);
        store<f64>(at(row, load<i32>(ati(pos, i))), v);
        ss += v * v;
      }
      const inv = 1 / Math.sqrt(ss);
      for (let i = 0; i < k; i++) store<f64>(at(row, i), load<f64>(at(row, i)) * inv);
    }
  }
}

/** (x, y) <- (c x + s y, c y - s x) over len entries (LAPACK's drot). */
function rotateRows(len: i32, x: usize, y: usize, c: f64, s: f64): void {
  for (let i = 0; i < len; i++) {
    const a = load<f64>(at(x, i)), b = load<f64>(at(y, i));
    store<f64>(at(x, i), c * a + s * b);
    store<f64>(at(y, i), c * b - s * a);
  }
}

/**
 * Root i of the secular equation 1/rho + sum_j z_j^2 / (d_j - lambda) = 0
 * (k >= 2 poles d ascending and distinct, every z_j != 0, rho > 0): lambda_i
 * lies in (d_i, d_{i+1}), or (d_{k-1}, d_{k-1} + rho z^T z] for the last.
 * Returns lambda_i - d_origin with the origin the pole nearer to lambda_i,
 * whose index goes to *originOut.
 */
function secularRoot(k: i32, i: i32, d: usize, z: usize, rho: f64, originOut: usize): f64 {
  const rhoInv = 1 / rho;
  const last = i == k - 1;
  // p, q: the poles either side of the root, modelled exactly by each step.
  const p = last ? k - 2 : i, q = p + 1;
  const dp = load<f64>(at(d, p)), dq = load<f64>(at(d, q));
  const gap = dq - dp;
  const zp2 = load<f64>(at(z, p)) * load<f64>(at(z, p)), zq2 = load<f64>(at(z, q)) * load<f64>(at(z, q));
  let origin: i32, lo: f64, hi: f64, guess: f64;
  if (!last) {
    // Which half of (d_i, d_{i+1}) holds the root: the sign of f at the middle.
    const half = gap / 2;
    const c = rhoInv + otherTerms(k, p, q, d, z, dp + half);
    if (c - zp2 / half + zq2 / half >= 0) {
      origin = p; lo = 0; hi = half;
      // c + zp2/(-tau) + zq2/(gap - tau) = 0  <=>  c tau^2 - (c gap + zp2 + zq2) tau + zp2 gap = 0
      guess = quadraticRootIn(c, -(c * gap + zp2 + zq2), zp2 * gap, lo, hi);
    } else {
      origin = q; lo = -half; hi = 0;
      // c + zp2/(-gap - tau) + zq2/(-tau) = 0  <=>  c tau^2 + (c gap - zp2 - zq2) tau - zq2 gap = 0
      guess = quadraticRootIn(c, c * gap - zp2 - zq2, -zq2 * gap, lo, hi);
    }
  } else {
    let zz: f64 = 0;
    for (let j = 0; j < k; j++) zz += load<f64>(at(z, j)) * load<f64>(at(z, j));
    origin = q; lo = 0; hi = rho * zz;
    const c = rhoInv + otherTerms(k, p, q, d, z, dq + hi / 2);
    guess = quadraticRootIn(c, c * gap - zp2 - zq2, -zq2 * gap, lo, hi);
  }
  const dOrigin = load<f64>(at(d, origin));
  let tau = guess;
  for (let iter = 0; ; iter++) {
    let psi: f64 = 0, dpsi: f64 = 0, phi: f64 = 0, dphi: f64 = 0, size: f64 = 0;
    let ddp: f64 = 0, ddq: f64 = 0;
    for (let j = 0; j < k; j++) {
      const dj = (load<f64>(at(d, j)) - dOrigin) - tau;
      if (j == p) ddp = dj;
      if (j == q) ddq = dj;
      const t = load<f64>(at(z, j)) / dj;
      const term = load<f64>(at(z, j)) * t;
      size += abs(term);
      if (j <= p) {
        psi += term;
        dpsi += t * t;
      } else {
        phi += term;
        dphi += t * t;
      }
    }
    const w = rhoInv + psi + phi;
    // dlaed4's bound on the rounding error of w.
    if (abs(w) <= EPS * (8 * size + 2 * rhoInv + 3 * abs(tau) * (dpsi + dphi))) break;
    if (iter >= MAX_STEPS) break;
    if (w < 0) lo = max(lo, tau);
    else hi = min(hi, tau);
    let next = (lo + hi) / 2;
    if (iter < RATIONAL_STEPS) {
      // The middle way: c + s_p/(delta_p - eta) + s_q/(delta_q - eta) = 0 with
      // the pole weights matching psi' and phi'.
      const c = w - ddp * dpsi - ddq * dphi;
      const a = (ddp + ddq) * w - ddp * ddq * (dpsi + dphi);
      const bb = ddp * ddq * w;
      let eta: f64;
      if (c == 0) eta = bb / a;
      else if (a <= 0) eta = (a - Math.sqrt(abs(a * a - 4 * bb * c))) / (2 * c);
      else eta = 2 * bb / (a + Math.sqrt(abs(a * a - 4 * bb * c)));
      // Newton if the step points the wrong way (f is increasing).
      if (!(w * eta < 0)) eta = -w / (dpsi + dphi);
      const step = tau + eta;
      if (step > lo && step < hi) next = step;
    }
    // The bracket cannot be split any further: tau is as good as it gets.
    if (!(next > lo && next < hi) || next == tau) break;
    tau = next;
  }
  store<i32>(originOut, origin);
  return tau;
}

/** 1/(d_j - lambda) z_j^2 summed over j other than p and q. */
function otherTerms(k: i32, p: i32, q: i32, d: usize, z: usize, lambda: f64): f64 {
  let s: f64 = 0;
  for (let j = 0; j < k; j++) {
    if (j == p || j == q) continue;
    const zj = load<f64>(at(z, j));
    s += zj * zj / (load<f64>(at(d, j)) - lambda);
  }
  return s;
}

/** A root of a x^2 + b x + c = 0 strictly inside (lo, hi), else the middle of the interval. */
function quadraticRootIn(a: f64, b: f64, c: f64, lo: f64, hi: f64): f64 {
  const middle = (lo + hi) / 2;
  if (a == 0) {
    const x = -c / b;
    return x > lo && x < hi ? x : middle;
  }
  const disc = b * b - 4 * a * c;
  if (!(disc >= 0)) return middle;
  const h = -(b + copysign<f64>(Math.sqrt(disc), b)) / 2;
  const x1 = h / a, x2 = c / h;
  if (x1 > lo && x1 < hi) return x1;
  if (x2 > lo && x2 < hi) return x2;
  return middle;
}
