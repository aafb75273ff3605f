// Kernel dispatch: tensor-level wrappers for the kernels that ops.ts, tape.ts
// and optim.ts need (gemm, Björck iterated and spectral and GroupSort
// forward/backward, row bias, column sums, sigmoid, softplus, axpby, adamStep),
// each running the WASM kernel for f32 tensors and the TypeScript reference for
// f64 ones, plus the generic host loops (map, map2, mapWith) for cheap
// elementwise work, and f32-only kernels that ops.pointwise runs in place of
// its scalar function (cbLogLik). Not wrapped: syrk (used inside the Björck kernel), scale
// (there and in columnSums), gemm64, eigSym, bjorckSpectralCoeffs and the other
// spectral kernels (inside the spectral Björck, src/engine/spectral.ts and
// bjorckSpectralBackward) and peakMulAdd (benchmark only). The autodiff rules are written
// only against these functions, so the same rules run on both paths and the
// f64 path can check the f32 one. Every function here allocates its output
// before it takes any typed-array view.

import { engine } from "./engine.js";
import { type Data, empty, type Tensor } from "./tensor.js";
import {
  type BinaryOp, type UnaryOp, refAdamStep, refBinary, refUnary, refBjorckBackward, refBjorckForward,
  refBjorckSpectralBackward, refBjorckSpectralForward, refGemm,
  refGroupsortBackward, refGroupsortForward, refSigmoid, refSoftplus, type RefSpectralSaved,
} from "./reference.js";
import { spectralForwardMany, spectralWorkspaceBytes } from "./spectral.js";

/** out = alpha op(A) op(B) into a new tensor. */
export function gemm(transA: boolean, transB: boolean, a: Tensor, b: Tensor, alpha = 1): Tensor {
  const [ar, ac] = a.shape, [br, bc] = b.shape;
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const n = transB ? br : bc;
  const out = empty([m, n], a.dtype);
  if (a.dtype === "f32") {
    const e = engine();
    const work = e.workspace(e.kernels.gemmWorkspaceBytes());
    e.kernels.gemm(+transA, +transB, m, n, k, alpha, a.ptr, ac, b.ptr, bc, 0, out.ptr, n, work);
  } else {
    refGemm(+transA, +transB, m, n, k, alpha, a.data, ac, b.data, bc, 0, out.data, n);
  }
  return out;
}

/** Saved Björck state: opaque to callers, consumed by bjorckBackward. */
export interface BjorckSaved {
  rows: number;
  cols: number;
  iters: number;
  beta: number;
  /** f32: one arena tensor holding [A_0, P_0, ...]; f64: arrays. */
  buffer: Tensor | null;
  host: { a: Float64Array; p: Float64Array }[] | null;
}

/**
 * K Björck steps; with tol >= 0 the iteration stops early once ||P_k - I||_F <= tol
 * (assembly/bjorck.ts, bjorckForwardTol). saved.iters is the number of steps done.
 */
export function bjorckForward(w: Tensor, iters: number, beta: number, save: boolean, tol = -1): { out: Tensor; saved: BjorckSaved | null } {
  const [r, c] = w.shape;
  if (w.dtype === "f64") {
    const { out, saved } = refBjorckForward(r, c, iters, beta, w.data, tol);
    const t = empty([r, c], "f64");
    t.data.set(out);
    return { out: t, saved: save ? { rows: r, cols: c, iters: saved.length, beta, buffer: null, host: saved } : null };
  }
  const e = engine();
  const out = empty([r, c]);
  const buffer = save && iters > 0 ? empty([e.kernels.bjorckSaveFloats(r, c, iters)]) : null;
  const work = e.workspace(e.kernels.bjorckWorkspaceBytes(r, c));
  let done = iters;
  if (tol >= 0) done = e.kernels.bjorckForwardTol(r, c, iters, beta, tol, w.ptr, out.ptr, buffer ? buffer.ptr : 0, work);
  else e.kernels.bjorckForward(r, c, iters, beta, w.ptr, out.ptr, buffer ? buffer.ptr : 0, work);
  return { out, saved: save ? { rows: r, cols: c, iters: done, beta, buffer, host: null } : null };
}

export function bjorckBackward(saved: BjorckSaved, gOut: Tensor): Tensor {
  const { rows: r, cols: c, iters, beta } = saved;
  if (gOut.dtype === "f64") {
    const g = refBjorckBackward(r, c, beta, saved.host!, gOut.data);
    const t = empty([r, c], "f64");
    t.data.set(g);
    return t;
  }
  const e = engine();
  const gIn = empty([r, c]);
  const work = e.workspace(e.kernels.bjorckWorkspaceBytes(r, c));
  e.kernels.bjorckBackward(r, c, iters, beta, saved.buffer ? saved.buffer.ptr : 0, gOut.ptr, gIn.ptr, work);
  return gIn;
}

/** Saved state of the spectral Björck: opaque to callers, consumed by bjorckSpectralBackward. */
export interface BjorckSpectralSaved {
  rows: number;
  cols: number;
  iters: number;
  beta: number;
  /** f32: U^T (s x s) and V = U^T X (s x l) as arena tensors, eigenvalues and q_K on the host. */
  zt: Tensor | null;
  v: Tensor | null;
  lam: Float64Array;
  q: Float64Array;
  /** f64: the reference's state. */
  host: RefSpectralSaved | null;
}

/** K Björck steps through the eigendecomposition of the smaller Gram (src/engine/spectral.ts). */
export function bjorckSpectralForward(w: Tensor, iters: number, beta: number, save: boolean, tol = -1): { out: Tensor; saved: BjorckSpectralSaved | null } {
  return bjorckSpectralForwardMany([w], iters, beta, save, tol)[0];
}

/**
 * bjorckSpectralForward on several weights, with the same results: f32 weights
 * go through one spectralForwardMany, whose eigendecompositions run side by side.
 */
export function bjorckSpectralForwardMany(ws: Tensor[], iters: number, beta: number, save: boolean, tol = -1): { out: Tensor; saved: BjorckSpectralSaved | null }[] {
  type Forward = { out: Tensor; saved: BjorckSpectralSaved | null };
  const results: Forward[] = new Array(ws.length);
  const f32: { i: number; r: number; c: number; w: Tensor; out: Tensor; zt: Tensor | null; v: Tensor | null }[] = [];
  ws.forEach((w, i) => {
    const [r, c] = w.shape;
    const s = Math.min(r, c), l = Math.max(r, c);
    if (w.dtype === "f64") {
      const { out, steps, saved } = refBjorckSpectralForward(r, c, iters, beta, w.data, tol);
      const t = empty([r, c], "f64");
      t.data.set(out);
      results[i] = { out: t, saved: save ? { rows: r, cols: c, iters: steps, beta, zt: null, v: null, lam: saved.lam, q: saved.q, host: saved } : null };
    } else {
      f32.push({ i, r, c, w, out: empty([r, c]), zt: save ? empty([s, s]) : null, v: save ? empty([s, l]) : null });
    }
  });
  if (f32.length > 0) {
    const e = engine();
    const work = e.workspace(Math.max(...f32.map(({ r, c }) => spectralWorkspaceBytes(e.kernels, r, c, iters))));
    const raw = spectralForwardMany(e.kernels, e.arena, f32.map(({ r, c, w, out, zt, v }) =>
      ({ r, c, w: w.ptr, out: out.ptr, save: zt && v ? { zt: zt.ptr, v: v.ptr } : null })), iters, beta, tol, work);
    f32.forEach(({ i, r, c, out, zt, v }, j) => {
      const { lam, q, steps } = raw[j];
      results[i] = { out, saved: save ? { rows: r, cols: c, iters: steps, beta, zt, v, lam, q, host: null } : null };
    });
  }
  return results;
}

/**
 * dL/dW from dL/dW_K. With X = W (wide) or W^T (tall), A = U^T dOut_X,
 * M = A V^T, D the divided differences of q_K at the eigenvalues:
 *   dX = U (diag(q) A + (D o (M + M^T)) V)
 * (the derivation is at refBjorckSpectralBackward). Four f32 GEMMs of
 * s^2 l each, plus D o (M + M^T) from the O(s^2 K) divided differences in
 * f64 (one threaded kernel that never stores D).
 */
export function bjorckSpectralBackward(saved: BjorckSpectralSaved, gOut: Tensor): Tensor {
  const { rows: r, cols: c, iters, beta } = saved;
  if (gOut.dtype === "f64") {
    const g = refBjorckSpectralBackward(r, c, iters, beta, saved.host!, gOut.data);
    const t = empty([r, c], "f64");
    t.data.set(g);
    return t;
  }
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  const e = engine(), k = e.kernels;
  const zt = saved.zt!.ptr, v = saved.v!.ptr;
  const a = empty([s, l]), m = empty([s, s]), sm = empty([s, s]), t = empty([s, l]), dw = empty([r, c]);
  const lam = e.arena.alloc(s * 8), q = e.arena.alloc(s * 8);
  try {
    const work = e.workspace(Math.max(k.gemmWorkspaceBytes(), k.bjorckSpectralWorkspaceBytes(s, iters)));
    if (wide) k.gemm(0, 0, s, l, s, 1, zt, s, gOut.ptr, c, 0, a.ptr, l, work);
    else k.gemm(0, 1, s, l, s, 1, zt, s, gOut.ptr, c, 0, a.ptr, l, work);
    k.gemm(0, 1, s, s, l, 1, a.ptr, l, v, l, 0, m.ptr, s, work);
    e.arena.f64(lam, s).set(saved.lam);
    k.bjorckSpectralHadamard(s, lam, iters, beta, m.ptr, sm.ptr, work);
    // T = diag(q) A, then T += S V.
    e.arena.f64(q, s).set(saved.q);
    k.spectralScaleRows(s, l, q, a.ptr, 1, t.ptr);
    k.gemm(0, 0, s, l, s, 1, sm.ptr, s, v, l, 1, t.ptr, l, work);
    if (wide) k.gemm(1, 0, r, c, s, 1, zt, s, t.ptr, l, 0, dw.ptr, c, work);
    else k.gemm(1, 0, r, c, s, 1, t.ptr, l, zt, s, 0, dw.ptr, c, work);
    return dw;
  } finally {
    e.arena.free(lam, s * 8);
    e.arena.free(q, s * 8);
    for (const x of [a, m, sm, t]) x.dispose();
  }
}

export function groupsortForward(x: Tensor, group: number): Tensor {
  const y = empty(x.shape, x.dtype);
  if (x.dtype === "f32") engine().kernels.groupsortForward(x.size, group, x.ptr, y.ptr);
  else refGroupsortForward(group, x.data, y.data);
  return y;
}

export function groupsortBackward(x: Tensor, dy: Tensor, group: number): Tensor {
  const dx = empty(x.shape, x.dtype);
  if (x.dtype === "f32") {
    const e = engine();
    const idx = e.workspace(group * 4);
    e.kernels.groupsortBackward(x.size, group, x.ptr, dy.ptr, dx.ptr, idx);
  } else {
    refGroupsortBackward(group, x.data, dy.data, dx.data);
  }
  return dx;
}

/** out[i, j] = alpha (x[i, j] + bias[j]). */
export function addRowBias(x: Tensor, bias: Tensor, alpha = 1): Tensor {
  const [m, n] = x.shape;
  const out = empty(x.shape, x.dtype);
  if (x.dtype === "f32") {
    engine().kernels.addRowBias(m, n, x.ptr, bias.ptr, alpha, out.ptr);
  } else {
    const xd = x.data, bd = bias.data, od = out.data;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) od[i * n + j] = alpha * (xd[i * n + j] + bd[j]);
  }
  return out;
}

/** Column sums of an m x n matrix, times alpha. */
export function columnSums(x: Tensor, alpha = 1): Tensor {
  const [m, n] = x.shape;
  const out = empty([n], x.dtype);
  if (x.dtype === "f32") {
    const e = engine();
    e.kernels.columnSums(m, n, x.ptr, out.ptr);
    if (alpha !== 1) e.kernels.scale(n, alpha, out.ptr);
  } else {
    const xd = x.data, od = out.data;
    od.fill(0);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) od[j] += xd[i * n + j];
    if (alpha !== 1) for (let j = 0; j < n; j++) od[j] *= alpha;
  }
  return out;
}

export function sigmoid(x: Tensor): Tensor {
  const y = empty(x.shape, x.dtype);
  if (x.dtype === "f32") engine().kernels.sigmoid(x.size, x.ptr, y.ptr);
  else mapInto(x, y, refSigmoid);
  return y;
}

export function softplus(x: Tensor): Tensor {
  const y = empty(x.shape, x.dtype);
  if (x.dtype === "f32") engine().kernels.softplus(x.size, x.ptr, y.ptr);
  else mapInto(x, y, refSoftplus);
  return y;
}

/** y[i] = alpha x[i] + beta y[i] in place on y. */
export function axpbyInPlace(alpha: number, x: Tensor, beta: number, y: Tensor): void {
  if (x.dtype === "f32") {
    engine().kernels.axpby(x.size, alpha, x.ptr, beta, y.ptr);
  } else {
    const xd = x.data, yd = y.data;
    for (let i = 0; i < xd.length; i++) yd[i] = alpha * xd[i] + beta * yd[i];
  }
}

/** Adam's update of p in place, with moments m and v updated in place (torch.optim.Adam's formula). */
export function adamStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor,
  b1: number, b2: number, stepSize: number, vScale: number, eps: number): void {
  if (p.dtype === "f32") {
    engine().kernels.adamStep(p.size, p.ptr, g.ptr, m.ptr, v.ptr, b1, b2, stepSize, vScale, eps);
  } else {
    refAdamStep(p.data, g.data, m.data, v.data, b1, b2, stepSize, vScale, eps);
  }
}

/** Elementwise binary operations with a WASM kernel (codes as in assembly/elementwise.ts). */
const BINARY: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, reluGrad: 3 };

/** out = a op b elementwise (reluGrad: a = upstream gradient, b = x). Shapes already checked. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const out = empty(a.shape, a.dtype);
  if (a.dtype === "f32") engine().kernels.binaryMap(BINARY[op], a.size, a.ptr, b.ptr, out.ptr);
  else refBinary(op, a.data, b.data, out.data);
  return out;
}

/** Elementwise unary operations with a WASM kernel: alpha x + beta, alpha x, x², relu. */
const UNARY: Record<UnaryOp, number> = { affine: 0, square: 1, relu: 2, scale: 3 };

export function unary(op: UnaryOp, x: Tensor, alpha = 1, beta = 0): Tensor {
  const out = empty(x.shape, x.dtype);
  if (x.dtype === "f32") engine().kernels.unaryMap(UNARY[op], x.size, x.ptr, alpha, beta, out.ptr);
  else refUnary(op, x.data, alpha, beta, out.data);
  return out;
}

/** y = f(x) elementwise into a new tensor (the generic path for cheap ops). */
export function map(x: Tensor, f: (v: number, i: number) => number): Tensor {
  const y = empty(x.shape, x.dtype);
  mapInto(x, y, f);
  return y;
}

/** out = f(a, b) elementwise (shapes already checked). */
export function map2(a: Tensor, b: Tensor, f: (u: number, v: number, i: number) => number): Tensor {
  const out = empty(a.shape, a.dtype);
  const ad = a.data, bd = b.data, od = out.data;
  for (let i = 0; i < od.length; i++) od[i] = f(ad[i], bd[i], i);
  return out;
}

/** y = f(x[i], view of w, i): like map, with a second tensor of any shape read through its view. */
export function mapWith(x: Tensor, w: Tensor, f: (v: number, wd: Data, i: number) => number): Tensor {
  const y = empty(x.shape, x.dtype);
  const xd = x.data, wd = w.data, yd = y.data;
  for (let i = 0; i < xd.length; i++) yd[i] = f(xd[i], wd, i);
  return y;
}

function mapInto(x: Tensor, y: Tensor, f: (v: number, i: number) => number): void {
  const xd = x.data, yd = y.data;
  for (let i = 0; i < xd.length; i++) yd[i] = f(xd[i], i);
}

/**
 * An elementwise kernel for ops.pointwise on f32 tensors: fills out with
 * f(h, x) and, when d is given, d with ∂f/∂h (shapes already checked).
 */
export type PointwiseKernel = (h: Tensor, x: Tensor, out: Tensor, d: Tensor | null) => void;

/** The continuous-Bernoulli log-density and its derivative (assembly/likelihood.ts; f32 only). */
export const cbLogLik: PointwiseKernel = (h, x, out, d) => {
  engine().kernels.cbLogLik(h.size, h.ptr, x.ptr, out.ptr, d ? d.ptr : 0);
};
