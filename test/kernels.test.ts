// Every WASM kernel against its plain TypeScript oracle (src/engine/reference.ts),
// on random shapes including 1x1, sizes that are not multiples of 4 or 8,
// tall and wide matrices, padded leading dimensions and unaligned offsets.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine } from "../src/engine/engine.js";
import { KERNEL_ARITY, instantiate } from "../src/engine/wasm.js";
import {
  refBjorckBackward, refBjorckForward, refGemm, refGroupsortBackward, refGroupsortForward,
  type BinaryOp, type UnaryOp, refBinary, refSigmoid, refSoftplus, refSyrk, refUnary,
} from "../src/engine/reference.js";
import { SEED, assertClose, rng, uniform } from "./helpers.js";

const e = engine();
const k = e.kernels;

/** Copies values into fresh arena memory at a random float offset; returns the byte pointer. */
function put(values: ArrayLike<number>, offsetFloats = 0): number {
  const ptr = e.arena.alloc((values.length + offsetFloats) * 4 + 64) + offsetFloats * 4;
  e.arena.f32(ptr, values.length).set(values);
  return ptr;
}

function get(ptr: number, n: number): Float64Array {
  return Float64Array.from(e.arena.f32(ptr, n));
}

const f32 = (x: ArrayLike<number>) => Float64Array.from(Float32Array.from(x));

function checkGemm(ta: number, tb: number, m: number, n: number, kk: number, padA: number, padB: number, padC: number,
  off: number, alpha: number, beta: number, seed: number): void {
  const rand = rng(seed);
  const aRows = ta ? kk : m, aCols = ta ? m : kk;
  const bRows = tb ? n : kk, bCols = tb ? kk : n;
  const lda = aCols + padA, ldb = bCols + padB, ldc = n + padC;
  const a = f32(uniform(rand, aRows * lda)), b = f32(uniform(rand, bRows * ldb)), c0 = f32(uniform(rand, m * ldc));
  const pa = put(a, off), pb = put(b, (off + 1) % 4), pc = put(c0, (off + 2) % 4);
  const work = e.workspace(k.gemmWorkspaceBytes());
  k.gemm(ta, tb, m, n, kk, alpha, pa, lda, pb, ldb, beta, pc, ldc, work);
  const expected = Float64Array.from(c0);
  refGemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, expected, ldc);
  const got = get(pc, m * ldc);
  // Padding columns of C must be untouched.
  for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) expected[i * ldc + j] = c0[i * ldc + j];
  assertClose(got, expected, 1e-5 * (1 + kk), 1e-5, `gemm ta=${ta} tb=${tb} ${m}x${n}x${kk}`);
}

test("gemm matches the oracle on random shapes, transposes, strides and offsets", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 27 }), fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom(1, -0.5, 2), fc.constantFrom(0, 1, 0.5),
      fc.integer(),
      (ta, tb, m, n, kk, pa, pb, pc, off, alpha, beta, seed) => checkGemm(ta, tb, m, n, kk, pa, pb, pc, off, alpha, beta, seed),
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test("gemm crosses its cache-blocking boundaries (MC=128, KC=256) correctly", () => {
  for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    checkGemm(ta, tb, 133, 19, 517, 1, 0, 3, 1, 1, 0, 7 + ta * 2 + tb);
  }
  checkGemm(0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1);
  checkGemm(0, 1, 1, 2100, 3, 0, 0, 0, 0, 1, 0, 2); // wider than one NC=2048 block
});

test("gemm with few rows reads B in place and gives the bits of the packed path", () => {
  // Up to 32 rows of C, op(B) stored k x n is read where it lies; above, it is packed.
  // Each element sees the same multiply-adds in the same order, so the first rows of a
  // 40-row product must equal the product of those rows alone, bit for bit (k across the
  // KC = 256 boundary, a partial last 8-column panel, edge rows, a padded ldb): results
  // stay independent of the batch size. B stored n x k is packed at every size.
  const cases = [[0, 25, 99, 517], [1, 25, 64, 300], [0, 32, 8, 5], [0, 1, 17, 40], [1, 7, 203, 260], [1, 30, 3, 784]];
  for (const tb of [0, 1]) {
    for (const [ta, m, n, kk] of cases) {
      const rows = 40, ldb = (tb ? kk : n) + 3, rand = rng(100 + m + n + tb);
      const a = f32(uniform(rand, rows * kk)), b = f32(uniform(rand, (tb ? n : kk) * ldb));
      const lda = ta ? rows : kk;
      const pa = put(a, 0), pb = put(b, 1), work = e.workspace(k.gemmWorkspaceBytes());
      const all = e.arena.alloc(rows * n * 4), few = e.arena.alloc(m * n * 4);
      const what = `ta=${ta} tb=${tb} ${m}x${n}x${kk}`;
      k.gemm(ta, tb, rows, n, kk, 0.5, pa, lda, pb, ldb, 0, all, n, work);
      // The first m rows of op(A): row-major A starts there; transposed A is the same matrix with a narrower view.
      k.gemm(ta, tb, m, n, kk, 0.5, pa, lda, pb, ldb, 0, few, n, work);
      assert.equal(Array.from(e.arena.f32(few, m * n)), Array.from(e.arena.f32(all, m * n)), what);
      const expected = new Float64Array(m * n);
      refGemm(ta, tb, m, n, kk, 0.5, a, lda, b, ldb, 0, expected, n);
      assertClose(get(few, m * n), expected, 1e-5 * (1 + kk), 1e-5, `${what} against the oracle`);
    }
  }
});

test("sigmoid on f32x4 lanes: within 3 f32 ulps of the f64 sigmoid, exact at the special values", () => {
  // Lanes of 4 take the vector exp; the last n mod 4 the scalar one: both are checked.
  const special = [NaN, Infinity, -Infinity, 0, -0, -87.2, -87.3, -87.4, -88, -103, -104, 87.4, 1e-30, -1e-30, 20, -20, 0.5];
  const rand = rng(77);
  const values = f32([...special, ...Array.from({ length: 4003 }, () => (rand() - 0.5) * 240)]);
  const px = put(values), py = e.arena.alloc(values.length * 4);
  k.sigmoid(values.length, px, py);
  const got = get(py, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i], want = refSigmoid(v);
    if (Number.isNaN(v)) { assert.ok(Number.isNaN(got[i]), "NaN stays NaN"); continue; }
    const tol = Math.max(3 * 2 ** -24 * want, 1.2e-38); // 3 ulps, or the f32 normal floor (exp underflows there)
    assert.ok(Math.abs(got[i] - want) <= tol, `sigmoid(${v}) = ${got[i]}, f64 ${want}`);
  }
  assert.equal([got[1], got[2], got[3], got[4]], [1, 0, 0.5, 0.5]);
});

test("gemm with beta = 0 overwrites NaN in C", () => {
  const a = put([1, 2]), b = put([3, 4]), c = put([NaN]);
  k.gemm(0, 0, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1, e.workspace(k.gemmWorkspaceBytes()));
  assert.is(get(c, 1)[0], 11);
});

test("syrk equals op(A) op(A)^T in full (both triangles)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 41 }), fc.integer(),
      (trans, n, kk, seed) => {
        const rand = rng(seed);
        const rows = trans ? kk : n, cols = trans ? n : kk;
        const a = f32(uniform(rand, rows * cols));
        const pa = put(a), pc = put(new Float64Array(n * n));
        k.syrk(trans, n, kk, 1, pa, cols, 0, pc, n, e.workspace(k.gemmWorkspaceBytes()));
        const expected = new Float64Array(n * n);
        refSyrk(trans, n, kk, 1, a, cols, 0, expected, n);
        assertClose(get(pc, n * n), expected, 1e-5 * (1 + kk), 1e-5, `syrk trans=${trans} n=${n} k=${kk}`);
      }),
    { seed: SEED, numRuns: 150 },
  );
  // One size past the blocking boundaries.
  const rand = rng(3), n = 140, kk = 300;
  const a = f32(uniform(rand, n * kk));
  const pa = put(a), pc = put(new Float64Array(n * n));
  k.syrk(0, n, kk, 1, pa, kk, 0, pc, n, e.workspace(k.gemmWorkspaceBytes()));
  const expected = new Float64Array(n * n);
  refSyrk(0, n, kk, 1, a, kk, 0, expected, n);
  assertClose(get(pc, n * n), expected, 1e-5 * kk, 1e-5, "syrk 140x300");
});

test("Björck forward and backward kernels match the oracle (wide, tall, square; K = 0..4)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 19 }), fc.integer({ min: 0, max: 4 }), fc.integer(),
      (r, c, iters, seed) => {
        const rand = rng(seed);
        const scale = 1 / Math.sqrt(Math.max(r, c));
        const w = f32(uniform(rand, r * c, -scale, scale));
        const gOut = f32(uniform(rand, r * c));
        const beta = 0.5;
        const pw = put(w), pout = put(new Float64Array(r * c));
        const saveFloats = k.bjorckSaveFloats(r, c, iters);
        const psave = put(new Float64Array(Math.max(saveFloats, 1)));
        const work = e.workspace(k.bjorckWorkspaceBytes(r, c));
        k.bjorckForward(r, c, iters, beta, pw, pout, psave, work);
        const ref = refBjorckForward(r, c, iters, beta, w);
        assertClose(get(pout, r * c), ref.out, 1e-5, 1e-4, `bjorck fwd ${r}x${c} K=${iters}`);
        const pg = put(gOut), pgi = put(new Float64Array(r * c));
        k.bjorckBackward(r, c, iters, beta, psave, pg, pgi, e.workspace(k.bjorckWorkspaceBytes(r, c)));
        const refG = refBjorckBackward(r, c, beta, ref.saved, gOut);
        assertClose(get(pgi, r * c), refG, 1e-4, 1e-4, `bjorck bwd ${r}x${c} K=${iters}`);
        // The incoming gradient must not be modified.
        assertClose(get(pg, r * c), gOut, 0, 0, "bjorck bwd leaves gOut intact");
      }),
    { seed: SEED, numRuns: 120 },
  );
});

test("Björck forward without saved state gives the same result", () => {
  const rand = rng(11), r = 7, c = 13;
  const w = f32(uniform(rand, r * c, -0.3, 0.3));
  const pw = put(w), p1 = put(new Float64Array(r * c)), p2 = put(new Float64Array(r * c));
  const psave = put(new Float64Array(k.bjorckSaveFloats(r, c, 5)));
  k.bjorckForward(r, c, 5, 0.5, pw, p1, psave, e.workspace(k.bjorckWorkspaceBytes(r, c)));
  k.bjorckForward(r, c, 5, 0.5, pw, p2, 0, e.workspace(k.bjorckWorkspaceBytes(r, c)));
  assertClose(get(p1, r * c), get(p2, r * c), 0, 0, "save vs no save");
});

test("GroupSort forward and backward match the oracle for group sizes 1..6", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 13 }), fc.integer(), fc.boolean(),
      (g, groups, seed, withTies) => {
        const rand = rng(seed);
        const n = g * groups;
        // Ties exercise the stable policy: values drawn from a small set.
        const x = withTies ? Float64Array.from({ length: n }, () => Math.floor(rand() * 3)) : f32(uniform(rand, n));
        const dy = f32(uniform(rand, n));
        const px = put(x), py = put(new Float64Array(n));
        k.groupsortForward(n, g, px, py);
        const y = new Float64Array(n);
        refGroupsortForward(g, x, y);
        assertClose(get(py, n), y, 0, 0, `groupsort fwd g=${g}`);
        const pdy = put(dy), pdx = put(new Float64Array(n));
        k.groupsortBackward(n, g, px, pdy, pdx, e.workspace(4 * g));
        const dx = new Float64Array(n);
        refGroupsortBackward(g, x, dy, dx);
        assertClose(get(pdx, n), dx, 0, 0, `groupsort bwd g=${g}`);
      }),
    { seed: SEED, numRuns: 300 },
  );
});

test("elementwise kernels match their oracles", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 13 }), fc.integer(), (m, n, seed) => {
      const rand = rng(seed);
      const x = f32(uniform(rand, m * n, -20, 20)), bias = f32(uniform(rand, n)), y0 = f32(uniform(rand, m * n));
      const px = put(x), pb = put(bias), pout = put(new Float64Array(m * n));
      k.addRowBias(m, n, px, pb, 0.75, pout);
      assertClose(get(pout, m * n), x.map((v, i) => 0.75 * (v + bias[i % n])), 1e-5, 1e-6, "addRowBias");
      const pcol = put(new Float64Array(n));
      k.columnSums(m, n, px, pcol);
      const cs = new Float64Array(n);
      x.forEach((v, i) => (cs[i % n] += v));
      assertClose(get(pcol, n), cs, 1e-4, 1e-6, "columnSums");
      k.sigmoid(m * n, px, pout);
      assertClose(get(pout, m * n), x.map(refSigmoid), 1e-7, 1e-5, "sigmoid");
      k.softplus(m * n, px, pout);
      assertClose(get(pout, m * n), x.map(refSoftplus), 1e-6, 1e-5, "softplus");
      const py = put(y0);
      k.axpby(m * n, 0.5, px, -2, py);
      assertClose(get(py, m * n), x.map((v, i) => 0.5 * v - 2 * y0[i]), 1e-5, 1e-6, "axpby");
      k.scale(m * n, 3, px);
      assertClose(get(px, m * n), x.map((v) => 3 * v), 1e-5, 1e-6, "scale");
    }),
    { seed: SEED, numRuns: 100 },
  );
});

test("binaryMap and unaryMap match their oracles, including NaN, ±Inf and ±0", () => {
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -3.5, 2];
  const codes = { binary: { add: 0, sub: 1, mul: 2, reluGrad: 3 }, unary: { affine: 0, square: 1, relu: 2, scale: 3 } } as const;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 37 }), fc.integer(), fc.float({ noNaN: true, min: -4, max: 4 }), fc.float({ noNaN: true, min: -4, max: 4 }),
      (n, seed, alpha, beta) => {
        const rand = rng(seed);
        const pick = () => Float32Array.from({ length: n }, () => (rand() < 0.3 ? specials[Math.floor(rand() * specials.length)] : rand() * 6 - 3));
        const a = pick(), b = pick();
        const same = (got: Float64Array, want: Float32Array, what: string) =>
          want.forEach((w, i) => assert.ok(Object.is(got[i], w) || (Number.isNaN(got[i]) && Number.isNaN(w)), `${what}[${i}]: ${got[i]} vs ${w}`));
        for (const [op, code] of Object.entries(codes.binary) as [BinaryOp, number][]) {
          const pa = put(a), pb = put(b), out = e.arena.alloc(n * 4);
          k.binaryMap(code, n, pa, pb, out);
          const want = new Float32Array(n);
          refBinary(op, a, b, want);
          same(get(out, n), want, op);
        }
        for (const [op, code] of Object.entries(codes.unary) as [UnaryOp, number][]) {
          const pa = put(a), out = e.arena.alloc(n * 4);
          k.unaryMap(code, n, pa, alpha, beta, out);
          const want = new Float32Array(n);
          refUnary(op, a, Math.fround(alpha), Math.fround(beta), want, Math.fround);
          same(get(out, n), want, op);
        }
      }),
    { seed: SEED, numRuns: 60 },
  );
});

test("Adam kernel matches torch.optim.Adam's update formula", () => {
  const rand = rng(5), n = 11;
  const p = f32(uniform(rand, n)), m = new Float64Array(n), v = new Float64Array(n);
  const pp = put(p), pm = put(m), pv = put(v);
  const expected = Float64Array.from(p);
  const lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (let t = 1; t <= 3; t++) {
    const g = f32(uniform(rand, n));
    const pg = put(g);
    const stepSize = lr / (1 - b1 ** t), vScale = 1 / Math.sqrt(1 - b2 ** t);
    k.adamStep(n, pp, pg, pm, pv, b1, b2, stepSize, vScale, eps);
    for (let i = 0; i < n; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t), vHat = v[i] / (1 - b2 ** t);
      expected[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  assertClose(get(pp, n), expected, 1e-6, 1e-5, "adam");
});

test("the FLOP counters count what the products were asked for: GEMM 2mnk, SYRK n(n+1)k, Björck per iteration", () => {
  const work = e.workspace(Math.max(k.gemmWorkspaceBytes(), k.gemm64WorkspaceBytes(), k.bjorckWorkspaceBytes(24, 40)));
  const counted = (fn: () => void, counter = () => k.flopsF32()) => {
    const before = counter();
    fn();
    return counter() - before;
  };
  const a = put(new Float32Array(40 * 40).fill(0.01)), c = put(new Float32Array(40 * 40));
  assert.is(counted(() => k.gemm(0, 1, 7, 9, 11, 1, a, 11, a, 11, 0, c, 9, work)), 2 * 7 * 9 * 11);
  assert.is(counted(() => k.syrk(1, 13, 5, 1, a, 13, 0, c, 13, work)), 13 * 14 * 5);
  const c64 = e.arena.alloc(40 * 40 * 8);
  assert.is(counted(() => k.gemm64(4 | 8 | 16 | 2, 6, 6, 17, 1, a, 17, a, 17, 0, c64, 6, work), () => k.flopsF64()), 6 * 7 * 17);
  assert.is(counted(() => k.gemm64(4 | 8, 6, 5, 17, 1, a, 17, a, 5, 0, c64, 5, work), () => k.flopsF64()), 2 * 6 * 5 * 17);
  // Björck on the smaller Gram (s x s, s = min(r, c), l = max): SYRK s(s+1)l and the update 2 s^2 l per
  // forward step; the backward's three products 6 s^2 l per step.
  for (const [r, cols] of [[24, 40], [40, 24]]) {
    const s = Math.min(r, cols), l = Math.max(r, cols), iters = 3;
    const w = put(uniform(rng(SEED), r * cols).map((v) => v / 10)), out = put(new Float32Array(r * cols));
    const save = put(new Float32Array(k.bjorckSaveFloats(r, cols, iters))), gi = put(new Float32Array(r * cols));
    assert.is(counted(() => k.bjorckForward(r, cols, iters, 0.5, w, out, save, work)), iters * (s * (s + 1) * l + 2 * s * s * l));
    assert.is(counted(() => k.bjorckBackward(r, cols, iters, 0.5, save, out, gi, work)), iters * 6 * s * s * l);
  }
});

test("the Kernels interface and the WASM module's exports agree, name for name and parameter count", () => {
  for (const build of ["simd", "relaxed"] as const) {
    if (build === "relaxed" && e.build !== "relaxed") continue; // validates only under the relaxed flag
    const { module, memory } = instantiate(build, 16);
    // The raw instance: the loader's wrappers hide the parameter counts.
    const imports: Record<string, Record<string, unknown>> = { env: { memory } };
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.kind === "function") (imports[imp.module] ??= {})[imp.name] = () => {};
    }
    const raw = new WebAssembly.Instance(module, imports).exports;
    const exported = Object.entries(raw)
      .filter(([, v]) => typeof v === "function")
      .map(([name, f]) => [name, (f as (...a: unknown[]) => unknown).length] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    const declared = Object.entries(KERNEL_ARITY).sort(([a], [b]) => a.localeCompare(b));
    assert.equal(exported, declared, `${build} build`);
  }
});

test("the selected build reports its SIMD flavour consistently", () => {
  assert.is(k.hasRelaxedSimd() === 1, e.build === "relaxed");
  if (process.env.LIPVAE_WASM) assert.is(e.build, process.env.LIPVAE_WASM);
});

test.run();
