// Two differentiable row operations the attacks need and the engine does not
// have: repeating rows (one perturbation shared by several noise draws) and
// per-row Euclidean norms (the max-damage distance, the soft latent penalty).
// They attach their backward rules through the engine's Node interface.

import { type Tensor, empty } from "../engine/tensor.js";
import { gradEnabled } from "../engine/tape.js";

function attach(out: Tensor, op: string, input: Tensor, backward: (g: Tensor) => Tensor): Tensor {
  if (gradEnabled() && input.requiresGrad) {
    out.requiresGrad = true;
    out.node = { op, inputs: [input], saved: [], backward: (g) => [backward(g)] };
  }
  return out;
}

/** x [m, n] -> [m·k, n] with row i·k + j = x[i] (repeat-interleave). */
export function repeatRows(x: Tensor, k: number): Tensor {
  const [m, n] = x.shape;
  if (k === 1) return x;
  const out = empty([m * k, n], x.dtype);
  const xd = x.data, od = out.data;
  for (let i = 0; i < m; i++) {
    const row = xd.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < k; j++) od.set(row, (i * k + j) * n);
  }
  return attach(out, "repeatRows", x, (g) => {
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
    return dx;
  });
}

/** ‖x_i‖₂ per row of x [m, n] -> [m]; the gradient at a zero row is taken as 0. */
export function rowNorms(x: Tensor): Tensor {
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
  return attach(out, "rowNorms", x, (g) => {
    const dx = empty([m, n], x.dtype);
    const gd = g.data, xv = x.data, dd = dx.data;
    for (let i = 0; i < m; i++) {
      const f = norms[i] > 0 ? gd[i] / norms[i] : 0;
      for (let c = 0; c < n; c++) dd[i * n + c] = f * xv[i * n + c];
    }
    return dx;
  });
}

/** Rows [i·n, (i+1)·n) of a batch as a new Float32Array repeated k times (interleaved). */
export function repeatArrayRows(a: Float32Array, n: number, k: number): Float32Array {
  const m = a.length / n;
  const out = new Float32Array(m * k * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) out.set(a.subarray(i * n, (i + 1) * n), (i * k + j) * n);
  return out;
}
