// The exact K-step Björck iteration in f64 (values and gradient), on the WASM
// f64 GEMM: the reference that the spectral method and the f32 iteration are
// measured against at the paper's sizes (test/bjorck-spectral.test.ts and
// bench/bjorck-report.ts). refBjorckForward/Backward compute the same in plain
// TypeScript, too slowly for 512 x 784 at K = 50.

import { engine } from "../src/engine/engine.js";
import { G64 } from "../src/engine/wasm.js";
import type { Random } from "../src/engine/random.js";
import { orthogonalF64 } from "../src/model/init.js";

/** max |a - b| / max |b|: the relative error the spectral checks report. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** r x c = U diag(sv) Vᵀ with random orthonormal U, V (min(r, c) singular values), rounded to f32 values. */
export function withSingularValues(r: number, c: number, sv: ArrayLike<number>, rand: Random): Float64Array {
  const s = Math.min(r, c);
  const u = orthogonalF64(r, s, 1, rand), v = orthogonalF64(c, s, 1, rand);
  const w = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let acc = 0;
      for (let t = 0; t < s; t++) acc += u[i * s + t] * sv[t] * v[j * s + t];
      w[i * c + j] = acc;
    }
  }
  return Float64Array.from(Float32Array.from(w));
}

/** K iterations in f64 on the WASM f64 GEMM, with their backward: the reference at the paper's sizes. */
export function iterateF64(r: number, c: number, iters: number, beta: number, w: Float64Array, gOut: Float64Array) {
  const e = engine(), k = e.kernels;
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  // Work on X = W (wide) or W^T (tall), s x l; A p(A^T A) = p(A A^T) A makes both the same iteration.
  const toX = (m: Float64Array) => {
    if (wide) return Float64Array.from(m);
    const x = new Float64Array(s * l);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) x[j * l + i] = m[i * c + j];
    return x;
  };
  const fromX = (ptr: number) => {
    const x = e.arena.f64(ptr, s * l);
    if (wide) return Float64Array.from(x);
    const m = new Float64Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) m[i * c + j] = x[j * l + i];
    return m;
  };
  const buffers: [number, number][] = [];
  const alloc = (n: number) => {
    const ptr = e.arena.alloc(n * 8);
    buffers.push([ptr, n * 8]);
    return ptr;
  };
  try {
    const ws = e.workspace(k.gemm64WorkspaceBytes());
    const saved: { a: number; p: number }[] = [];
    let a = alloc(s * l);
    e.arena.f64(a, s * l).set(toX(w));
    for (let t = 0; t < iters; t++) {
      const p = alloc(s * s), next = alloc(s * l);
      k.gemm64(G64.TRANS_B | G64.LOWER, s, s, l, 1, a, l, a, l, 0, p, s, ws);          // P = A A^T
      e.arena.f64(next, s * l).set(e.arena.f64(a, s * l));
      k.gemm64(0, s, l, s, -beta, p, s, a, l, 1 + beta, next, l, ws);                  // (1+beta) A - beta P A
      saved.push({ a, p });
      a = next;
    }
    const out = fromX(a);
    let g = alloc(s * l);
    e.arena.f64(g, s * l).set(toX(gOut));
    const d = alloc(s * s);
    let spare = alloc(s * l);
    for (let t = iters - 1; t >= 0; t--) {
      const { a: at, p } = saved[t];
      const next = spare;
      k.gemm64(G64.TRANS_B, s, s, l, -beta, g, l, at, l, 0, d, s, ws);                  // D = -beta G A^T
      const dv = e.arena.f64(d, s * s);
      for (let i = 0; i < s; i++) for (let j = i; j < s; j++) dv[i * s + j] = dv[j * s + i] = dv[i * s + j] + dv[j * s + i];
      e.arena.f64(next, s * l).set(e.arena.f64(g, s * l));
      k.gemm64(0, s, l, s, -beta, p, s, g, l, 1 + beta, next, l, ws);                  // (1+beta) G - beta P G
      k.gemm64(0, s, l, s, 1, d, s, at, l, 1, next, l, ws);                             // + (D + D^T) A
      spare = g;
      g = next;
    }
    return { out, grad: fromX(g) };
  } finally {
    for (const [ptr, bytes] of buffers) e.arena.free(ptr, bytes);
  }
}

