// Running a kernel on a WASM build other than the engine's. The two builds
// round differently (relaxed SIMD fuses multiply-adds), so a model's Björck
// weights differ between them by about 1e-7; certificates must hold for every
// build a machine may choose, so the measurement computes them on each.

import { instantiate, relaxedUsable, type WasmBuild } from "./wasm.js";
import { spectralForwardRaw, spectralWorkspaceBytes } from "./spectral.js";

let usable: WasmBuild[] | null = null;

/** The builds this Node can run (the engine picks one of them). */
export function usableBuilds(): WasmBuild[] {
  usable ??= relaxedUsable() ? ["simd", "relaxed"] : ["simd"];
  return usable;
}

/** How W_K is computed (the model's BjorckOptions; absent fields: the paper's iteration, no tolerance). */
export interface BuildBjorckOptions {
  method?: "iterate" | "spectral";
  tolerance?: number | null;
}

/**
 * Björck (order 1, no saved state) of each r x c matrix on a fresh one-thread
 * instance of `build`, by the given method and tolerance, as the engine's ops
 * compute it (ops.bjorck / ops.bjorckSpectral).
 */
export function bjorckOnBuild(build: WasmBuild, mats: { w: Float32Array; r: number; c: number }[],
  iters: number, beta: number, opts: BuildBjorckOptions = {}): Float32Array[] {
  const { memory, kernels } = instantiate(build);
  let top = kernels.heapBase();
  const alloc = (bytes: number): number => {
    const ptr = top;
    top += Math.ceil(bytes / 64) * 64;
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
    return ptr;
  };
  // Bump allocation: a matrix's buffers are released together when it is done.
  const raw = { alloc, free: () => {}, memory };
  const tol = opts.tolerance ?? -1;
  return mats.map(({ w, r, c }) => {
    const mark = top;
    const src = alloc(w.length * 4), out = alloc(w.length * 4);
    new Float32Array(memory.buffer, src, w.length).set(w);
    if (opts.method === "spectral") {
      const work = alloc(spectralWorkspaceBytes(kernels, r, c, iters));
      spectralForwardRaw(kernels, raw, r, c, iters, beta, tol, src, out, null, work);
    } else {
      const work = alloc(kernels.bjorckWorkspaceBytes(r, c));
      if (tol >= 0) kernels.bjorckForwardTol(r, c, iters, beta, tol, src, out, 0, work);
      else kernels.bjorckForward(r, c, iters, beta, src, out, 0, work);
    }
    const result = Float32Array.from(new Float32Array(memory.buffer, out, w.length));
    top = mark;
    return result;
  });
}
