// The f64 inner product the eigensolver and the Cholesky kernel share.

import { madd64 } from "./simd";

/** sum_j x[j] y[j], j < len: two f64x2 accumulators, then the tail in scalar. */
export function dot(len: i32, x: usize, y: usize): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 3;
    acc0 = madd64(v128.load(x + o), v128.load(y + o), acc0);
    acc1 = madd64(v128.load(x + o, 16), v128.load(y + o, 16), acc1);
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; j < len; j++) s += load<f64>(x + (<usize>j << 3)) * load<f64>(y + (<usize>j << 3));
  return s;
}
