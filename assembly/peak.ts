// Peak f32x4 throughput probe for the benchmark's `simd.peak` row.
// 12 independent multiply-add chains (enough to cover FMA latency on two
// pipes); the operands are loaded from memory because V8 re-materialises
// f32x4.splat constants inside loops (docs/performance-notes.md, 'WASM SIMD on V8').

import { madd } from "./simd";

/**
 * Runs `iters` rounds of 12 madds on vectors at ptr (needs 14 v128 = 224 bytes,
 * initialised by the caller) and stores the sum of the chains at ptr.
 * FLOPs = iters * 12 * 8.
 */
export function peakMulAdd(iters: i32, ptr: usize): void {
  let c0 = v128.load(ptr, 32), c1 = v128.load(ptr, 48), c2 = v128.load(ptr, 64), c3 = v128.load(ptr, 80);
  let c4 = v128.load(ptr, 96), c5 = v128.load(ptr, 112), c6 = v128.load(ptr, 128), c7 = v128.load(ptr, 144);
  let c8 = v128.load(ptr, 160), c9 = v128.load(ptr, 176), c10 = v128.load(ptr, 192), c11 = v128.load(ptr, 208);
  for (let i = 0; i < iters; i++) {
    const a = v128.load(ptr);
    const b = v128.load(ptr, 16);
    c0 = madd(a, b, c0); c1 = madd(a, b, c1); c2 = madd(a, b, c2); c3 = madd(a, b, c3);
    c4 = madd(a, b, c4); c5 = madd(a, b, c5); c6 = madd(a, b, c6); c7 = madd(a, b, c7);
    c8 = madd(a, b, c8); c9 = madd(a, b, c9); c10 = madd(a, b, c10); c11 = madd(a, b, c11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  v128.store(ptr, f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
}
