// Small SIMD helpers shared by every kernel. Everything here is @inline so
// that V8 sees straight-line code in the hot loops.

/** c + a*b lane-wise: one fused multiply-add in the relaxed build, mul+add otherwise. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Bytes in one f32. */
// @ts-ignore: decorator
@inline export const F32: usize = 4;

/** c + a*b on f64x2 lanes: fused in the relaxed build, mul+add otherwise. */
// @ts-ignore: decorator
@inline export function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f64x2.relaxed_madd(a, b, c);
  } else {
    return f64x2.add(f64x2.mul(a, b), c);
  }
}

/** c - a*b on f64x2 lanes: fused in the relaxed build, mul+sub otherwise. */
// @ts-ignore: decorator
@inline export function nmadd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f64x2.relaxed_nmadd(a, b, c);
  } else {
    return f64x2.sub(c, f64x2.mul(a, b));
  }
}

/** Bytes in one f64. */
// @ts-ignore: decorator
@inline export const F64: usize = 8;
