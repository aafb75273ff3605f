// The spectral Björck forward pass on one kernel instance: K order-1 Björck
// steps computed as one function of the smaller Gram (docs/architecture.md,
// 'Spectral Björck'). With X = W (wide, r <= c) or W^T (tall):
//
//   G = X X^T (f64, from the f32 weights, exactly rounded products)
//   G = U diag(.) U^T (f64 eigensolver; only U is used)
//   V = U^T X (f64), lam_i = ||V_i||^2, Y = diag(q_K(lam)) V, Out_X = U Y (f32)
//
// f64 where f32 would lose the small singular values: the Gram (its smallest
// eigenvalues are ~1e-7 on trained weights) and V, whose rows of norm s_i are
// later multiplied by q_K(s_i^2) <= min(1.5^K, ~1/s_i). Y's rows have norm
// f_K(s_i) <= 1, so the last product is safe in f32.
//
// Written against a Kernels instance and a plain allocator so that the
// measurement of certified constants can run it on every WASM build
// (src/engine/builds.ts), not only on the engine's.

import { G64, type Kernels } from "./wasm-core.js";
import { spectralSteps } from "./reference.js";
import { eigBatchTableBytes, eigSymBatch } from "./eig-batch.js";

/** The allocator the forward pass needs: the engine's arena or a bump allocator. */
export interface RawMemory {
  alloc(bytes: number): number;
  free(ptr: number, bytes: number): void;
  readonly memory: WebAssembly.Memory;
}

/** Where the forward pass leaves what the backward pass reads (f32 buffers of s*s and s*l floats). */
export interface SpectralSaveTargets {
  zt: number;
  v: number;
}

/** Bytes of the one workspace every kernel of the spectral pass shares (they run one after another). */
export function spectralWorkspaceBytes(k: Kernels, r: number, c: number, iters: number): number {
  const s = Math.min(r, c);
  return Math.max(k.gemm64WorkspaceBytes(), k.eigSymWorkspaceBytes(s), k.bjorckSpectralWorkspaceBytes(s, iters), k.gemmWorkspaceBytes());
}

/** One matrix of spectralForwardMany: the f32 r x c weights at w, W_K to out (f32, r x c). */
export interface SpectralItem {
  r: number;
  c: number;
  w: number;
  out: number;
  /** Where U^T (s x s) and V = U^T X (s x l) go, rounded to f32, when the backward pass will need them. */
  save: SpectralSaveTargets | null;
}

/** What the forward pass of one matrix returns: the eigenvalues, q of each and the steps done. */
export interface SpectralResult {
  lam: Float64Array;
  q: Float64Array;
  steps: number;
}

/**
 * W_K for the f32 r x c matrix at byte offset w into out (f32, r x c). With
 * `save`, also writes U^T (eigenvectors as rows, s x s) and V = U^T X (s x l)
 * rounded to f32. tol >= 0 stops the K steps early by bjorckForwardTol's rule
 * (spectralSteps). Returns the eigenvalues, q of each and the steps done.
 * NaN or infinite weights give a NaN result; a failed eigensolver throws.
 */
export function spectralForwardRaw(k: Kernels, mem: RawMemory, r: number, c: number, iters: number, beta: number, tol: number,
  w: number, out: number, save: SpectralSaveTargets | null, work: number): SpectralResult {
  return spectralForwardMany(k, mem, [{ r, c, w, out, save }], iters, beta, tol, work)[0];
}

/**
 * spectralForwardRaw on several matrices at once, with the same results: the
 * Grams first, then their eigendecompositions in one eigSymBatch (two large
 * ones run side by side, one per thread, where a single one would keep two
 * threads only partly busy), then the rest matrix by matrix. `work`:
 * spectralWorkspaceBytes of the largest; each further eigendecomposition
 * gets a workspace of its own.
 */
export function spectralForwardMany(k: Kernels, mem: RawMemory, items: SpectralItem[], iters: number, beta: number, tol: number,
  work: number): SpectralResult[] {
  const buffers: [number, number][] = [];
  const alloc = (bytes: number) => {
    const ptr = mem.alloc(bytes);
    buffers.push([ptr, bytes]);
    return ptr;
  };
  try {
    const mats = items.map(({ r, c, w }, i) => {
      const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
      const g = alloc(s * s * 8), lam = alloc(s * 8), zt = alloc(s * s * 8);
      const eigBytes = i === 0 ? spectralWorkspaceBytes(k, r, c, iters) : k.eigSymWorkspaceBytes(s);
      const eigWork = i === 0 ? work : alloc(eigBytes);
      // G = X X^T: both operands the f32 weights, only the lower triangle computed.
      k.gemm64(G64.A_F32 | G64.B_F32 | G64.LOWER | (wide ? G64.TRANS_B : G64.TRANS_A), s, s, l, 1, w, c, w, c, 0, g, s, work);
      return { wide, s, l, lam, zt, eig: { n: s, a: g, lda: s, w: lam, z: zt, work: eigWork, workBytes: eigBytes } };
    });
    const statuses = eigSymBatch(k, mem.memory, alloc(eigBatchTableBytes(items.length)), mats.map((m) => m.eig));
    return items.map(({ r, c, w, out, save }, i) => {
      const { wide, s, l, lam, zt } = mats[i];
      if (statuses[i] === 2) throw new Error(`spectral Björck: the eigensolver did not converge on a ${r}x${c} matrix`);
      if (statuses[i] === 3) throw new Error("spectral Björck: eigensolver workspace too small");
      const q = alloc(s * 8), v = alloc(s * l * 8), y32 = alloc(s * l * 4), zt32 = save ? save.zt : alloc(s * s * 4);
      // V = U^T X, X read from the f32 weights (transposed for a tall W).
      k.gemm64(G64.B_F32 | (wide ? 0 : G64.TRANS_B), s, l, s, 1, zt, s, w, c, 0, v, l, work);
      // The eigenvalues used from here on are V's squared row norms (rowSquares in reference.ts says why).
      k.spectralRowSquares(s, l, v, lam, save ? save.v : 0);
      const lamHost = Float64Array.from(new Float64Array(mem.memory.buffer, lam, s));
      const steps = spectralSteps(lamHost, iters, beta, tol);
      k.bjorckSpectralCoeffs(s, lam, steps, beta, q, 0, work);
      // Y = diag(q) V and U^T, rounded to f32 for the last product.
      k.spectralScaleRows(s, l, q, v, 0, y32);
      k.spectralScaleRows(s, s, 0, zt, 0, zt32);
      // Out_X = U Y: for a wide W that is W_K; for a tall one W_K = Y^T U^T.
      if (wide) k.gemm(1, 0, r, c, s, 1, zt32, s, y32, l, 0, out, c, work);
      else k.gemm(1, 0, r, c, s, 1, y32, l, zt32, s, 0, out, c, work);
      return { lam: lamHost, q: Float64Array.from(new Float64Array(mem.memory.buffer, q, s)), steps };
    });
  } finally {
    for (const [ptr, bytes] of buffers) mem.free(ptr, bytes);
  }
}
