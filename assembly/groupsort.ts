// GroupSort: each contiguous group of g values is sorted ascending.
// Group size 2 is MaxMin: [x0, x1] -> [min, max].
//
// Tie policy: the sort is stable, so equal values keep their order and the
// gradient of a tied pair flows straight through (identity), never split.
// The backward pass recomputes the permutation from the saved input instead
// of storing it, so forward needs no extra memory.

import { F32 } from "./simd";

/** y = GroupSort_g(x) over n values (n a multiple of g). */
export function groupsortForward(n: i32, g: i32, x: usize, y: usize): void {
  if (g == 2) {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + <usize>i * F32);
      const w = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
      // Lanes 0,2 pick the min, lanes 1,3 the max; ties keep x0 in lane 0.
      const lo = v128.bitselect(w, v, f32x4.lt(w, v));
      const hi = v128.bitselect(v, w, f32x4.lt(w, v));
      v128.store(y + <usize>i * F32, v128.shuffle<f32>(lo, hi, 0, 5, 2, 7));
    }
    for (; i < n; i += 2) {
      const a = load<f32>(x + <usize>i * F32);
      const b = load<f32>(x + <usize>(i + 1) * F32);
      const swap = b < a;
      store<f32>(y + <usize>i * F32, swap ? b : a);
      store<f32>(y + <usize>(i + 1) * F32, swap ? a : b);
    }
    return;
  }
  for (let base = 0; base < n; base += g) {
    const src = x + <usize>base * F32;
    const dst = y + <usize>base * F32;
    // Stable insertion sort of one group into dst.
    for (let i = 0; i < g; i++) {
      const v = load<f32>(src + <usize>i * F32);
      let j = i - 1;
      while (j >= 0 && load<f32>(dst + <usize>j * F32) > v) {
        store<f32>(dst + <usize>(j + 1) * F32, load<f32>(dst + <usize>j * F32));
        j--;
      }
      store<f32>(dst + <usize>(j + 1) * F32, v);
    }
  }
}

/**
 * dx = P^T dy, where P is the sorting permutation of x (recomputed; stable).
 * idx must hold g i32 slots of scratch.
 */
export function groupsortBackward(n: i32, g: i32, x: usize, dy: usize, dx: usize, idx: usize): void {
  if (g == 2) {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + <usize>i * F32);
      const d = v128.load(dy + <usize>i * F32);
      const w = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
      const dw = v128.shuffle<f32>(d, d, 1, 0, 3, 2);
      // A pair is swapped when x1 < x0; mark both of its lanes.
      const lt = f32x4.lt(w, v); // lane0: x1<x0, lane1: x0<x1, ...
      const swapped = v128.shuffle<i32>(lt, lt, 0, 0, 2, 2);
      v128.store(dx + <usize>i * F32, v128.bitselect(dw, d, swapped));
    }
    for (; i < n; i += 2) {
      const a = load<f32>(x + <usize>i * F32);
      const b = load<f32>(x + <usize>(i + 1) * F32);
      const d0 = load<f32>(dy + <usize>i * F32);
      const d1 = load<f32>(dy + <usize>(i + 1) * F32);
      const swap = b < a;
      store<f32>(dx + <usize>i * F32, swap ? d1 : d0);
      store<f32>(dx + <usize>(i + 1) * F32, swap ? d0 : d1);
    }
    return;
  }
  for (let base = 0; base < n; base += g) {
    const src = x + <usize>base * F32;
    // Stable argsort of the group: idx[rank] = original position.
    for (let i = 0; i < g; i++) {
      const v = load<f32>(src + <usize>i * F32);
      let j = i - 1;
      while (j >= 0 && load<f32>(src + <usize>load<i32>(idx + <usize>j * 4) * F32) > v) {
        store<i32>(idx + <usize>(j + 1) * 4, load<i32>(idx + <usize>j * 4));
        j--;
      }
      store<i32>(idx + <usize>(j + 1) * 4, i);
    }
    for (let rank = 0; rank < g; rank++) {
      const orig = load<i32>(idx + <usize>rank * 4);
      store<f32>(dx + <usize>(base + orig) * F32, load<f32>(dy + <usize>(base + rank) * F32));
    }
  }
}
