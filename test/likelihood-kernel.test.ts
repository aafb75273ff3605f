// The continuous-Bernoulli log-likelihood kernel (assembly/likelihood.ts)
// against its oracle, the scalar cbLogDensityAndGrad of src/model/likelihood.ts:
// every branch (the clamp, the Taylor region of lambda, the expm1 switch at
// |h| = 0.5, the general form), split between threads bit-for-bit as on one
// thread, and wired into cbLogLik with its backward.
//
// Tolerance. Kernel and oracle do the same f64 operations from the same f32
// inputs, except for the transcendental functions: the kernel's scalar path
// uses AssemblyScript's NativeMath (the oracle V8's fdlibm port), and its f64x2
// path, for pairs of elements with |h| >= 0.01, its own exp and log polynomials
// (a few f64 ulps). The kernel rounds its f64 result
// to f32 once (half an f32 ulp), so we allow one f32 ulp of the oracle's value
// (2^-23 |oracle|, at least one ulp) plus 1e-12 absolute for results that
// cancel to near zero: the f64 terms that cancel are at most ~250 in magnitude
// (1/h at the Taylor boundary, |h| ~ 0.004), so last-bit differences in them
// are below 1e-13.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine } from "../src/engine/engine.js";
import { instantiate } from "../src/engine/wasm.js";
import { Arena } from "../src/engine/arena.js";
import { empty, type Tensor, tensor, tidy } from "../src/engine/tensor.js";
import * as K from "../src/engine/kernels.js";
import * as ops from "../src/engine/ops.js";
import { grad, noGrad, requireGrad } from "../src/engine/tape.js";
import { CB_LOGIT_LIMIT, cbLogDensityAndGrad, cbLogLik } from "../src/model/likelihood.js";
import { SEED, rng as mulberry } from "./helpers.js";

const e = engine();
const ULP32 = 2 ** -23;
const ABS_TOL = 1e-12;

/** h = logit(lambda): where the Taylor region (0.499, 0.501] starts and ends. */
const TAYLOR_EDGE = Math.log(0.501 / 0.499);

/** f32 values (as numbers) within `ulps` f32 steps of v. */
function f32Around(v: number, ulps = 4): fc.Arbitrary<number> {
  const bits = new Int32Array(new Float32Array([Math.abs(v)]).buffer)[0];
  return fc.integer({ min: -ulps, max: ulps }).map((k) => {
    const f = new Float32Array(new Int32Array([Math.max(0, bits + k)]).buffer)[0];
    return v < 0 ? -f : f;
  });
}

const f32In = (min: number, max: number) =>
  fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true }).map((v) => v + 0);

/** Logits covering every branch of the density, and beyond the clamp. */
const logit: fc.Arbitrary<number> = fc.oneof(
  f32In(-30, 30),
  f32In(-1e-6, 1e-6),
  fc.constantFrom(0, -0, 1e-30, -1e-30, 1e-45, Infinity, -Infinity, 1e30, -1e30),
  f32In(-0.0045, 0.0045), // lambda in and around (0.499, 0.501]
  f32Around(TAYLOR_EDGE, 64), f32Around(-TAYLOR_EDGE, 64),
  f32Around(0.5), f32Around(-0.5), // the expm1 switch
  f32Around(CB_LOGIT_LIMIT, 8), f32Around(-CB_LOGIT_LIMIT, 8),
  f32In(15, 40), f32In(-40, -15),
);
const pixel: fc.Arbitrary<number> = fc.oneof(f32In(0, 1), fc.constantFrom(0, 1, 0.5));

/** The oracle on f64 copies of the f32 inputs: values and derivatives. */
function oracle(h: Float32Array, x: Float32Array): { value: Float64Array; deriv: Float64Array } {
  const value = new Float64Array(h.length), deriv = new Float64Array(h.length), d = new Float64Array(1);
  for (let i = 0; i < h.length; i++) {
    value[i] = cbLogDensityAndGrad(h[i], x[i], d);
    deriv[i] = d[0];
  }
  return { value, deriv };
}

/** Runs the kernel on the engine; the derivative only when asked. */
function kernel(h: Float32Array, x: Float32Array, withDeriv: boolean): { value: Float32Array; deriv: Float32Array | null } {
  return tidy(() => {
    const ht = tensor(h, [h.length]), xt = tensor(x, [x.length]);
    const out = empty([h.length]), d = withDeriv ? empty([h.length]) : null;
    K.cbLogLik(ht, xt, out, d);
    return { value: Float32Array.from(out.data), deriv: d ? Float32Array.from(d.data) : null };
  });
}

function withinUlp(actual: number, expected: number): boolean {
  if (Object.is(actual, expected)) return true;
  return Math.abs(actual - expected) <= ULP32 * Math.abs(expected) + ABS_TOL;
}

function assertAgrees(actual: ArrayLike<number>, expected: ArrayLike<number>, h: Float32Array, x: Float32Array, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    if (!withinUlp(actual[i], expected[i])) {
      assert.unreachable(`${what} at h = ${h[i]}, x = ${x[i]}: kernel ${actual[i]}, oracle ${expected[i]}`);
    }
  }
}

test("the kernel's values and derivatives agree with cbLogDensityAndGrad to one f32 ulp on every branch", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(logit, pixel), { minLength: 1, maxLength: 200 }), (pairs) => {
      const h = Float32Array.from(pairs, (p) => p[0]), x = Float32Array.from(pairs, (p) => p[1]);
      const want = oracle(h, x);
      const got = kernel(h, x, true);
      assertAgrees(got.value, want.value, h, x, "log p");
      assertAgrees(got.deriv!, want.deriv, h, x, "d log p / dh");
      // Without a derivative buffer the values are the same.
      const valueOnly = kernel(h, x, false);
      assert.equal(valueOnly.value, got.value);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test("on 2e5 random elements the kernel's f32 values and derivatives are the f32 rounding of the oracle's f64 ones", () => {
  // One f32 ulp (the test above) would hide an exp or log off by 1e-9; the share of
  // elements whose rounding it flips (about that error over an f32 ulp) does not.
  const n = 200_000, rand = mulberry(7);
  const h = new Float32Array(n), x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rand();
    h[i] = u < 0.05 ? (rand() - 0.5) * 0.02 : u < 0.3 ? (rand() - 0.5) * 1.2 : (rand() - 0.5) * 40;
    x[i] = rand() < 0.2 ? (rand() < 0.5 ? 0 : 1) : rand();
  }
  const want = oracle(h, x), got = kernel(h, x, true);
  let sameValue = 0, sameDeriv = 0;
  for (let i = 0; i < n; i++) {
    if (Object.is(got.value[i], Math.fround(want.value[i]))) sameValue++;
    if (Object.is(got.deriv![i], Math.fround(want.deriv[i]))) sameDeriv++;
  }
  assert.ok(sameValue >= 0.9999 * n, `values: ${n - sameValue} of ${n} differ from the oracle's f32 rounding`);
  assert.ok(sameDeriv >= 0.9999 * n, `derivatives: ${n - sameDeriv} of ${n} differ from the oracle's f32 rounding`);
});

test("the kernel is finite on [-30, 30] x [0, 1] and zero-derivative exactly outside the clamp", () => {
  const limit32 = Math.fround(CB_LOGIT_LIMIT);
  const beyond = limit32 >= CB_LOGIT_LIMIT ? limit32 : Math.fround(limit32 * (1 + 2 ** -22));
  const h = Float32Array.from([beyond, -beyond, 20, -20, 30, -30, Infinity, -Infinity, 0, -0]);
  const x = Float32Array.from([0, 1, 0.3, 0.7, 1, 0, 0.5, 0.5, 0, 1]);
  const got = kernel(h, x, true);
  for (let i = 0; i < h.length; i++) {
    assert.ok(Number.isFinite(got.value[i]), `log p finite at h = ${h[i]}`);
    if (Math.abs(h[i]) >= CB_LOGIT_LIMIT) assert.ok(Object.is(got.deriv![i], 0), `zero derivative at h = ${h[i]}`);
    else assert.ok(Number.isFinite(got.deriv![i]), `derivative finite at h = ${h[i]}`);
  }
});

test("NaN in h or x gives NaN, as the oracle (on the scalar and on the f64x2 path)", () => {
  // Pairs: (NaN, 0.3) goes scalar (a NaN lane); (0.3, -2) with NaN pixels and (5, NaN) with a NaN pixel stay vector or go scalar.
  const h = Float32Array.from([NaN, 0.3, 0.3, -2, 5, NaN, NaN]), x = Float32Array.from([0.5, NaN, NaN, NaN, NaN, 0.2, NaN]);
  const got = kernel(h, x, true);
  for (let i = 0; i < h.length; i++) {
    assert.ok(Number.isNaN(got.value[i]) && Number.isNaN(got.deriv![i]), `NaN at ${i}`);
    assert.ok(Number.isNaN(cbLogDensityAndGrad(h[i], x[i], null)), `the oracle is NaN at ${i} too`);
  }
});

/** Waits (without blocking the event loop) until every worker is waiting for jobs. */
async function workersReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(e.activeThreads(), e.threads, "every worker started within 20 s");
}

test("split between threads, the kernel gives the bits of one thread (sizes around the split threshold)", async () => {
  await workersReady();
  // The one-thread reference: a second instance of the same build with its own memory (splitting off).
  const single = instantiate(e.build, 64);
  const ref = new Arena(single.memory, single.kernels.heapBase());
  const jobsBefore = e.splitJobs();
  fc.assert(
    fc.property(fc.constantFrom(16383, 16384, 16397, 50001, 784 * 128), fc.boolean(), fc.integer(), (n, withDeriv, seed) => {
      const pairs = fc.sample(fc.tuple(logit, pixel), { seed, numRuns: n });
      const h = Float32Array.from(pairs, (p) => p[0]), x = Float32Array.from(pairs, (p) => p[1]);
      const threaded = kernel(h, x, withDeriv);
      const ptrs = [h, x, h, h].map((v) => ref.alloc(v.length * 4));
      ref.f32(ptrs[0], n).set(h);
      ref.f32(ptrs[1], n).set(x);
      single.kernels.cbLogLik(n, ptrs[0], ptrs[1], ptrs[2], withDeriv ? ptrs[3] : 0);
      const one = { value: Float32Array.from(ref.f32(ptrs[2], n)), deriv: Float32Array.from(ref.f32(ptrs[3], n)) };
      ptrs.forEach((p) => ref.free(p, n * 4));
      for (let i = 0; i < n; i++) {
        if (!Object.is(threaded.value[i], one.value[i]) || (withDeriv && !Object.is(threaded.deriv![i], one.deriv[i]))) {
          assert.unreachable(`n = ${n}: [${i}] differs between the threaded engine and one thread`);
        }
      }
    }),
    { seed: SEED, numRuns: 10 },
  );
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore, "large calls were split between threads");
});

test("calls under 16384 elements stay on one thread; from 16384 they are split", async () => {
  await workersReady();
  const jobsAfter = (n: number) => {
    const before = e.splitJobs();
    kernel(new Float32Array(n).fill(0.25), new Float32Array(n).fill(0.5), true);
    return e.splitJobs() - before;
  };
  assert.is(jobsAfter(16383), 0, "16383 elements: no job posted");
  assert.is(jobsAfter(16384), e.threads > 1 ? 1 : 0, "16384 elements: one job posted when there are workers");
});

/** A batch of logits and pixels as [rows, 784]-like tensors of the given dtype. */
function batch(h: Float32Array, x: Float32Array, dtype: "f32" | "f64"): [Tensor, Tensor] {
  return [tensor(h, [2, h.length / 2], dtype), tensor(x, [2, x.length / 2], dtype)];
}

test("cbLogLik runs the kernel on f32 and the oracle on f64, with the backward g * d log p / dh", () => {
  const pairs = fc.sample(fc.tuple(logit, pixel), { seed: SEED, numRuns: 400 });
  const h = Float32Array.from(pairs, (p) => p[0]), x = Float32Array.from(pairs, (p) => p[1]);
  const want = oracle(h, x);
  tidy(() => {
    // f64: the scalar function itself, bit for bit.
    const [h64, x64] = batch(h, x, "f64");
    assert.equal(Array.from(cbLogLik(h64, x64).data), Array.from(want.value));
    // f32 forward, then the backward with upstream gradient 2 (exact in f32).
    const [h32, x32] = batch(h, x, "f32");
    requireGrad(h32);
    const out = cbLogLik(h32, x32);
    assertAgrees(out.data, want.value, h, x, "cbLogLik f32");
    const [dh] = grad(ops.scale(ops.sum(out), 2), [h32]);
    assertAgrees(dh.data, want.deriv.map((d) => 2 * d), h, x, "cbLogLik f32 gradient");
    // Under noGrad nothing is recorded, and the values are the same.
    const plain = noGrad(() => cbLogLik(h32, x32));
    assert.not.ok(plain.node, "no backward recorded under noGrad");
    assert.equal(Array.from(plain.data), Array.from(out.data));
  });
});

test("cbLogLik forward and backward on f32 are bit-identical when each allocation grows the memory", () => {
  const pairs = fc.sample(fc.tuple(logit, pixel), { seed: SEED + 1, numRuns: 64 });
  const h = Float32Array.from(pairs, (p) => p[0]), x = Float32Array.from(pairs, (p) => p[1]);
  const run = () => tidy(() => {
    const [ht, xt] = batch(h, x, "f32");
    requireGrad(ht);
    const out = cbLogLik(ht, xt);
    const [dh] = grad(ops.sum(out), [ht]);
    return [Float32Array.from(out.data), Float32Array.from(dh.data)];
  });
  const normal = run();
  const grewBefore = e.arena.growCount;
  const stressed = e.arena.stressGrowth(run);
  assert.ok(e.arena.growCount > grewBefore, "the stressed run grew the memory");
  assert.equal(stressed, normal);
});

test.run();
