// Running a kernel on a WASM build other than the engine's. The two builds
// round differently (relaxed SIMD fuses multiply-adds), so a model's Björck
// weights differ between them by about 1e-7; certificates must hold for every
// build a machine may choose, so the measurement computes them on each.

import { Arena } from "./arena.js";
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
  const arena = new Arena(memory, kernels.heapBase());
  const tol = opts.tolerance ?? -1;
  return mats.map(({ w, r, c }) => {
    const bytes = w.length * 4;
    const workBytes = opts.method === "spectral" ? spectralWorkspaceBytes(kernels, r, c, iters) : kernels.bjorckWorkspaceBytes(r, c);
    const src = arena.alloc(bytes), out = arena.alloc(bytes), work = arena.alloc(workBytes);
    arena.f32(src, w.length).set(w);
    if (opts.method === "spectral") spectralForwardRaw(kernels, arena, r, c, iters, beta, tol, src, out, null, work);
    else if (tol >= 0) kernels.bjorckForwardTol(r, c, iters, beta, tol, src, out, 0, work);
    else kernels.bjorckForward(r, c, iters, beta, src, out, 0, work);
    const result = Float32Array.from(arena.f32(out, w.length));
    arena.free(src, bytes);
    arena.free(out, bytes);
    arena.free(work, workBytes);
    return result;
  });
}
