// The op table: every function src/engine/ops.ts exports has cases here, and
// each case is checked four ways —
//   1. f64 analytic gradient against central finite differences;
//   2. f32 (WASM) values and gradients against the f64 ones (looser tolerance);
//   3. f32 forward and backward rerun with every allocation growing the WASM
//      memory, bit-identical to the normal run (no view can go stale);
//   4. a NaN in any input reaches the output, and a NaN upstream gradient
//      reaches every input gradient (no op turns NaN into a finite number).
// An op exported without cases fails the first test.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engine } from "../src/engine/engine.js";
import { type DType, type Tensor, tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, noGrad, requireGrad } from "../src/engine/tape.js";
import { gramDeviation, refBjorckForward } from "../src/engine/reference.js";
import { assertClose, rng, uniform } from "./helpers.js";

interface Input {
  values: Float64Array;
  shape: number[];
  /** Data, not differentiated (e.g. the x of pointwise). */
  constant?: boolean;
}
interface Case {
  name: string;
  inputs: Input[];
  build: (xs: Tensor[]) => Tensor;
  /** Tolerances of the finite-difference check (defaults 1e-6 / 1e-5). */
  atol?: number;
  rtol?: number;
}
type OpName = keyof typeof ops;

const r = rng(1729);
const mat = (m: number, n: number, lo = -1, hi = 1): Input => ({ values: uniform(r, m * n, lo, hi), shape: [m, n] });
const vec = (n: number, lo = -1, hi = 1): Input => ({ values: uniform(r, n, lo, hi), shape: [n] });
const awayFromZero = (inp: Input): Input => ({ ...inp, values: inp.values.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v)) });
/** Groups of `g` whose members differ by more than the FD step, so the sort order is stable under it. */
function separatedGroups(m: number, n: number, g: number): Input {
  const values = new Float64Array(m * n);
  for (let base = 0; base < values.length; base += g) {
    const perm = uniform(r, g).map((v, i) => v * 0.1 + i * 0.3 - 0.5);
    perm.sort(() => (r() < 0.5 ? -1 : 1));
    values.set(perm, base);
  }
  return { values, shape: [m, n] };
}

/**
 * A tolerance that stops Björck before step 3 with a wide margin: the
 * geometric mean of ||P_2 - I||_F and ||P_3 - I||_F (quadratic convergence
 * keeps them orders apart, so no finite-difference step or f32 rounding moves
 * the stop).
 */
function stopBeforeStep3(w: Input): number {
  const [m, n] = w.shape;
  const { saved } = refBjorckForward(m, n, 4, 0.5, w.values);
  return Math.sqrt(gramDeviation(saved[2].p) * gramDeviation(saved[3].p));
}
const tolInput = mat(4, 6, -0.45, 0.45);
const tol = stopBeforeStep3(tolInput);

const CASES: Record<OpName, Case[]> = {
  matmul: [[false, false], [false, true], [true, false], [true, true]].map(([ta, tb]) => ({
    name: `matmul ta=${ta} tb=${tb}`,
    inputs: [ta ? mat(4, 3) : mat(3, 4), tb ? mat(5, 4) : mat(4, 5)],
    build: ([a, b]) => ops.matmul(a, b, ta, tb),
  })),
  bjorck: [
    ...[[3, 5], [5, 3], [4, 4]].map(([m, n]) => ({
      name: `bjorck ${m}x${n}`, inputs: [mat(m, n, -0.4, 0.4)], build: ([w]: Tensor[]) => ops.bjorck(w, 3),
    })),
    { name: "bjorck 4x6 K=10 stopped by the tolerance before step 3", inputs: [tolInput], build: ([w]) => ops.bjorck(w, 10, 0.5, tol) },
  ],
  bjorckSpectral: [
    ...([[3, 5, 3], [5, 3, 15], [4, 4, 50]] as const).map(([m, n, k]) => ({
      name: `bjorckSpectral ${m}x${n} K=${k}`, inputs: [mat(m, n, -0.4, 0.4)], build: ([w]: Tensor[]) => ops.bjorckSpectral(w, k),
    })),
    {
      // Orthonormal rows times 0.5: every singular value coincides (the orthogonal initialisation).
      name: "bjorckSpectral 2x4 with coincident singular values K=3",
      inputs: [{ values: Float64Array.from([0.5, 0, 0, 0, 0, 0.3, 0.4, 0]), shape: [2, 4] }],
      build: ([w]) => ops.bjorckSpectral(w, 3),
    },
    { name: "bjorckSpectral 4x6 K=10 stopped by the tolerance before step 3", inputs: [tolInput], build: ([w]) => ops.bjorckSpectral(w, 10, 0.5, tol) },
  ],
  bjorckSpectralMany: [
    {
      // A wide, a tall and a square weight together; the product mixes every output into the loss.
      name: "bjorckSpectralMany 3x5, 5x3, 3x3 K=4",
      inputs: [mat(3, 5, -0.4, 0.4), mat(5, 3, -0.4, 0.4), mat(3, 3, -0.4, 0.4)],
      build: (ws) => {
        const [a, b, c] = ops.bjorckSpectralMany(ws, 4);
        return ops.matmul(ops.matmul(a, b), c);
      },
    },
  ],
  affine: [1, 1.7].map((s) => ({
    name: `affine s=${s}`, inputs: [mat(3, 5), mat(4, 5), vec(4)], build: ([x, w, b]) => ops.affine(x, w, b, s),
  })),
  addBias: [{ name: "addBias", inputs: [mat(3, 4), vec(4)], build: ([x, b]) => ops.addBias(x, b) }],
  addColumn: [{ name: "addColumn", inputs: [mat(3, 4), vec(3)], build: ([x, v]) => ops.addColumn(x, v) }],
  sum: [{ name: "sum", inputs: [mat(2, 3)], build: ([x]) => ops.sum(x) }],
  sumRows: [{ name: "sumRows", inputs: [mat(3, 5)], build: ([x]) => ops.sumRows(x) }],
  add: [{ name: "add", inputs: [mat(2, 3), mat(2, 3)], build: ([a, b]) => ops.add(a, b) }],
  sub: [{ name: "sub", inputs: [mat(2, 3), mat(2, 3)], build: ([a, b]) => ops.sub(a, b) }],
  mul: [
    { name: "mul", inputs: [mat(2, 3), mat(2, 3)], build: ([a, b]) => ops.mul(a, b) },
    { name: "mul (same input twice)", inputs: [mat(2, 3)], build: ([a]) => ops.mul(a, a) },
  ],
  scale: [{ name: "scale", inputs: [mat(2, 3)], build: ([x]) => ops.scale(x, -1.7) }],
  addScalar: [{ name: "addScalar", inputs: [mat(2, 3)], build: ([x]) => ops.addScalar(x, 0.3) }],
  square: [{ name: "square", inputs: [mat(2, 3)], build: ([x]) => ops.square(x) }],
  exp: [{ name: "exp", inputs: [mat(2, 3)], build: ([x]) => ops.exp(x) }],
  log: [{ name: "log", inputs: [mat(2, 3, 0.2, 3)], build: ([x]) => ops.log(x) }],
  sigmoid: [{ name: "sigmoid", inputs: [mat(2, 3, -6, 6)], build: ([x]) => ops.sigmoid(x) }],
  softplus: [{ name: "softplus", inputs: [mat(2, 3, -6, 6)], build: ([x]) => ops.softplus(x) }],
  relu: [{ name: "relu (away from the kink)", inputs: [awayFromZero(mat(3, 4))], build: ([x]) => ops.relu(x) }],
  groupsort: [2, 3, 4].map((g) => ({
    name: `groupsort g=${g}`, inputs: [separatedGroups(2, 2 * g, g)], build: ([x]) => ops.groupsort(x, g),
  })),
  clipRowNorm: [{
    name: "clipRowNorm (clipped and unclipped rows)",
    inputs: [{ values: Float64Array.from([3, 4, 0.1, 0.2, -1, 2, 0.05, 0.05]), shape: [4, 2] }],
    build: ([x]) => ops.clipRowNorm(x, 1),
  }],
  pointwise: [{
    name: "pointwise h²x + sin h",
    inputs: [mat(2, 3), { ...mat(2, 3, 0, 1), constant: true }],
    build: ([h, x]) => ops.pointwise("test", h, x, (a, b, d) => {
      if (d) d[0] = 2 * a * b + Math.cos(a);
      return a * a * b + Math.sin(a);
    }),
  }],
  repeatRows: [1, 3].map((k) => ({ name: `repeatRows k=${k}`, inputs: [mat(2, 3)], build: ([x]) => ops.repeatRows(x, k) })),
  rowNorms: [{ name: "rowNorms", inputs: [mat(3, 4)], build: ([x]) => ops.rowNorms(x) }],
  neg: [{ name: "neg", inputs: [mat(2, 3)], build: ([x]) => ops.neg(x) }],
  mean: [{ name: "mean", inputs: [mat(2, 3)], build: ([x]) => ops.mean(x) }],
  logSigmoid: [{ name: "logSigmoid", inputs: [mat(2, 3, -30, 30)], build: ([x]) => ops.logSigmoid(x) }],
};

const allCases = Object.values(CASES).flat();

/** Reduces an output to a scalar with fixed weights, so that every output element matters. */
function weightedSum(out: Tensor, weights: Float64Array): Tensor {
  return ops.sum(ops.mul(out, tensor(weights.subarray(0, out.size), out.shape, out.dtype)));
}
const WEIGHTS = uniform(rng(99), 4096, 0.5, 1.5);

/** Output values and the gradients of weightedSum with respect to every non-constant input. */
function run(c: Case, dtype: DType, values = c.inputs.map((i) => i.values), weights = WEIGHTS): Float64Array[] {
  return tidy(() => {
    const xs = c.inputs.map((inp, k) => {
      const t = tensor(values[k], inp.shape, dtype);
      return inp.constant ? t : requireGrad(t);
    });
    const out = c.build(xs);
    const gs = grad(weightedSum(out, weights), xs.filter((_, k) => !c.inputs[k].constant));
    return [Float64Array.from(out.data), ...gs.map((g) => Float64Array.from(g.data))];
  });
}

test("every op exported by ops.ts has gradient-check cases", () => {
  const exported = Object.entries(ops).filter(([, v]) => typeof v === "function").map(([k]) => k).sort();
  const covered = Object.entries(CASES).filter(([, cs]) => cs.length > 0).map(([k]) => k).sort();
  assert.equal(exported, covered, "ops without cases (or cases for ops that no longer exist)");
});

test("f64 gradients equal central finite differences, for every op", () => {
  for (const c of allCases) {
    const h = 1e-6, atol = c.atol ?? 1e-6, rtol = c.rtol ?? 1e-5;
    const [, ...analytic] = run(c, "f64");
    const lossAt = (values: Float64Array[]) => noGrad(() => tidy(() =>
      weightedSum(c.build(c.inputs.map((inp, k) => tensor(values[k], inp.shape, "f64"))), WEIGHTS).item()));
    let w = 0;
    c.inputs.forEach((inp, k) => {
      if (inp.constant) return;
      const numeric = inp.values.map((_, j) => {
        const shifted = (d: number) => c.inputs.map((other, n) => {
          const v = Float64Array.from(other.values);
          if (n === k) v[j] += d;
          return v;
        });
        return (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
      });
      assertClose(analytic[w++], numeric, atol, rtol, `${c.name}: d/dinput${k}`);
    });
  }
});

test("f32 (WASM) values and gradients agree with f64, for every op", () => {
  for (const c of allCases) {
    // Both runs start from the same f32-representable inputs.
    const values = c.inputs.map((i) => Float64Array.from(Float32Array.from(i.values)));
    const f64 = run(c, "f64", values), f32 = run(c, "f32", values);
    f64.forEach((expected, i) => assertClose(f32[i], expected, 1e-5, 1e-4, `${c.name}: ${i === 0 ? "value" : `gradient ${i}`}`));
  }
});

test("every op, forward and backward, is bit-identical when each allocation grows the memory", () => {
  const arena = engine().arena;
  for (const c of allCases) {
    const normal = run(c, "f32");
    const grewBefore = arena.growCount;
    const stressed = arena.stressGrowth(() => run(c, "f32"));
    assert.ok(arena.growCount > grewBefore, `${c.name}: the stressed run grew the memory`);
    normal.forEach((expected, i) => {
      stressed[i].forEach((v, j) => {
        if (!Object.is(v, expected[j])) assert.unreachable(`${c.name}: output ${i}[${j}] = ${v} under growth, ${expected[j]} normally`);
      });
    });
  }
});

test("a NaN input reaches the output and a NaN upstream gradient reaches every input gradient", () => {
  const hasNaN = (a: Float64Array) => a.some(Number.isNaN);
  for (const dtype of ["f64", "f32"] as DType[]) {
    for (const c of allCases) {
      c.inputs.forEach((_, k) => {
        const values = c.inputs.map((i, n) => {
          const v = Float64Array.from(i.values);
          if (n === k) v[0] = NaN;
          return v;
        });
        const [out] = noGrad(() => run(c, dtype, values));
        assert.ok(hasNaN(out), `${c.name} (${dtype}): NaN in input ${k} vanished from the output`);
      });
      const [, ...grads] = run(c, dtype, undefined, new Float64Array(WEIGHTS.length).fill(NaN));
      grads.forEach((g, i) => assert.ok(hasNaN(g), `${c.name} (${dtype}): NaN upstream gradient vanished from gradient ${i}`));
    }
  }
});

test("±Inf inputs give the mathematical limits (values and gradients), not NaN", () => {
  const inf = Infinity;
  for (const dtype of ["f64", "f32"] as DType[]) {
    const unary: [string, (x: Tensor) => Tensor, number[], number[], number[]][] = [
      // name, op, inputs, expected values, expected gradients (of sum)
      ["exp", ops.exp, [-inf, 0], [0, 1], [0, 1]],
      ["sigmoid", ops.sigmoid, [-inf, inf], [0, 1], [0, 0]],
      ["softplus", ops.softplus, [-inf, inf], [0, inf], [0, 1]],
      ["logSigmoid", ops.logSigmoid, [-inf, inf], [-inf, 0], [1, 0]],
      ["relu", ops.relu, [-inf, inf], [0, inf], [0, 1]],
      ["log", ops.log, [0, inf], [-inf, inf], [inf, 0]],
      ["groupsort", (x) => ops.groupsort(x, 2), [inf, -inf], [-inf, inf], [1, 1]],
    ];
    for (const [name, op, inputs, values, grads] of unary) {
      tidy(() => {
        const x = requireGrad(tensor(inputs, [1, 2], dtype));
        const y = op(x);
        const [g] = grad(ops.sum(y), [x]);
        assert.equal(y.toArray(), values, `${name} (${dtype}) values`);
        assert.equal(g.toArray(), grads, `${name} (${dtype}) gradients`);
      });
    }
    tidy(() => {
      const y = ops.matmul(tensor([inf, 1], [1, 2], dtype), tensor([1, 2], [2, 1], dtype));
      assert.equal(y.toArray(), [inf], `matmul (${dtype}) keeps +Inf`);
    });
  }
});

test.run();
