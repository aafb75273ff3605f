// Test matrices and residuals shared by the eigensolver's test files.
import type { Arena } from "../src/engine/arena.js";
import type { Kernels } from "../src/engine/wasm.js";
import { normal, rng } from "./helpers.js";

export function symmetricFrom(n: number, entry: (i: number, j: number) => number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = entry(i, j);
  return a;
}

export function randomSymmetric(n: number, seed: number): Float64Array {
  const r = normal(rng(seed), n * n);
  return symmetricFrom(n, (i, j) => r[i * n + j]);
}

/** Q diag(values) Qᵀ for a random orthogonal Q (modified Gram-Schmidt on Gaussian rows). */
export function withSpectrum(values: number[], seed: number): Float64Array {
  const n = values.length;
  const q = normal(rng(seed), n * n);
  for (let i = 0; i < n; i++) {
    const qi = q.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < i; j++) {
      const qj = q.subarray(j * n, (j + 1) * n);
      let dot = 0;
      for (let t = 0; t < n; t++) dot += qi[t] * qj[t];
      for (let t = 0; t < n; t++) qi[t] -= dot * qj[t];
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += qi[t] ** 2;
    for (let t = 0; t < n; t++) qi[t] /= Math.sqrt(norm);
  }
  // a = Qᵀ diag(values) Q with Q's rows orthonormal.
  const scaled = new Float64Array(n * n);
  for (let t = 0; t < n; t++) for (let i = 0; i < n; i++) scaled[t * n + i] = values[t] * q[t * n + i];
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += scaled[t * n + i] * q[t * n + j];
      a[i * n + j] = a[j * n + i] = s;
    }
  }
  return a;
}

/** B Bᵀ for a Gaussian n x rank B: n - rank eigenvalues are zero. */
export function lowRankGram(n: number, rank: number, seed: number): Float64Array {
  const b = normal(rng(seed), n * rank);
  return symmetricFrom(n, (i, j) => {
    let s = 0;
    for (let t = 0; t < rank; t++) s += b[i * rank + t] * b[j * rank + t];
    return s;
  });
}

export function normInf(a: Float64Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.abs(a[i * n + j]);
    m = Math.max(m, s);
  }
  return m;
}

/** max |(G U - U Λ)_ij| / ||G|| and max |(UᵀU - I)_ij| for eigenvectors given as rows. */
export function residuals(a: Float64Array, n: number, values: Float64Array, rows: Float64Array): { eig: number; orth: number } {
  let eig = 0, orth = 0;
  for (let j = 0; j < n; j++) {
    const u = rows.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) {
      const ai = a.subarray(i * n, (i + 1) * n);
      let s = 0;
      for (let t = 0; t < n; t++) s += ai[t] * u[t];
      eig = Math.max(eig, Math.abs(s - values[j] * u[i]));
    }
    for (let i = 0; i <= j; i++) {
      const ui = rows.subarray(i * n, (i + 1) * n);
      let s = 0;
      for (let t = 0; t < n; t++) s += ui[t] * u[t];
      orth = Math.max(orth, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return { eig: eig / Math.max(normInf(a, n), 1e-300), orth };
}

/** eigSym on an instance's arena: status, eigenvalues, eigenvectors (rows). */
export function eigOn(arena: Arena, kernels: Kernels, n: number, a: Float64Array, workBytes = kernels.eigSymWorkspaceBytes(n)) {
  const pa = arena.alloc(n * n * 8), pw = arena.alloc(n * 8), pz = arena.alloc(n * n * 8), work = arena.alloc(workBytes);
  arena.f64(pa, n * n).set(a);
  const status = kernels.eigSym(n, pa, n, pw, pz, work, workBytes);
  const out = { status, values: Float64Array.from(arena.f64(pw, n)), vectors: Float64Array.from(arena.f64(pz, n * n)) };
  for (const [p, bytes] of [[pa, n * n * 8], [pw, n * 8], [pz, n * n * 8], [work, workBytes]]) arena.free(p, bytes);
  return out;
}
