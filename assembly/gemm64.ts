// GEMM with f64 accumulation and output, each operand f32 or f64:
//
//   C = alpha * op(A) * op(B) + beta * C,  C f64 (row-major)
//
// The spectral Björck needs products that f32 would spoil: the Gram W W^T
// whose smallest eigenvalues (~1e-7 on trained weights) are below f32's
// rounding of the large ones, and U^T W whose small rows are later scaled up
// by up to 1.5^K. An f32 operand is exact in f64, so these products carry only
// f64 rounding.
//
// Same structure as gemm.ts (GotoBLAS packing, one inner kernel for every
// transpose combination), with f64x2 lanes: a 4x4 register tile is 8 v128
// accumulators, within the ~12 live vectors V8 keeps in registers
// (docs/performance-notes.md, 'WASM SIMD on V8'). Operands are converted to
// f64 while packing. Large products are split between the kernel threads
// by bands of C's rows (assembly/threads.ts): every C element still sees the
// same depth blocks in the same order, so results do not depend on the split.

import { madd64, F64 } from "./simd";
import { countFlops64 } from "./flops";
import { mirrorLower } from "./triangle";
import { evenBand, JOB_GEMM64, jobRecord, runJob, triangleBand, workerWorkspaceBytes, worthSplitting } from "./threads";

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 4;
// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC: i32 = 128;
// @ts-ignore: decorator
@inline const NC: i32 = 512;

/** flags bits of gemm64. */
export const G64_TRANS_A: i32 = 1;
export const G64_TRANS_B: i32 = 2;
export const G64_A_F32: i32 = 4;
export const G64_B_F32: i32 = 8;
/** Only the lower triangle of C (m = n) is computed, then mirrored: for op(A) op(B) symmetric. */
export const G64_LOWER: i32 = 16;

export function gemm64WorkspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 8;
}

// @ts-ignore: decorator
@inline function elem(f32src: bool, base: usize, index: i32): f64 {
  return f32src ? <f64>load<f32>(base + (<usize>index << 2)) : load<f64>(base + (<usize>index << 3));
}

/** Pack rows [i0, i0+mc) and depth [p0, p0+kc) of alpha op(A) into MR-row micro-panels (zero-padded). */
function packA(trans: bool, isF32: bool, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, alpha: f64, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + <usize>(ir * kc) * F64;
    for (let r = 0; r < MR; r++) {
      const i = i0 + ir + r;
      let o = panel + <usize>r * F64;
      if (r >= rows) {
        for (let p = 0; p < kc; p++) {
          store<f64>(o, 0);
          o += <usize>MR * F64;
        }
      } else if (!trans) {
        // op(A)[i, p] = a[i*lda + p]: a contiguous run of the row.
        const base = i * lda + p0;
        for (let p = 0; p < kc; p++) {
          store<f64>(o, alpha * elem(isF32, a, base + p));
          o += <usize>MR * F64;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f64>(o, alpha * elem(isF32, a, (p0 + p) * lda + i));
          o += <usize>MR * F64;
        }
      }
    }
  }
}

/** Pack depth [p0, p0+kc) and columns [j0, j0+nc) of op(B) into NR-column micro-panels (zero-padded). */
function packB(trans: bool, isF32: bool, b: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const panel = dst + <usize>(jr * kc) * F64;
    for (let q = 0; q < NR; q++) {
      const j = j0 + jr + q;
      let o = panel + <usize>q * F64;
      if (q >= cols) {
        for (let p = 0; p < kc; p++) {
          store<f64>(o, 0);
          o += <usize>NR * F64;
        }
      } else if (trans) {
        // op(B)[p, j] = b[j*ldb + p]: a contiguous run of row j.
        const base = j * ldb + p0;
        for (let p = 0; p < kc; p++) {
          store<f64>(o, elem(isF32, b, base + p));
          o += <usize>NR * F64;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f64>(o, elem(isF32, b, (p0 + p) * ldb + j));
          o += <usize>NR * F64;
        }
      }
    }
  }
}

/** C[0:4, 0:4] += Ap (4 x kc, interleaved) * Bp (kc x 4); ldc in doubles. */
// @ts-ignore: decorator
@inline export function kernel4x4(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  // One depth step per iteration and one induction variable, as in gemm.ts:
  // A and B both advance 32 bytes a step.
  const end = <usize>kc << 5;
  for (let q: usize = 0; q < end; q += 32) {
    const bq = bp + q;
    const aq = ap + q;
    const b0 = v128.load(bq);
    const b1 = v128.load(bq, 16);
    let a = v128.load64_splat(aq);
    c00 = madd64(a, b0, c00); c01 = madd64(a, b1, c01);
    a = v128.load64_splat(aq, 8);
    c10 = madd64(a, b0, c10); c11 = madd64(a, b1, c11);
    a = v128.load64_splat(aq, 16);
    c20 = madd64(a, b0, c20); c21 = madd64(a, b1, c21);
    a = v128.load64_splat(aq, 24);
    c30 = madd64(a, b0, c30); c31 = madd64(a, b1, c31);
  }
  const ld = <usize>ldc * F64;
  let r = c;
  v128.store(r, f64x2.add(v128.load(r), c00)); v128.store(r, f64x2.add(v128.load(r, 16), c01), 16);
  r += ld;
  v128.store(r, f64x2.add(v128.load(r), c10)); v128.store(r, f64x2.add(v128.load(r, 16), c11), 16);
  r += ld;
  v128.store(r, f64x2.add(v128.load(r), c20)); v128.store(r, f64x2.add(v128.load(r, 16), c21), 16);
  r += ld;
  v128.store(r, f64x2.add(v128.load(r), c30)); v128.store(r, f64x2.add(v128.load(r, 16), c31), 16);
}

/**
 * C *= beta (m x n, ldc), on the calling thread before the products: beta = 1
 * leaves C alone (x * 1 is x, so skipping the pass changes no bit), beta = 0
 * writes zeros (NaN in C must not leak), two lanes at a time.
 */
function scaleC64(m: i32, n: i32, beta: f64, c: usize, ldc: i32): void {
  if (beta == 1) return;
  const vb = f64x2.splat(beta), zero = f64x2.splat(0);
  for (let i = 0; i < m; i++) {
    const row = c + <usize>i * <usize>ldc * F64;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const p = row + <usize>j * F64;
      v128.store(p, beta == 0 ? zero : f64x2.mul(v128.load(p), vb));
    }
    for (; j < n; j++) {
      const p = row + <usize>j * F64;
      store<f64>(p, beta == 0 ? 0 : beta * load<f64>(p));
    }
  }
}

/**
 * C = alpha op(A) op(B) + beta C with C f64 (m x n, ldc), op(A) m x k, op(B) k x n;
 * flags: G64_TRANS_A, G64_TRANS_B, G64_A_F32, G64_B_F32, G64_LOWER. Leading
 * dimensions are in elements of each operand's type. beta = 0 overwrites C
 * (NaN in C does not leak). work: gemm64WorkspaceBytes() bytes.
 */
export function gemm64(
  flags: i32, m: i32, n: i32, k: i32, alpha: f64,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f64, c: usize, ldc: i32, work: usize,
): void {
  const lower = (flags & G64_LOWER) != 0;
  scaleC64(m, n, beta, c, ldc);
  if (m > 0 && n > 0 && k > 0 && alpha != 0) {
    countFlops64(lower && m == n ? <f64>n * <f64>(n + 1) / 2 : <f64>m * <f64>n, k);
    // Each worker packs into its own workspace, which must hold this kernel's.
    if (worthSplitting(m, n, k) && workerWorkspaceBytes() >= gemm64WorkspaceBytes()) {
      const job = jobRecord<Gemm64Job>();
      job.flags = flags; job.m = m; job.n = n; job.k = k; job.alpha = alpha;
      job.a = a; job.lda = lda; job.b = b; job.ldb = ldb; job.c = c; job.ldc = ldc;
      runJob(JOB_GEMM64, work);
    } else {
      gemm64Rows(flags, m, n, k, alpha, a, lda, b, ldb, c, ldc, work, 0, m);
    }
  }
  if (lower) mirrorLower<f64>(m, c, ldc);
}

/** The arguments of a JOB_GEMM64 job. */
@unmanaged class Gemm64Job {
  flags: i32; m: i32; n: i32; k: i32; alpha: f64;
  a: usize; lda: i32; b: usize; ldb: i32; c: usize; ldc: i32;
}

/** Share `tid` of `threads` of a gemm64 job whose arguments are at args (posted by gemm64). */
export function gemm64Share(args: usize, tid: i32, threads: i32, work: usize): void {
  const job = changetype<Gemm64Job>(args);
  const flags = job.flags, m = job.m;
  // Bands of whole 4-row tiles; the lower triangle's bands have equal areas.
  const lower = (flags & G64_LOWER) != 0;
  const i0 = lower ? triangleBand(m, tid, threads, MR) : evenBand(m, tid, threads, MR);
  const i1 = lower ? triangleBand(m, tid + 1, threads, MR) : evenBand(m, tid + 1, threads, MR);
  if (i1 <= i0) return;
  gemm64Rows(flags, m, job.n, job.k, job.alpha, job.a, job.lda, job.b, job.ldb, job.c, job.ldc, work, i0, i1);
}

/**
 * Adds alpha op(A) op(B) to rows [i0, i1) of C (i0 a multiple of MR); in
 * lower mode, only the tiles that touch the lower triangle.
 */
function gemm64Rows(
  flags: i32, m: i32, n: i32, k: i32, alpha: f64,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, work: usize, i0: i32, i1: i32,
): void {
  const transA = (flags & G64_TRANS_A) != 0, transB = (flags & G64_TRANS_B) != 0;
  const aF32 = (flags & G64_A_F32) != 0, bF32 = (flags & G64_B_F32) != 0;
  const lower = (flags & G64_LOWER) != 0;
  const ld = <usize>ldc * F64;
  // In lower mode, columns right of the band's last row only meet skipped tiles.
  const nEnd = lower ? min(n, ((i1 + NR - 1) / NR) * NR) : n;
  const packedA = work;
  const packedB = work + <usize>(MC * KC) * F64;
  const edge = packedB + <usize>(KC * NC) * F64;
  for (let jc = 0; jc < nEnd; jc += NC) {
    const nc = min(NC, nEnd - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(transB, bF32, b, ldb, pc, kc, jc, nc, packedB);
      // In lower mode, row blocks that end above this column block are skipped.
      const icStart = lower ? max(i0, (jc / MR) * MR) : i0;
      for (let ic = icStart; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(transA, aF32, a, lda, ic, mc, pc, kc, alpha, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bp = packedB + <usize>(jr * kc) * F64;
          const j = jc + jr;
          for (let ir = 0; ir < mc; ir += MR) {
            const i = ic + ir;
            if (lower && i + MR - 1 < j) continue;
            const rows = min(MR, mc - ir);
            const ap = packedA + <usize>(ir * kc) * F64;
            const cTile = c + <usize>i * ld + <usize>j * F64;
            if (rows == MR && cols == NR) {
              kernel4x4(kc, ap, bp, cTile, ldc);
            } else {
              for (let t = 0; t < MR * NR; t += 2) v128.store(edge + <usize>t * F64, f64x2.splat(0));
              kernel4x4(kc, ap, bp, edge, NR);
              for (let r = 0; r < rows; r++) {
                for (let q = 0; q < cols; q++) {
                  const dst = cTile + <usize>r * ld + <usize>q * F64;
                  store<f64>(dst, load<f64>(dst) + load<f64>(edge + <usize>(r * NR + q) * F64));
                }
              }
            }
          }
        }
      }
    }
  }
}
