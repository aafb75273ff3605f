// GEMM and SYRK on f32, row-major, without materialising transposes.
//
//   C = alpha * op(A) * op(B) + beta * C,  op(A): m x k,  op(B): k x n
//
// Structure (GotoBLAS/BLIS): for each KC-deep slice of k, op(B) is packed into
// 8-column micro-panels and, for each MC-row block, op(A) is packed into
// 4-row micro-panels (alpha folded in). A 4x8 register tile (8 v128
// accumulators) then runs over the packed data. 4x8 is the widest tile that
// does not spill on V8's 16 xmm registers (docs/performance-notes.md, 'WASM SIMD on V8').
//
// The kernels never allocate: the caller passes a workspace of at least
// gemmWorkspaceBytes() bytes. Work can be split between threads by row blocks
// of C (offset the pointers, shrink m), each thread with its own workspace.

import { madd, F32 } from "./simd";
import { JOB_GEMM, JOB_SYRK, runParallel, worthSplitting } from "./threads";
import { countFlops32 } from "./flops";
import { mirrorLower } from "./triangle";

// @ts-ignore: decorator
@inline export const MR: i32 = 4;
// @ts-ignore: decorator
@inline export const NR: i32 = 8;
// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC: i32 = 128;
// @ts-ignore: decorator
@inline const NC: i32 = 2048;
// Up to this many rows of C, op(B) stored k x n is read in place (gemmDriver).
// @ts-ignore: decorator
@inline const DIRECT_B_MAX_ROWS: i32 = 32;

// Workspace layout: [packed A: MC*KC][packed B: KC*NC][edge tile: MR*NR]
// @ts-ignore: decorator
@inline const PACK_A_FLOATS: i32 = MC * KC;
// @ts-ignore: decorator
@inline const PACK_B_FLOATS: i32 = KC * NC;

export function gemmWorkspaceBytes(): i32 {
  return (PACK_A_FLOATS + PACK_B_FLOATS + MR * NR) * 4;
}

/** Pack rows [i0, i0+mc) and depth [p0, p0+kc) of alpha*op(A) into MR-row micro-panels. */
function packA(transA: i32, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, alpha: f32, dst: usize): void {
  const valpha = f32x4.splat(alpha);
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + <usize>(ir * kc) * F32;
    if (transA == 0) {
      // op(A)[i, p] = a[i*lda + p]: gather MR rows, write them interleaved.
      if (rows == MR) {
        const r0 = a + <usize>((i0 + ir) * lda + p0) * F32;
        const r1 = r0 + <usize>lda * F32;
        const r2 = r1 + <usize>lda * F32;
        const r3 = r2 + <usize>lda * F32;
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          // 4x4 transpose of the block rows r0..r3, columns p..p+3.
          const off = <usize>p * F32;
          const x0 = v128.load(r0 + off);
          const x1 = v128.load(r1 + off);
          const x2 = v128.load(r2 + off);
          const x3 = v128.load(r3 + off);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const o = panel + <usize>(p * MR) * F32;
          v128.store(o, f32x4.mul(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), valpha));
          v128.store(o, f32x4.mul(v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), valpha), 16);
          v128.store(o, f32x4.mul(v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), valpha), 32);
          v128.store(o, f32x4.mul(v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), valpha), 48);
        }
        for (; p < kc; p++) {
          const off = <usize>p * F32;
          const o = panel + <usize>(p * MR) * F32;
          store<f32>(o, load<f32>(r0 + off) * alpha);
          store<f32>(o, load<f32>(r1 + off) * alpha, 4);
          store<f32>(o, load<f32>(r2 + off) * alpha, 8);
          store<f32>(o, load<f32>(r3 + off) * alpha, 12);
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = panel + <usize>(p * MR) * F32;
          for (let r = 0; r < MR; r++) {
            let v: f32 = 0;
            if (r < rows) v = load<f32>(a + <usize>((i0 + ir + r) * lda + p0 + p) * F32) * alpha;
            store<f32>(o + <usize>r * F32, v);
          }
        }
      }
    } else {
      // op(A)[i, p] = a[p*lda + i]: the MR values of one depth step are contiguous.
      if (rows == MR) {
        for (let p = 0; p < kc; p++) {
          const src = a + <usize>((p0 + p) * lda + i0 + ir) * F32;
          v128.store(panel + <usize>(p * MR) * F32, f32x4.mul(v128.load(src), valpha));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = panel + <usize>(p * MR) * F32;
          const src = a + <usize>((p0 + p) * lda + i0 + ir) * F32;
          for (let r = 0; r < MR; r++) {
            let v: f32 = 0;
            if (r < rows) v = load<f32>(src + <usize>r * F32) * alpha;
            store<f32>(o + <usize>r * F32, v);
          }
        }
      }
    }
  }
}

/** Pack depth [p0, p0+kc) and columns [j0, j0+nc) of op(B) into NR-column micro-panels. */
function packB(transB: i32, b: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const panel = dst + <usize>(jr * kc) * F32;
    if (transB == 0) {
      // op(B)[p, j] = b[p*ldb + j]: NR contiguous values per depth step.
      if (cols == NR) {
        for (let p = 0; p < kc; p++) {
          const src = b + <usize>((p0 + p) * ldb + j0 + jr) * F32;
          const o = panel + <usize>(p * NR) * F32;
          v128.store(o, v128.load(src));
          v128.store(o, v128.load(src, 16), 16);
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const src = b + <usize>((p0 + p) * ldb + j0 + jr) * F32;
          const o = panel + <usize>(p * NR) * F32;
          for (let c = 0; c < NR; c++) {
            store<f32>(o + <usize>c * F32, c < cols ? load<f32>(src + <usize>c * F32) : <f32>0);
          }
        }
      }
    } else {
      // op(B)[p, j] = b[j*ldb + p]: NR rows of B, transposed 4x4 at a time.
      if (cols == NR) {
        const base = b + <usize>((j0 + jr) * ldb + p0) * F32;
        const ld = <usize>ldb * F32;
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const off = <usize>p * F32;
          const o = panel + <usize>(p * NR) * F32;
          for (let half = 0; half < 2; half++) {
            const r0 = base + <usize>(half * 4) * ld + off;
            const x0 = v128.load(r0);
            const x1 = v128.load(r0 + ld);
            const x2 = v128.load(r0 + 2 * ld);
            const x3 = v128.load(r0 + 3 * ld);
            const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
            const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
            const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
            const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
            const oh = o + <usize>(half * 16);
            v128.store(oh, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
            v128.store(oh, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
            v128.store(oh, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
            v128.store(oh, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
          }
        }
        for (; p < kc; p++) {
          const o = panel + <usize>(p * NR) * F32;
          for (let c = 0; c < NR; c++) {
            store<f32>(o + <usize>c * F32, load<f32>(base + <usize>c * ld + <usize>p * F32));
          }
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = panel + <usize>(p * NR) * F32;
          for (let c = 0; c < NR; c++) {
            let v: f32 = 0;
            if (c < cols) v = load<f32>(b + <usize>((j0 + jr + c) * ldb + p0 + p) * F32);
            store<f32>(o + <usize>c * F32, v);
          }
        }
      }
    }
  }
}

/**
 * The 4x8 micro-kernel: C[0:4, 0:8] += Ap (4 x kc, interleaved) * B (kc x 8),
 * B's depth steps `bStep` bytes apart: 32 on packed panels, a row of B where
 * it is read in place. Writes to C directly (ldc in floats).
 */
// @ts-ignore: decorator
@inline function kernel4x8(kc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  // One depth step per iteration: unrolling lets V8 hoist the next step's
  // loads above this step's FMAs, and the extra live registers spill.
  // A advances 16 bytes a step, B bStep.
  const end = <usize>kc << 4;
  let bq = bp;
  for (let q: usize = 0; q < end; q += 16) {
    const aq = ap + q;
    const b0 = v128.load(bq);
    const b1 = v128.load(bq, 16);
    bq += bStep;
    let a = v128.load32_splat(aq);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(aq, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(aq, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(aq, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
  }
  const ld = <usize>ldc * F32;
  let r = c;
  v128.store(r, f32x4.add(v128.load(r), c00)); v128.store(r, f32x4.add(v128.load(r, 16), c01), 16);
  r += ld;
  v128.store(r, f32x4.add(v128.load(r), c10)); v128.store(r, f32x4.add(v128.load(r, 16), c11), 16);
  r += ld;
  v128.store(r, f32x4.add(v128.load(r), c20)); v128.store(r, f32x4.add(v128.load(r, 16), c21), 16);
  r += ld;
  v128.store(r, f32x4.add(v128.load(r), c30)); v128.store(r, f32x4.add(v128.load(r, 16), c31), 16);
}

/** Scale C (m x n, ldc) by beta; beta = 0 writes zeros (so NaNs in C do not leak). */
function scaleC(m: i32, n: i32, beta: f32, c: usize, ldc: i32): void {
  if (beta == 1) return;
  const vb = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const row = c + <usize>(i * ldc) * F32;
    let j = 0;
    if (beta == 0) {
      for (; j + 4 <= n; j += 4) v128.store(row + <usize>j * F32, f32x4.splat(0));
      for (; j < n; j++) store<f32>(row + <usize>j * F32, 0);
    } else {
      for (; j + 4 <= n; j += 4) {
        const p = row + <usize>j * F32;
        v128.store(p, f32x4.mul(v128.load(p), vb));
      }
      for (; j < n; j++) {
        const p = row + <usize>j * F32;
        store<f32>(p, load<f32>(p) * beta);
      }
    }
  }
}

/**
 * Shared driver. With lower != 0, micro-tiles lying wholly above the diagonal of
 * C are skipped (SYRK); the caller mirrors the lower triangle afterwards.
 */
export function gemmDriver(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32,
  work: usize, lower: i32, rowOff: i32,
): void {
  scaleC(m, n, beta, c, ldc);
  if (m <= 0 || n <= 0 || k <= 0 || alpha == 0) return;
  const packedA = work;
  const packedB = work + <usize>PACK_A_FLOATS * F32;
  const edge = packedB + <usize>PACK_B_FLOATS * F32;
  const ld = <usize>ldc * F32;

  // Few rows: B stored k x n is read in place rather than packed. Packing costs
  // a pass over the k x n block for only m/MR micro-tiles to reuse it (the
  // attack's 25-row products spent an eighth of their time packing).
  const directB = transB == 0 && lower == 0 && m <= DIRECT_B_MAX_ROWS;
  const bStride = <usize>ldb * F32;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      // In SYRK mode, rows above jc never meet this column block. rowOff is
      // the global index of local row 0 (a thread's share starts below row 0).
      if (!directB) packB(transB, b, ldb, pc, kc, jc, nc, packedB);
      const icStart = lower ? max(0, ((jc - rowOff) / MR) * MR) : 0;
      for (let ic = icStart; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(transA, a, lda, ic, mc, pc, kc, alpha, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const j = jc + jr;
          // Read in place only whole 8-column panels (a partial one would read past the row's end).
          const inPlace = directB && cols == NR;
          let bp = packedB + <usize>(jr * kc) * F32, bStep: usize = <usize>NR * F32;
          if (inPlace) {
            bp = b + (<usize>pc * <usize>ldb + <usize>j) * F32;
            bStep = bStride;
          }
          else if (directB) packB(transB, b, ldb, pc, kc, j, cols, bp); // m <= 32 < MC: one row block
          for (let ir = 0; ir < mc; ir += MR) {
            const i = ic + ir;
            // SYRK: skip tiles whose last row lies above their first column.
            if (lower && i + rowOff + MR - 1 < j) continue;
            const rows = min(MR, mc - ir);
            const ap = packedA + <usize>(ir * kc) * F32;
            const cTile = c + <usize>i * ld + <usize>j * F32;
            if (rows == MR && cols == NR) {
              kernel4x8(kc, ap, bp, bStep, cTile, ldc);
            } else {
              // Edge tile: accumulate into a zeroed scratch tile, then add the valid part.
              for (let t = 0; t < MR * NR; t += 4) v128.store(edge + <usize>t * F32, f32x4.splat(0));
              kernel4x8(kc, ap, bp, bStep, edge, NR);
              for (let r = 0; r < rows; r++) {
                for (let q = 0; q < cols; q++) {
                  const dst = cTile + <usize>r * ld + <usize>q * F32;
                  store<f32>(dst, load<f32>(dst) + load<f32>(edge + <usize>(r * NR + q) * F32));
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * C = alpha * op(A) * op(B) + beta * C (row-major; lda, ldb, ldc in elements).
 * transA = 0: A is m x k; 1: A is stored k x m. transB = 0: B is k x n; 1: B is stored n x k.
 */
export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, work: usize,
): void {
  countFlops32(<f64>m * <f64>n, k);
  if (worthSplitting(m, n, k)) {
    runParallel(JOB_GEMM, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
  } else {
    gemmDriver(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work, 0, 0);
  }
}

/**
 * Symmetric rank-k update, C = alpha * X * X^T + beta * C with X = op(A) (n x k).
 * trans = 0: A is n x k (C = A A^T); trans = 1: A is stored k x n (C = A^T A).
 * Only the lower triangle is computed; it is then mirrored, so C is full on return.
 */
export function syrk(trans: i32, n: i32, k: i32, alpha: f32, a: usize, lda: i32, beta: f32, c: usize, ldc: i32, work: usize): void {
  countFlops32(<f64>n * <f64>(n + 1) / 2, k);
  if (worthSplitting(n, n, k)) {
    runParallel(JOB_SYRK, trans, trans ^ 1, n, n, k, alpha, a, lda, a, lda, beta, c, ldc, work);
  } else {
    gemmDriver(trans, trans ^ 1, n, n, k, alpha, a, lda, a, lda, beta, c, ldc, work, 1, 0);
  }
  mirrorLower<f32>(n, c, ldc);
}
