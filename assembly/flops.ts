// FLOP counters: the benchmark reports GFLOP/s on the multiply-adds the GEMM
// kernels were asked to do (docs/performance.md, "our GFLOP/s"), counted
// here rather than derived from the model's sizes, so a change that adds or
// removes products shows in the figure. Counted once per call in the
// dispatching instance (workers run shares, not calls); a multiply-add is 2
// FLOP; SYRK and gemm64's lower-triangle mode count the n(n+1)/2 entries
// they compute. Per instance, like every global.

let flops32: f64 = 0;
let flops64: f64 = 0;

/** Adds 2 m n k FLOP of an f32 product (or 2 (useful entries) k for SYRK). */
// @ts-ignore: decorator
@inline export function countFlops32(entries: f64, k: i32): void {
  flops32 += 2 * entries * <f64>k;
}

/** Adds the FLOPs of an f64-accumulating product (gemm64). */
// @ts-ignore: decorator
@inline export function countFlops64(entries: f64, k: i32): void {
  flops64 += 2 * entries * <f64>k;
}

/** FLOPs of f32 GEMM and SYRK calls since this instance started. */
export function flopsF32(): f64 {
  return flops32;
}

/** FLOPs of gemm64 calls since this instance started. */
export function flopsF64(): f64 {
  return flops64;
}
