// Running a kernel on a WASM build other than the engine's. The two builds
// round differently (relaxed SIMD fuses multiply-adds), so a model's Björck
// weights differ between them by about 1e-7; certificates must hold for every
// build a machine may choose, so the measurement computes them on each.

import { instantiate, relaxedUsable, type WasmBuild } from "./wasm.js";

let usable: WasmBuild[] | null = null;

/** The builds this Node can run (the engine picks one of them). */
export function usableBuilds(): WasmBuild[] {
  usable ??= relaxedUsable() ? ["simd", "relaxed"] : ["simd"];
  return usable;
}

/** Björck (order 1, no saved state) of each r x c matrix on a fresh one-thread instance of `build`. */
export function bjorckOnBuild(build: WasmBuild, mats: { w: Float32Array; r: number; c: number }[],
  iters: number, beta: number): Float32Array[] {
  const { memory, kernels } = instantiate(build);
  let top = kernels.heapBase();
  const alloc = (bytes: number): number => {
    const ptr = top;
    top += Math.ceil(bytes / 64) * 64;
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
    return ptr;
  };
  return mats.map(({ w, r, c }) => {
    const mark = top;
    const src = alloc(w.length * 4), out = alloc(w.length * 4), work = alloc(kernels.bjorckWorkspaceBytes(r, c));
    new Float32Array(memory.buffer, src, w.length).set(w);
    kernels.bjorckForward(r, c, iters, beta, src, out, 0, work);
    const result = Float32Array.from(new Float32Array(memory.buffer, out, w.length));
    top = mark;
    return result;
  });
}
