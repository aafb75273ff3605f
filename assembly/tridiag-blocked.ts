// Blocked stages 1 and 2 of the f64 eigensolver (assembly/eig.ts), as LAPACK's
// dsytrd/dlatrd and dorgtr/dorgqr do them, for matrices large enough that
// GEMM speed pays for the blocking.
//
// Memory is row-major and the matrix symmetric, so row k of the array is also
// column k: "reflector k in row k, right of the diagonal" (eig.ts's layout)
// is LAPACK's lower-triangle layout seen column-major, and every vector below
// is a contiguous row.
//
// Stage 1, a panel of NB columns at a time: each column is brought up to date
// with the panel's earlier reflectors (V) and their companion vectors (W)
// before its reflector is taken, and W's column needs one pass over the
// trailing matrix (the symmetric matrix-vector product, BLAS-2: half of the
// flops). The other half, the trailing matrix's rank-2 updates, becomes one
// rank-2NB update A -= V W^T + W V^T per panel, a SYR2K of our own (syr2k):
// gemm64's 4 x 4 tile kernel on [V -W V] packed once per panel, the lower
// triangle split between threads in bands of equal area, each band mirroring
// its own rows. gemm64 in lower mode did the same flops, but its passes over
// C before splitting (scaling by beta, even 1) and after it (the mirror) ran
// on one thread.
//
// The matrix-vector product reads the upper triangle only (row i from the
// diagonal: one dot for y[i], one axpy into y[i+1..]), so each entry is read
// once. Its rows are cut into SYMV_BANDS fixed bands of equal area, each
// summing into its own vector, and the band vectors are added in band order:
// the cut depends on the size alone, so the result is bit-identical for any
// thread count (threads take whole bands).
//
// Stage 2 applies the same columns' reflectors WY at a time in LAPACK's
// compact WY form (accumulatePanels): GEMMs instead of WY/4 memory-bound
// passes over the rows.

import { madd64 } from "./simd";
import { dot } from "./dot64";
import { at, axpy, axpy4, dot4, dot4Out0, dot4Out1, dot4Out2, dot4Out3, identityBlock, rank2Row, reflector, JOB_SYMV, JOB_SYR2K, SPLIT_MIN_ROWS } from "./eig";
import { gemm64, gemm64WorkspaceBytes, kernel4x4, G64_TRANS_B } from "./gemm64";
import { availableThreads, jobRecord, runJob, triangleBand } from "./threads";

/** Panel width: reflectors per rank-2NB update. */
// @ts-ignore: decorator
@inline export const NB: i32 = 32;
/** Reflectors per WY block of stage 2 (64 and 128, deeper GEMMs, measured no faster at n = 512). */
// @ts-ignore: decorator
@inline export const WY: i32 = 32;
/** Panels run while the trailing matrix after them has at least this many rows. */
// @ts-ignore: decorator
@inline export const BLOCK_MIN: i32 = 128;
// @ts-ignore: decorator
@inline const SYMV_BANDS: i32 = 4;

/** True when the blocked stages are used at size n. */
export function blockedUseful(n: i32): bool {
  return n - NB >= BLOCK_MIN;
}

/** Scratch bytes of the blocked stages at size n: W's rows, the band vectors, gemm64's workspace or the packed panel. */
export function blockedScratchBytes(n: i32): i32 {
  return gemmWorkOffset(n) + max(gemm64WorkspaceBytes(), packedBytes(n));
}

/** Bytes of the packed panel: [V W V] in tiles of 4 rows, depth-major. */
function packedBytes(n: i32): i32 {
  return ((n + 3) & ~3) * 3 * NB * 8;
}

/** Byte offset in the scratch of gemm64's workspace (or the packed panel), after W's rows, the SYMV bands and 2 NB coefficients. */
function gemmWorkOffset(n: i32): i32 {
  return (rowsDoubles(n) + SYMV_BANDS * n + 2 * NB) * 8;
}

/** Doubles of the region holding stage 1's W, later stage 2's V, T, X and Y. */
function rowsDoubles(n: i32): i32 {
  return max(NB * rowLd(n), WY * rowLd(n) + WY * WY + 2 * n * WY);
}

/** Columns (and reflectors) that the blocked stages handle at size n: whole panels while blocking pays. */
export function blockedColumns(n: i32): i32 {
  return blockedUseful(n) ? NB * ((n - NB - BLOCK_MIN) / NB + 1) : 0;
}

/** Row length of the W rows and of stage 2's V in doubles: not a power of two, so walks down their columns spread over the cache sets. */
function rowLd(n: i32): i32 {
  return n + 4;
}

/**
 * Stage 1 for columns k0 = 0, NB, 2NB, ... while blocking pays: d, e, tau and
 * the reflectors exactly as eig.ts's tridiagonalise leaves them, and the
 * trailing matrix from the returned column on updated (both triangles), for
 * the unblocked code to finish. scratch: blockedScratchBytes(n) bytes.
 */
export function tridiagonalisePanels(n: i32, z: usize, d: usize, e: usize, tau: usize, scratch: usize): i32 {
  const ld = <usize>n << 3;
  const ldS = rowLd(n);
  const w = scratch; // W: NB rows of ldS doubles
  const bands = w + <usize>rowsDoubles(n) * 8;
  const coef = bands + <usize>SYMV_BANDS * ld;
  const packed = scratch + <usize>gemmWorkOffset(n); // gemm64's place: stage 1 has no other use for it
  const k1 = blockedColumns(n);
  let k0 = 0;
  for (; k0 < k1; k0 += NB) {
    const m = n - k0;
    const base = z + <usize>k0 * ld + (<usize>k0 << 3); // trailing (0, 0)
    panel(m, ld, base, at(d, k0), at(e, k0), at(tau, k0), w, <usize>ldS << 3, bands, coef);
    // A22 -= V W^T + W V^T, V and W from column NB on.
    const rest = m - NB;
    packPanel(rest, at(base, NB), ld, at(w, NB), <usize>ldS << 3, packed);
    syr2k(rest, base + <usize>NB * ld + (<usize>NB << 3), ld, packed);
  }
  return k0;
}

/**
 * Packs rows 0..s-1 of [V -W V] (V_p = v + p ldv, W_p = w + p ldw, p < NB,
 * bytes) into `packed`: tiles of 4 rows, within a tile depth p = 0..3NB-1, 4
 * doubles per depth (zero past row s), gemm64's packed layout. [V -W] is a
 * tile's first 2NB depths, [-W V] its last 2NB: their product, added by
 * gemm64's tile kernel, is -(V W^T + W V^T).
 */
function packPanel(s: i32, v: usize, ldv: usize, w: usize, ldw: usize, packed: usize): void {
  for (let i0 = 0; i0 < s; i0 += 4) {
    let dst = packed + <usize>(i0 >> 2) * <usize>(3 * NB * 32);
    for (let p = 0; p < 3 * NB; p++) {
      const isW = p >= NB && p < 2 * NB;
      const src = isW ? w + <usize>(p - NB) * ldw : v + <usize>(p % NB) * ldv;
      for (let r = 0; r < 4; r++) {
        const x = i0 + r < s ? load<f64>(at(src, i0 + r)) : 0;
        store<f64>(at(dst, r), isW ? -x : x);
      }
      dst += 32;
    }
  }
}

/**
 * C -= V W^T + W V^T on the lower triangle of the s x s matrix C (leading
 * dimension ldc bytes), mirrored to the upper, from the tiles of packPanel. 4 x 4
 * tiles as in gemm64, but no pass over C before or after: rows of tiles are
 * split between the kernel threads in bands of equal area, and each band
 * mirrors its own rows, which no other band reads or writes. Every entry is
 * computed by the same code whoever computes it.
 */
function syr2k(s: i32, c: usize, ldc: usize, packed: usize): void {
  const threads = s >= SPLIT_MIN_ROWS ? availableThreads() : 1;
  if (threads > 1) {
    const job = jobRecord<Syr2kJob>();
    job.s = s; job.c = c; job.ldc = ldc; job.packed = packed;
    runJob(JOB_SYR2K, 0);
  } else {
    syr2kRows(s, c, ldc, packed, 0, s);
  }
}

/** The arguments of a JOB_SYR2K job. */
@unmanaged class Syr2kJob {
  s: i32; c: usize; ldc: usize; packed: usize;
}

/** Share `tid` of `threads` of a JOB_SYR2K job. */
export function syr2kShare(args: usize, tid: i32, threads: i32): void {
  const job = changetype<Syr2kJob>(args);
  const s = job.s;
  const i0 = triangleBand(s, tid, threads, 4), i1 = triangleBand(s, tid + 1, threads, 4);
  if (i1 > i0) syr2kRows(s, job.c, job.ldc, job.packed, i0, i1);
}

/** Rows i0..i1-1 (i0 a multiple of 4) of syr2k: whole 4 x 4 tiles, the last s mod 4 rows entry by entry, then the mirror. */
function syr2kRows(s: i32, c: usize, ldc: usize, packed: usize, i0: i32, i1: i32): void {
  const tileBytes = <usize>(3 * NB * 32), depthBytes = <usize>(2 * NB * 32), bOffset = <usize>(NB * 32);
  const whole = s & ~3;
  for (let i = i0; i + 4 <= min(i1, whole); i += 4) {
    const pa = packed + <usize>(i >> 2) * tileBytes;
    for (let j = 0; j <= i; j += 4) {
      const pb = packed + <usize>(j >> 2) * tileBytes + bOffset;
      kernel4x4(2 * NB, pa, pb, c + <usize>i * ldc + (<usize>j << 3), <i32>(ldc >> 3));
    }
  }
  for (let i = max(i0, whole); i < i1; i++) {
    const pa = packed + <usize>(i >> 2) * tileBytes + (<usize>(i & 3) << 3);
    for (let j = 0; j <= i; j++) {
      const pb = packed + <usize>(j >> 2) * tileBytes + bOffset + (<usize>(j & 3) << 3);
      let sum: f64 = 0;
      for (let q: usize = 0; q < depthBytes; q += 32) sum += load<f64>(pa + q) * load<f64>(pb + q);
      const e = c + <usize>i * ldc + (<usize>j << 3);
      store<f64>(e, load<f64>(e) + sum);
    }
  }
  // The mirror, in 16 x 16 blocks: a plain column walk would write rows
  // 4 KiB apart at n = 512, all into the same few cache sets.
  for (let ib = i0; ib < i1; ib += 16) {
    const iEnd = min(i1, ib + 16);
    for (let jb = 0; jb < iEnd; jb += 16) {
      for (let j = jb; j < min(jb + 16, iEnd); j++) {
        const dst = c + <usize>j * ldc;
        for (let i = max(ib, j + 1); i < iEnd; i++) store<f64>(at(dst, i), load<f64>(c + <usize>i * ldc + (<usize>j << 3)));
      }
    }
  }
}

/**
 * One panel (dlatrd, lower): reflectors 0..NB-1 of the m x m trailing matrix at
 * `base` (leading dimension ld bytes), W's columns to rows of wBase (ldS bytes apart, in
 * trailing coordinates). Only the panel's own rows are written in z.
 */
function panel(m: i32, ld: usize, base: usize, d: usize, e: usize, tau: usize, wBase: usize, ldS: usize,
  bands: usize, coef: usize): void {
  const ca = coef, cb = coef + (<usize>NB << 3);
  for (let c = 0; c < NB; c++) {
    const row = base + <usize>c * ld;
    // Column c (= row c) from the diagonal on, with the earlier reflectors
    // applied: minus V_p[c] W_p + W_p[c] V_p for p < c.
    for (let p = 0; p < c; p++) {
      store<f64>(at(ca, p), load<f64>(at(base + <usize>p * ld, c)));
      store<f64>(at(cb, p), load<f64>(at(wBase + <usize>p * ldS, c)));
    }
    subtractPairs(m - c, at(row, c), c, at(base, c), ld, at(wBase, c), ldS, ca, cb);
    store<f64>(at(d, c), load<f64>(at(row, c)));
    const s = m - c - 1;
    const v = at(row, c + 1);
    const t = reflector(s, v, at(e, c));
    store<f64>(at(tau, c), t);
    const w = at(wBase + <usize>c * ldS, c + 1);
    if (t == 0) {
      for (let j = 0; j < s; j++) store<f64>(at(w, j), 0);
      continue;
    }
    // w = A v over the untouched trailing block (rows and columns c+1..m-1) ...
    symv(s, at(base + <usize>(c + 1) * ld, c + 1), ld, v, w, bands);
    // ... minus what the panel's earlier updates would have changed:
    // (V W^T + W V^T) v = V (W^T v) + W (V^T v).
    dotPairs(s, v, c, at(base, c + 1), ld, at(wBase, c + 1), ldS, ca, cb);
    subtractPairs(s, w, c, at(base, c + 1), ld, at(wBase, c + 1), ldS, ca, cb);
    // w = tau w - (tau^2/2)(w.v) v, as in the unblocked code.
    const tv = f64x2.splat(t);
    let j = 0;
    for (; j + 2 <= s; j += 2) v128.store(at(w, j), f64x2.mul(v128.load(at(w, j)), tv));
    for (; j < s; j++) store<f64>(at(w, j), load<f64>(at(w, j)) * t);
    axpy(s, -0.5 * t * dot(s, w, v), v, w);
  }
}

/**
 * row[j] -= sum_{p < count} (a[p] W_p[j] + b[p] V_p[j]), j < len, with
 * V_p = v0 + p ldV and W_p = w0 + p ldW (bytes): two p at a time, so each
 * pass over the row serves four vectors.
 */
function subtractPairs(len: i32, row: usize, count: i32, v0: usize, ldV: usize, w0: usize, ldW: usize, a: usize, b: usize): void {
  let p = 0;
  for (; p + 2 <= count; p += 2) {
    const V0 = v0 + <usize>p * ldV, W0 = w0 + <usize>p * ldW;
    axpy4(len, row, load<f64>(at(a, p)), W0, load<f64>(at(b, p)), V0, load<f64>(at(a, p + 1)), W0 + ldW, load<f64>(at(b, p + 1)), V0 + ldV);
  }
  if (p < count) {
    rank2Row(len, row, load<f64>(at(a, p)), load<f64>(at(b, p)), v0 + <usize>p * ldV, w0 + <usize>p * ldW);
  }
}

/**
 * a[p] = V_p . x and b[p] = W_p . x for p < count (V_p, W_p as in
 * subtractPairs), two p at a time so that each load of x serves four dots.
 */
function dotPairs(len: i32, x: usize, count: i32, v0: usize, ldV: usize, w0: usize, ldW: usize, a: usize, b: usize): void {
  let p = 0;
  for (; p + 2 <= count; p += 2) {
    const V0 = v0 + <usize>p * ldV, W0 = w0 + <usize>p * ldW;
    dot4(len, x, V0, W0, V0 + ldV, W0 + ldW);
    store<f64>(at(a, p), dot4Out0);
    store<f64>(at(b, p), dot4Out1);
    store<f64>(at(a, p + 1), dot4Out2);
    store<f64>(at(b, p + 1), dot4Out3);
  }
  if (p < count) {
    store<f64>(at(a, p), dot(len, v0 + <usize>p * ldV, x));
    store<f64>(at(b, p), dot(len, w0 + <usize>p * ldW, x));
  }
}

/**
 * Stage 2 for reflectors kb-1 down to 0 (kb = blockedColumns(n)), after eig.ts's
 * accumulate has applied reflectors kb..n-3: WY reflectors at a time as
 * H_hi ... H_lo = I - V T^T V^T (T from dlarft, forward), so that
 * Z <- Z - (Z V) T^T V^T is three GEMMs (a fourth forms V^T V for T).
 * Rows and columns > lo join the block
 * as in the unblocked code (identityBlock), and the block's first WY rows are
 * then identity rows, its first WY columns below them zero: Z V needs only the
 * rest. scratch: blockedScratchBytes(n) bytes.
 */
export function accumulatePanels(n: i32, z: usize, tau: usize, kb: i32, scratch: usize): void {
  const ld = <usize>n << 3;
  const ldV = rowLd(n);
  const vs = scratch; // WY rows of ldV doubles: the block's reflectors from column lo+1 on, zero-filled
  const t = vs + <usize>(WY * ldV) * 8; // WY x WY
  const x = t + <usize>(WY * WY) * 8; // n x WY
  const y = x + <usize>(n * WY) * 8; // n x WY
  const gemmWork = scratch + <usize>gemmWorkOffset(n);
  for (let hi = kb; hi > 0; hi -= WY) {
    const lo = max(0, hi - WY), b = hi - lo; // reflectors lo..hi-1
    const len = n - lo - 1; // the block: rows and columns lo+1..n-1
    for (let c = 0; c < b; c++) {
      const dst = vs + <usize>(c * ldV) * 8, src = z + <usize>(lo + c) * ld + (<usize>(lo + 1) << 3);
      for (let j = 0; j < c; j++) store<f64>(at(dst, j), 0);
      for (let j = c; j < len; j++) store<f64>(at(dst, j), load<f64>(at(src, j)));
    }
    // T from the Gram V^T V (in y for now).
    gemm64(G64_TRANS_B, b, b, len, 1, vs, ldV, vs, ldV, 0, y, b, gemmWork);
    triangularFactor(b, y, at(tau, lo), t);
    identityBlock(n, z, lo + 1, hi);
    // X = Z V: its first b rows are V's (identity rows of Z), the rest a GEMM.
    for (let i = 0; i < b; i++) {
      for (let c = 0; c < b; c++) store<f64>(at(x, i * b + c), load<f64>(at(vs + <usize>(c * ldV) * 8, i)));
    }
    const block = z + <usize>(lo + 1) * ld + (<usize>(lo + 1) << 3);
    const rest = len - b;
    gemm64(G64_TRANS_B, rest, b, rest, 1, block + <usize>b * ld + (<usize>b << 3), n,
      at(vs, b), ldV, 0, at(x, b * b), b, gemmWork);
    // Y = X T^T, then Z -= Y V^T.
    gemm64(G64_TRANS_B, len, b, b, 1, x, b, t, b, 0, y, b, gemmWork);
    gemm64(0, len, len, b, -1, y, b, vs, ldV, 1, block, n, gemmWork);
  }
}

/**
 * T (b x b, upper triangular) of H_0 H_1 ... H_{b-1} = I - V T V^T from the
 * reflectors' Gram g = V^T V (b x b), as LAPACK's dlarft (forward,
 * columnwise): T[i][i] = tau_i and T[0:i, i] = -tau_i T[0:i, 0:i] g[0:i, i].
 */
function triangularFactor(b: i32, g: usize, tau: usize, t: usize): void {
  for (let i = 0; i < b; i++) {
    const ti = load<f64>(at(tau, i));
    for (let r = i + 1; r < b; r++) store<f64>(at(t, r * b + i), 0);
    store<f64>(at(t, i * b + i), ti);
    for (let r = 0; r < i; r++) store<f64>(at(t, r * b + i), ti == 0 ? 0 : -ti * load<f64>(at(g, r * b + i)));
    // Times T[0:i, 0:i] in place: row r reads only entries r.. of the column.
    for (let r = 0; r < i; r++) {
      let sum: f64 = 0;
      for (let q = r; q < i; q++) sum += load<f64>(at(t, r * b + q)) * load<f64>(at(t, q * b + i));
      store<f64>(at(t, r * b + i), sum);
    }
  }
}

/**
 * y = A x for the symmetric s x s matrix at a (leading dimension ld bytes),
 * upper triangle read. bands: SYMV_BANDS vectors of s doubles.
 */
function symv(s: i32, a: usize, ld: usize, x: usize, y: usize, bands: usize): void {
  const threads = s >= SPLIT_MIN_ROWS ? availableThreads() : 1;
  if (threads > 1) {
    const job = jobRecord<SymvJob>();
    job.s = s; job.a = a; job.ld = ld; job.x = x; job.bands = bands;
    runJob(JOB_SYMV, 0);
  } else {
    for (let b = 0; b < SYMV_BANDS; b++) symvBand(s, a, ld, x, bands, b);
  }
  // y = band 0 + band 1 + ..., each band from its first row on.
  for (let i = 0; i < s; i++) {
    let sum = load<f64>(at(bands, i));
    for (let b = 1; b < SYMV_BANDS; b++) {
      if (i >= symvBandStart(s, b)) sum += load<f64>(at(bands + <usize>b * <usize>s * 8, i));
    }
    store<f64>(at(y, i), sum);
  }
}

/** First row of band b: bands of equal area of the upper triangle (row i has s - i entries). */
function symvBandStart(s: i32, b: i32): i32 {
  if (b >= SYMV_BANDS) return s;
  return <i32>(<f64>s * (1 - Math.sqrt(1 - <f64>b / <f64>SYMV_BANDS)));
}

/**
 * Band b's share of y = A x into its vector (entries from the band's first row
 * on), two rows at a time so that each load of x and y serves both: row i adds
 * row[i..] . x[i..] to y[i] and x[i] row[i+1..] to y[i+1..].
 */
function symvBand(s: i32, a: usize, ld: usize, x: usize, bands: usize, b: i32): void {
  const i0 = symvBandStart(s, b), i1 = symvBandStart(s, b + 1);
  const y = bands + <usize>b * <usize>s * 8;
  for (let i = i0; i < s; i++) store<f64>(at(y, i), 0);
  let i = i0;
  for (; i + 2 <= i1; i += 2) {
    const ra = a + <usize>i * ld, rb = ra + ld;
    const xa = load<f64>(at(x, i)), xb = load<f64>(at(x, i + 1));
    // Row i's entry in column i+1, then both rows from column i+2 on.
    const rab = load<f64>(at(ra, i + 1));
    store<f64>(at(y, i + 1), load<f64>(at(y, i + 1)) + rab * xa);
    const len = s - i - 2;
    const pa = at(ra, i + 2), pb = at(rb, i + 2), xs = at(x, i + 2), ys = at(y, i + 2);
    const vxa = f64x2.splat(xa), vxb = f64x2.splat(xb);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const o = <usize>j << 3;
      const x0 = v128.load(xs + o), x1 = v128.load(xs + o, 16);
      const p0 = v128.load(pa + o), p1 = v128.load(pa + o, 16);
      const q0 = v128.load(pb + o), q1 = v128.load(pb + o, 16);
      a0 = madd64(p0, x0, a0);
      a1 = madd64(p1, x1, a1);
      b0 = madd64(q0, x0, b0);
      b1 = madd64(q1, x1, b1);
      v128.store(ys + o, madd64(q0, vxb, madd64(p0, vxa, v128.load(ys + o))));
      v128.store(ys + o, madd64(q1, vxb, madd64(p1, vxa, v128.load(ys + o, 16))), 16);
    }
    const sa = f64x2.add(a0, a1), sb = f64x2.add(b0, b1);
    let sumA = f64x2.extract_lane(sa, 0) + f64x2.extract_lane(sa, 1);
    let sumB = f64x2.extract_lane(sb, 0) + f64x2.extract_lane(sb, 1);
    for (; j < len; j++) {
      const xj = load<f64>(at(xs, j)), pj = load<f64>(at(pa, j)), qj = load<f64>(at(pb, j));
      sumA += pj * xj;
      sumB += qj * xj;
      store<f64>(at(ys, j), load<f64>(at(ys, j)) + pj * xa + qj * xb);
    }
    store<f64>(at(y, i), load<f64>(at(y, i)) + (load<f64>(at(ra, i)) * xa + (rab * xb + sumA)));
    store<f64>(at(y, i + 1), load<f64>(at(y, i + 1)) + (load<f64>(at(rb, i + 1)) * xb + sumB));
  }
  if (i < i1) {
    // An odd last row: its entries from the diagonal on.
    const row = a + <usize>i * ld;
    const xi = load<f64>(at(x, i));
    let sum: f64 = 0;
    for (let j = i + 1; j < s; j++) {
      const rj = load<f64>(at(row, j));
      sum += rj * load<f64>(at(x, j));
      store<f64>(at(y, j), load<f64>(at(y, j)) + rj * xi);
    }
    store<f64>(at(y, i), load<f64>(at(y, i)) + (load<f64>(at(row, i)) * xi + sum));
  }
}

/** The arguments of a JOB_SYMV job. */
@unmanaged class SymvJob {
  s: i32; a: usize; ld: usize; x: usize; bands: usize;
}

/** Share `tid` of `threads` of a JOB_SYMV job (whole bands). */
export function symvShare(args: usize, tid: i32, threads: i32): void {
  const job = changetype<SymvJob>(args);
  const s = job.s, a = job.a, ld = job.ld, x = job.x, bands = job.bands;
  const b0 = SYMV_BANDS * tid / threads, b1 = SYMV_BANDS * (tid + 1) / threads;
  for (let b = b0; b < b1; b++) symvBand(s, a, ld, x, bands, b);
}
