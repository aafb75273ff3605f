// Graphs of several ops against central finite differences in f64, the same
// graphs on f32 (WASM kernels) against f64, and the tape's behaviour. Each op
// on its own is checked in ops-table.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor, tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, noGrad, requireGrad } from "../src/engine/tape.js";
import { cbLogLik } from "../src/model/likelihood.js";
import { assertClose, rng, uniform } from "./helpers.js";

type Build = (xs: Tensor[]) => Tensor;

/** Reduces any output to a scalar with fixed random weights, so every output element matters. */
function weightedSum(out: Tensor, seed: number): Tensor {
  const w = tensor(uniform(rng(seed), out.size, 0.5, 1.5), out.shape, out.dtype);
  return ops.sum(ops.mul(out, w));
}

/** Analytic gradient (f64) vs central differences with step h. */
function gradCheck(name: string, build: Build, inputs: { values: Float64Array; shape: number[]; constant?: boolean }[],
  opts: { h?: number; atol?: number; rtol?: number } = {}): void {
  const h = opts.h ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-5;
  tidy(() => {
    const xs = inputs.map((i) => {
      const t = tensor(i.values, i.shape, "f64");
      return i.constant ? t : requireGrad(t);
    });
    const loss = weightedSum(build(xs), 99);
    const wrt = xs.filter((_, i) => !inputs[i].constant);
    const analytic = grad(loss, wrt).map((g) => Float64Array.from(g.data));
    const evalAt = (idx: number, j: number, delta: number) => noGrad(() => tidy(() => {
      const vals = inputs.map((i, n) => {
        const v = Float64Array.from(i.values);
        if (n === idx) v[j] += delta;
        return tensor(v, i.shape, "f64");
      });
      return weightedSum(build(vals), 99).item();
    }));
    let w = 0;
    inputs.forEach((input, idx) => {
      if (input.constant) return;
      const numeric = new Float64Array(input.values.length);
      for (let j = 0; j < numeric.length; j++) numeric[j] = (evalAt(idx, j, h) - evalAt(idx, j, -h)) / (2 * h);
      assertClose(analytic[w++], numeric, atol, rtol, `${name}: d/dinput${idx}`);
    });
  });
}

const r = rng(17);
const mat = (m: number, n: number, lo = -1, hi = 1) => ({ values: uniform(r, m * n, lo, hi), shape: [m, n] });

test("continuous-Bernoulli log-likelihood: gradient in every branch", () => {
  // Logits spanning the Taylor window (|h| < 0.004), both sides, and large values.
  const h = Float64Array.from([-8, -2.5, -0.3, -0.002, 0.0015, 0.3, 2.5, 8, 0.01, -0.01]);
  const x = uniform(r, h.length, 0, 1);
  gradCheck("cbLogLik", ([a, b]) => cbLogLik(a, b), [{ values: h, shape: [2, 5] }, { values: x, shape: [2, 5], constant: true }],
    { h: 1e-7, atol: 1e-5, rtol: 1e-5 });
});

test("a small network (affine, GroupSort, sigmoid) end to end", () => {
  const build: Build = ([x, w1, b1, w2]) => {
    const h = ops.groupsort(ops.scale(ops.addBias(ops.matmul(x, ops.bjorck(w1, 2), false, true), b1), 1.3), 2);
    return ops.sigmoid(ops.matmul(h, w2, false, true));
  };
  gradCheck("net", build, [mat(3, 5), mat(4, 5, -0.4, 0.4), { values: uniform(r, 4), shape: [4] }, mat(2, 4)]);
});

/** The same graph on f32 (WASM kernels) and on f64 gives the same gradients. */
test("f32 (WASM) gradients agree with f64 gradients", () => {
  const shapes = { x: [6, 9], w1: [10, 9], b1: [10], w2: [3, 10] };
  const vals = {
    x: uniform(r, 54), w1: uniform(r, 90, -0.3, 0.3), b1: uniform(r, 10), w2: uniform(r, 30, -0.3, 0.3),
  };
  const run = (dtype: "f32" | "f64") => tidy(() => {
    const x = tensor(vals.x, shapes.x, dtype);
    const w1 = requireGrad(tensor(vals.w1, shapes.w1, dtype));
    const b1 = requireGrad(tensor(vals.b1, shapes.b1, dtype));
    const w2 = requireGrad(tensor(vals.w2, shapes.w2, dtype));
    const h = ops.groupsort(ops.addBias(ops.matmul(x, ops.bjorck(w1, 3), false, true), b1), 2);
    const out = ops.sigmoid(ops.matmul(h, ops.bjorck(w2, 3), false, true));
    const loss = ops.sum(ops.softplus(out));
    return grad(loss, [w1, b1, w2]).map((g) => Float64Array.from(g.data));
  });
  const g32 = run("f32"), g64 = run("f64");
  g32.forEach((g, i) => assertClose(g, g64[i], 1e-5, 1e-3, `grad ${i}`));
});

test("ops reject mismatched shapes with a message naming op and shapes", () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]), b = tensor([1, 2, 3, 4], [2, 2]);
  assert.throws(() => ops.add(a, b), /add: shapes must be equal \(no broadcasting\) \(got \[2,3\] and \[2,2\]\)/);
  assert.throws(() => ops.matmul(a, a), /matmul: inner dimensions differ \(3 vs 2/);
  assert.throws(() => ops.addBias(a, tensor([1, 2], [2])), /addBias: bias must be a vector/);
  assert.throws(() => ops.groupsort(a, 2), /groupsort: group size 2 must divide the last dimension 3/);
  assert.throws(() => ops.add(a, tensor([1, 2, 3, 4, 5, 6], [2, 3], "f64")), /dtypes differ/);
});

test("noGrad records nothing; grad of an unrelated tensor is zero", () => {
  const w = requireGrad(tensor([1, 2], [2]));
  const y = noGrad(() => ops.square(w));
  assert.is(y.node, null);
  const z = requireGrad(tensor([3, 4], [2]));
  const [gw, gz] = grad(ops.sum(ops.square(w)), [w, z]);
  assert.equal(gw.toArray(), [2, 4]);
  assert.equal(gz.toArray(), [0, 0]);
  assert.throws(() => grad(ops.square(w), [w]), /output must be a scalar/);
});

test.run();
