// The differentiable operations and their derivative rules, all in one place.
//
// Each primitive computes its forward value with the kernels in kernels.ts
// and, when gradients are being recorded, attaches a Node whose backward rule
// sits right below the forward. Composite operations (mean, neg, kl, ...) are
// built from primitives and need no rule of their own.
//
// Every function this module exports is a differentiable op (test/ops-table
// enumerates them and fails for one without a gradient check). Host-side
// loops take typed-array views only after the op's allocations; the memory
// is shared besides (see arena.ts), so a view can never be detached.
//
// NOTE: shapes never broadcast silently. Mismatches throw an error naming the
// op and both shapes.

import { type Node, type Tensor, empty, sameShape, shapeError, tensor } from "./tensor.js";
import * as K from "./kernels.js";
import { afterOp, gradEnabled } from "./tape.js";

/** Runs the tape's per-op hook (pending Ctrl-C, anomaly checks), then attaches a backward rule to `out` if any input needs a gradient. */
function record(out: Tensor, op: string, inputs: Tensor[], saved: Tensor[], backward: Node["backward"]): Tensor {
  afterOp(op, out, inputs);
  if (gradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, saved, backward };
  }
  return out;
}

function requireSame(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) shapeError(op, `dtypes differ (${a.dtype} vs ${b.dtype})`, a, b);
  if (!sameShape(a.shape, b.shape)) shapeError(op, "shapes must be equal (no broadcasting)", a, b);
}

function requireRank(op: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) shapeError(op, `expected a rank-${rank} tensor`, t);
}

// ===========================================================================
// Linear algebra

/** op(a) @ op(b), with op = transpose where asked; no transpose is ever materialised. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  requireRank("matmul", a, 2);
  requireRank("matmul", b, 2);
  if (a.dtype !== b.dtype) shapeError("matmul", `dtypes differ (${a.dtype} vs ${b.dtype})`, a, b);
  const k1 = transA ? a.shape[0] : a.shape[1];
  const k2 = transB ? b.shape[1] : b.shape[0];
  if (k1 !== k2) shapeError("matmul", `inner dimensions differ (${k1} vs ${k2}; transA=${transA}, transB=${transB})`, a, b);
  const out = K.gemm(transA, transB, a, b);
  return record(out, "matmul", [a, b], [], (g, needs) => [
    // C = op(A) op(B):  dA = g op(B)^T (or its transpose),  dB = op(A)^T g (or its transpose)
    needs[0] ? (transA ? K.gemm(transB, true, b, g) : K.gemm(false, !transB, g, b)) : null,
    needs[1] ? (transB ? K.gemm(true, transA, g, a) : K.gemm(!transA, false, a, g)) : null,
  ]);
}

/**
 * Björck orthonormalisation of W (order 1): K iterations of
 * W <- (1+beta) W - beta W W^T W, fused, with the hand-written backward.
 * With a tolerance, the iteration stops before a step whose input already
 * has ||P - I||_F <= tolerance, P the smaller Gram (so sigma_max <= sqrt(1 + tol)).
 */
export function bjorck(w: Tensor, iters: number, beta = 0.5, tolerance: number | null = null): Tensor {
  requireRank("bjorck", w, 2);
  checkBjorckArgs("bjorck", iters, tolerance);
  const track = gradEnabled() && w.requiresGrad;
  const { out, saved } = K.bjorckForward(w, iters, beta, track, tolerance ?? -1);
  const keepAlive = saved?.buffer ? [saved.buffer] : [];
  // Rule: the kernel assembly/bjorck.ts bjorckBackward replays the saved iterates in reverse.
  return record(out, "bjorck", [w], keepAlive, (g) => [K.bjorckBackward(saved!, g)]);
}

function checkBjorckArgs(op: string, iters: number, tolerance: number | null): void {
  if (!Number.isInteger(iters) || iters < 0) throw new Error(`${op}: iterations must be a non-negative integer (got ${iters})`);
  if (tolerance !== null && !(tolerance >= 0)) throw new Error(`${op}: the tolerance must be a number >= 0 (got ${tolerance})`);
}

/**
 * The same W_K as bjorck(w, iters, beta, tolerance), up to rounding, at a cost that does
 * not grow with K: K steps act on each singular value alone, so they are one
 * function of the smaller Gram, applied through its f64 eigendecomposition
 * (src/engine/spectral.ts). Backward: Daleckii-Krein with divided differences
 * that stay exact where eigenvalues coincide (assembly/spectral.ts). The
 * tolerance rule is bjorck's, evaluated on the eigenvalues.
 */
export function bjorckSpectral(w: Tensor, iters: number, beta = 0.5, tolerance: number | null = null): Tensor {
  return bjorckSpectralMany([w], iters, beta, tolerance)[0];
}

/**
 * bjorckSpectral of each weight, with the same values and gradients (each
 * output its own op on the tape); their eigendecompositions run side by side
 * on the kernel threads, which a layer at a time cannot do.
 */
export function bjorckSpectralMany(ws: Tensor[], iters: number, beta = 0.5, tolerance: number | null = null): Tensor[] {
  for (const w of ws) requireRank("bjorckSpectral", w, 2);
  checkBjorckArgs("bjorckSpectral", iters, tolerance);
  const track = gradEnabled() && ws.some((w) => w.requiresGrad);
  const forwards = K.bjorckSpectralForwardMany(ws, iters, beta, track, tolerance ?? -1);
  return forwards.map(({ out, saved }, i) => {
    const keepAlive = saved?.zt && saved.v ? [saved.zt, saved.v] : [];
    return record(out, "bjorckSpectral", [ws[i]], keepAlive, (g) => [K.bjorckSpectralBackward(saved!, g)]);
  });
}

/**
 * A scaled affine layer, s (x W^T + b), with W stored [out, in] as torch's Linear.
 * Fused so that the scale costs nothing extra (it rides on the bias pass).
 */
export function affine(x: Tensor, w: Tensor, b: Tensor, s = 1): Tensor {
  requireRank("affine", x, 2);
  requireRank("affine", w, 2);
  if (x.shape[1] !== w.shape[1]) shapeError("affine", `input width ${x.shape[1]} differs from the weight's in-dimension ${w.shape[1]}`, x, w);
  if (b.rank !== 1 || b.shape[0] !== w.shape[0]) shapeError("affine", "bias must have one entry per output", w, b);
  const out = K.addRowBias(K.gemm(false, true, x, w), b, s);
  // The scale rides on the kernels' alpha: no extra pass over g.
  return record(out, "affine", [x, w, b], [], (g, needs) => [
    needs[0] ? K.gemm(false, false, g, w, s) : null,   // dx = s g W
    needs[1] ? K.gemm(true, false, g, x, s) : null,    // dW = s g^T x
    needs[2] ? K.columnSums(g, s) : null,              // db = s colsum(g)
  ]);
}

// ===========================================================================
// Broadcasts and reductions

/** x[m, n] + bias[n] on every row. */
export function addBias(x: Tensor, bias: Tensor): Tensor {
  requireRank("addBias", x, 2);
  if (bias.rank !== 1 || bias.shape[0] !== x.shape[1] || bias.dtype !== x.dtype) {
    shapeError("addBias", "bias must be a vector with one entry per column", x, bias);
  }
  const out = K.addRowBias(x, bias);
  return record(out, "addBias", [x, bias], [], (g, needs) => [
    needs[0] ? g : null,
    needs[1] ? K.columnSums(g) : null,
  ]);
}

/** x[m, n] + v[m] on every column (a per-row offset). */
export function addColumn(x: Tensor, v: Tensor): Tensor {
  requireRank("addColumn", x, 2);
  const [m, n] = x.shape;
  if (v.rank !== 1 || v.shape[0] !== m || v.dtype !== x.dtype) shapeError("addColumn", "the offset must be a vector with one entry per row", x, v);
  const out = K.mapWith(x, v, (xv, vd, i) => xv + vd[Math.floor(i / n)]);
  return record(out, "addColumn", [x, v], [], (g, needs) => [needs[0] ? g : null, needs[1] ? sumRowsValue(g) : null]);
}

function sumRowsValue(x: Tensor): Tensor {
  const [m, n] = x.shape;
  const out = empty([m], x.dtype);
  const xd = x.data, od = out.data;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += xd[i * n + j];
    od[i] = s;
  }
  return out;
}

/** Sum of all elements, as a scalar tensor. */
export function sum(x: Tensor): Tensor {
  const d = x.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  const out = tensor([s], [], x.dtype);
  return record(out, "sum", [x], [], (g) => {
    const gv = g.item();
    return [K.map(x, () => gv)];
  });
}

/** Row sums of x[m, n] -> [m] (per-example totals). */
export function sumRows(x: Tensor): Tensor {
  requireRank("sumRows", x, 2);
  const n = x.shape[1];
  const out = sumRowsValue(x);
  return record(out, "sumRows", [x], [], (g) => [K.mapWith(x, g, (_, gd, i) => gd[Math.floor(i / n)])]);
}

// ===========================================================================
// Elementwise: binary

export function add(a: Tensor, b: Tensor): Tensor {
  requireSame("add", a, b);
  const out = K.binary("add", a, b);
  return record(out, "add", [a, b], [], (g, needs) => [needs[0] ? g : null, needs[1] ? g : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  requireSame("sub", a, b);
  const out = K.binary("sub", a, b);
  return record(out, "sub", [a, b], [], (g, needs) => [needs[0] ? g : null, needs[1] ? scale(g, -1) : null]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  requireSame("mul", a, b);
  const out = K.binary("mul", a, b);
  return record(out, "mul", [a, b], [], (g, needs) => [
    needs[0] ? K.binary("mul", g, b) : null,
    needs[1] ? K.binary("mul", g, a) : null,
  ]);
}

// ===========================================================================
// Elementwise: unary

/** s * x for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  const out = K.unary("scale", x, s);
  return record(out, "scale", [x], [], (g) => [K.unary("scale", g, s)]);
}

/** x + c for a constant c. */
export function addScalar(x: Tensor, c: number): Tensor {
  const out = K.unary("affine", x, 1, c);
  return record(out, "addScalar", [x], [], (g) => [g]);
}

export function square(x: Tensor): Tensor {
  const out = K.unary("square", x);
  return record(out, "square", [x], [], (g) => [K.map2(g, x, (u, v) => 2 * u * v)]);
}

export function exp(x: Tensor): Tensor {
  const out = K.map(x, Math.exp);
  return record(out, "exp", [x], [out], (g) => [K.map2(g, out, (u, v) => u * v)]);
}

export function log(x: Tensor): Tensor {
  const out = K.map(x, Math.log);
  return record(out, "log", [x], [], (g) => [K.map2(g, x, (u, v) => u / v)]);
}

export function sigmoid(x: Tensor): Tensor {
  const out = K.sigmoid(x);
  return record(out, "sigmoid", [x], [out], (g) => [K.map2(g, out, (u, s) => u * s * (1 - s))]);
}

/** log(1 + e^x), stable. Its derivative is sigmoid(x). */
export function softplus(x: Tensor): Tensor {
  const out = K.softplus(x);
  return record(out, "softplus", [x], [], (g) => {
    const s = K.sigmoid(x);
    return [K.map2(g, s, (u, v) => u * v)];
  });
}

/** ReLU; the derivative at 0 is taken as 0. NaN stays NaN (as torch). */
export function relu(x: Tensor): Tensor {
  const out = K.unary("relu", x);
  return record(out, "relu", [x], [], (g) => [K.binary("reluGrad", g, x)]);
}

/** GroupSort with contiguous groups of `group` values (2 = MaxMin). Stable: ties keep order. */
export function groupsort(x: Tensor, group = 2): Tensor {
  const width = x.shape[x.rank - 1];
  if (!Number.isInteger(group) || group < 1 || width % group !== 0) {
    shapeError("groupsort", `group size ${group} must divide the last dimension ${width}`, x);
  }
  const out = K.groupsortForward(x, group);
  return record(out, "groupsort", [x], [], (g) => [K.groupsortBackward(x, g, group)]);
}

/**
 * Rescales each row of x[m, n] to norm at most maxNorm: x * min(1, maxNorm/||x||).
 * A projection onto a ball, so 1-Lipschitz. Rows of norm 0 pass through.
 */
export function clipRowNorm(x: Tensor, maxNorm: number): Tensor {
  requireRank("clipRowNorm", x, 2);
  const [m, n] = x.shape;
  const xd = x.data;
  const norms = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += xd[i * n + j] ** 2;
    norms[i] = Math.sqrt(s);
  }
  const factor = (i: number) => (norms[i] > maxNorm ? maxNorm / norms[i] : 1);
  const out = K.map(x, (v, idx) => v * factor(Math.floor(idx / n)));
  return record(out, "clipRowNorm", [x], [], (g) => {
    // Clipped row: y = c x/|x|  =>  dx = (c/|x|) (g - u (u.g)), u = x/|x|.
    const dx = empty(x.shape, x.dtype);
    const gd = g.data, xv = x.data, dd = dx.data;
    for (let i = 0; i < m; i++) {
      const r = norms[i];
      if (!(r > maxNorm)) {
        for (let j = 0; j < n; j++) dd[i * n + j] = gd[i * n + j];
        continue;
      }
      let dot = 0;
      for (let j = 0; j < n; j++) dot += (xv[i * n + j] / r) * gd[i * n + j];
      for (let j = 0; j < n; j++) dd[i * n + j] = (maxNorm / r) * (gd[i * n + j] - (xv[i * n + j] / r) * dot);
    }
    return [dx];
  });
}

// ===========================================================================
// Pointwise functions given by their scalar form

/**
 * out = f(h, x) elementwise, differentiable in h; x is data (no gradient).
 * `fdf(h, x, d)` returns f and, when d is given, writes ∂f/∂h into d[0]: value
 * and derivative share their work in one pass, and the derivative is kept for
 * the backward only when a gradient is being recorded. Model maths with a
 * scalar closed form (the continuous-Bernoulli log-density in
 * src/model/likelihood.ts) uses this instead of a derivative rule of its own.
 * `f32Kernel`, when given, computes the same f and ∂f/∂h for f32 tensors in
 * one WASM call (kernels.ts); fdf stays the definition and the f64 path.
 */
export function pointwise(name: string, h: Tensor, x: Tensor,
  fdf: (h: number, x: number, d: Float64Array | null) => number, f32Kernel?: K.PointwiseKernel): Tensor {
  requireSame(name, h, x);
  const out = empty(h.shape, h.dtype);
  const dh = gradEnabled() && h.requiresGrad ? empty(h.shape, h.dtype) : null;
  if (f32Kernel && h.dtype === "f32") {
    f32Kernel(h, x, out, dh);
  } else {
    const hd = h.data, xd = x.data, od = out.data, dd = dh ? dh.data : null;
    const d = dd ? new Float64Array(1) : null;
    for (let i = 0; i < od.length; i++) {
      od[i] = fdf(hd[i], xd[i], d);
      if (dd) dd[i] = d![0];
    }
  }
  return record(out, name, [h, x], dh ? [dh] : [], (g, needs) => {
    if (needs[1] || !dh) throw new Error(`${name}: no gradient with respect to the data argument`);
    return [K.binary("mul", g, dh), null];
  });
}

// ===========================================================================
// Row operations

/** x [m, n] -> [m·k, n] with row i·k + j = x[i] (repeat-interleave). */
export function repeatRows(x: Tensor, k: number): Tensor {
  requireRank("repeatRows", x, 2);
  if (!Number.isInteger(k) || k < 1) throw new Error(`repeatRows: the repeat count must be a positive integer (got ${k})`);
  if (k === 1) return x;
  const [m, n] = x.shape;
  const out = empty([m * k, n], x.dtype);
  const xd = x.data, od = out.data;
  for (let i = 0; i < m; i++) {
    const row = xd.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < k; j++) od.set(row, (i * k + j) * n);
  }
  return record(out, "repeatRows", [x], [], (g) => {
    // The gradient of a shared row is the sum over its copies.
    const dx = empty([m, n], x.dtype);
    const gd = g.data, dd = dx.data;
    dd.fill(0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < k; j++) {
        const base = (i * k + j) * n;
        for (let c = 0; c < n; c++) dd[i * n + c] += gd[base + c];
      }
    }
    return [dx];
  });
}

/** ‖x_i‖₂ per row of x [m, n] -> [m]; the gradient at a zero row is taken as 0. */
export function rowNorms(x: Tensor): Tensor {
  requireRank("rowNorms", x, 2);
  const [m, n] = x.shape;
  const out = empty([m], x.dtype);
  const xd = x.data, od = out.data;
  const norms = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += xd[i * n + c] ** 2;
    norms[i] = Math.sqrt(s);
    od[i] = norms[i];
  }
  return record(out, "rowNorms", [x], [], (g) => {
    const dx = empty([m, n], x.dtype);
    const gd = g.data, xv = x.data, dd = dx.data;
    for (let i = 0; i < m; i++) {
      // 0 at a zero row; a NaN norm keeps its NaN.
      const f = norms[i] === 0 ? 0 : gd[i] / norms[i];
      for (let c = 0; c < n; c++) dd[i * n + c] = f * xv[i * n + c];
    }
    return [dx];
  });
}

// ===========================================================================
// Composites (no rules of their own)

export function neg(x: Tensor): Tensor {
  return scale(x, -1);
}

export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.size);
}

/** log(sigmoid(x)) = -softplus(-x), without the log of an underflowed sigmoid. */
export function logSigmoid(x: Tensor): Tensor {
  return neg(softplus(neg(x)));
}
