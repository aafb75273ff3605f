// The spectral Björck (ops.bjorckSpectral): its kernels against their
// TypeScript oracles (gemm64 against refGemm, the divided differences against
// refSpectralCoeffs and against exact rational arithmetic), and the op against
// the K-step iteration it replaces — in f64 on random small shapes, and on
// the paper's layer shapes at K = 3, 15, 50 against an f64 iteration, both
// for spread singular values and for the orthogonal initialisation where they
// all coincide.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine } from "../src/engine/engine.js";
import { G64 } from "../src/engine/wasm.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, requireGrad } from "../src/engine/tape.js";
import {
  refBjorckBackward, refBjorckForward, refBjorckSpectralBackward, refBjorckSpectralForward, refGemm, refSpectralCoeffs, rowSquares,
} from "../src/engine/reference.js";
import { orthogonalF64 } from "../src/model/init.js";
import { iterateF64, relErr, withSingularValues } from "../bench/exact.js";
import { SEED, assertClose, normal, rng, uniform } from "./helpers.js";

const e = engine();
const k = e.kernels;

function putF64(values: ArrayLike<number>): number {
  const ptr = e.arena.alloc(values.length * 8 + 64);
  e.arena.f64(ptr, values.length).set(values);
  return ptr;
}
function putF32(values: ArrayLike<number>): number {
  const ptr = e.arena.alloc(values.length * 4 + 64);
  e.arena.f32(ptr, values.length).set(values);
  return ptr;
}

// ---------------------------------------------------------------------------
// gemm64

test("gemm64 matches refGemm for every transpose, operand type, beta and the lower (Gram) mode", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 1, -0.7), fc.integer({ min: 0, max: 3 }), fc.integer(),
      (m, n, kk, flags, beta, pad, seed) => {
        const rand = rng(seed);
        const ta = flags & 1, tb = (flags >> 1) & 1, aF32 = (flags & 4) !== 0, bF32 = (flags & 8) !== 0;
        const aRows = ta ? kk : m, aCols = ta ? m : kk, bRows = tb ? n : kk, bCols = tb ? kk : n;
        const lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        const round = (x: Float64Array, f32: boolean) => (f32 ? Float64Array.from(Float32Array.from(x)) : x);
        const a = round(uniform(rand, aRows * lda), aF32), b = round(uniform(rand, bRows * ldb), bF32);
        const c0 = uniform(rand, m * ldc);
        if (beta === 0) c0[0] = NaN; // beta = 0 must overwrite, not scale
        const pa = aF32 ? putF32(a) : putF64(a), pb = bF32 ? putF32(b) : putF64(b), pc = putF64(c0);
        const alpha = 1.3;
        k.gemm64(flags, m, n, kk, alpha, pa, lda, pb, ldb, beta, pc, ldc, e.workspace(k.gemm64WorkspaceBytes()));
        const expected = Float64Array.from(c0);
        if (beta === 0) expected[0] = 0;
        refGemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, expected, ldc);
        for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) expected[i * ldc + j] = c0[i * ldc + j];
        assertClose(e.arena.f64(pc, m * ldc), expected, 1e-13 * kk, 1e-13, `gemm64 flags=${flags} ${m}x${n}x${kk}`);
      }),
    { seed: SEED, numRuns: 150 },
  );
  // Lower mode: X X^T and X^T X from f32 X, crossing the 128-row and 512-column blocks.
  for (const [trans, n, kk] of [[0, 137, 300], [1, 530, 40]] as const) {
    const x = Float64Array.from(Float32Array.from(uniform(rng(n), n * kk)));
    const px = putF32(x), pc = putF64(new Float64Array(n * n).fill(NaN));
    const flags = G64.A_F32 | G64.B_F32 | G64.LOWER | (trans ? G64.TRANS_A : G64.TRANS_B);
    const ld = trans ? n : kk;
    k.gemm64(flags, n, n, kk, 1, px, ld, px, ld, 0, pc, n, e.workspace(k.gemm64WorkspaceBytes()));
    const expected = new Float64Array(n * n);
    refGemm(trans, trans ^ 1, n, n, kk, 1, x, ld, x, ld, 0, expected, n);
    assertClose(e.arena.f64(pc, n * n), expected, 1e-13 * kk, 1e-13, `gemm64 lower trans=${trans} ${n}x${kk}`);
  }
});

// ---------------------------------------------------------------------------
// Divided differences

function kernelCoeffs(lam: ArrayLike<number>, iters: number, beta: number): { q: Float64Array; dd: Float64Array } {
  const n = lam.length;
  const pl = putF64(lam), pq = putF64(new Float64Array(n)), pd = putF64(new Float64Array(n * n));
  k.bjorckSpectralCoeffs(n, pl, iters, beta, pq, pd, e.workspace(k.bjorckSpectralWorkspaceBytes(n, iters)));
  return { q: Float64Array.from(e.arena.f64(pq, n)), dd: Float64Array.from(e.arena.f64(pd, n * n)) };
}

// Exact dyadic rationals num * 2^exp (every f64 and beta = 1/2 are dyadic, so q_K is too).
interface Dy { num: bigint; exp: number }
function dy(x: number): Dy {
  if (x === 0) return { num: 0n, exp: 0 };
  let exp = 0, m = x;
  while (!Number.isInteger(m)) {
    m *= 2;
    exp--;
  }
  return { num: BigInt(m), exp };
}
const align = (a: Dy, b: Dy): [bigint, bigint, number] => {
  const exp = Math.min(a.exp, b.exp);
  return [a.num << BigInt(a.exp - exp), b.num << BigInt(b.exp - exp), exp];
};
const add = (a: Dy, b: Dy): Dy => {
  const [x, y, exp] = align(a, b);
  return { num: x + y, exp };
};
const sub = (a: Dy, b: Dy): Dy => add(a, { num: -b.num, exp: b.exp });
const mul = (a: Dy, b: Dy): Dy => ({ num: a.num * b.num, exp: a.exp + b.exp });
/** The nearest-ish double of a / b (a, b exact), through 80 bits of quotient. */
function ratio(a: Dy, b: Dy): number {
  if (a.num === 0n) return 0;
  const bits = (v: bigint) => (v < 0n ? -v : v).toString(2).length;
  const shift = 80 + bits(b.num) - bits(a.num);
  const qn = shift >= 0 ? (a.num << BigInt(shift)) / b.num : a.num / (b.num << BigInt(-shift));
  return Number(qn) * 2 ** (a.exp - b.exp - shift);
}
/** q_K(x) and q_K'(x) exactly. */
function exactQ(x: Dy, iters: number): { q: Dy; dq: Dy } {
  const one = dy(1), onePlusBeta = dy(1.5), beta = dy(0.5);
  let q = one, dq: Dy = { num: 0n, exp: 0 };
  for (let t = 0; t < iters; t++) {
    const r = sub(onePlusBeta, mul(beta, mul(x, mul(q, q))));
    // r' = -beta (q^2 + 2 x q q')
    const dr = mul(dy(-0.5), add(mul(q, q), mul(dy(2), mul(x, mul(q, dq)))));
    dq = add(mul(dq, r), mul(q, dr));
    q = mul(q, r);
  }
  return { q, dq };
}

test("divided differences: the kernel equals its oracle and exact rational arithmetic, coincident eigenvalues included", () => {
  const lam = [0, 1e-7, 1e-7 + 1e-22, 0.3, 0.3, 0.3 + 2 ** -50, 0.3 + 1e-9, 1, 1.7, 2.2, -1e-17];
  for (const iters of [0, 1, 2, 3, 5]) {
    const got = kernelCoeffs(lam, iters, 0.5);
    const ref = refSpectralCoeffs(lam, iters, 0.5);
    assertClose(got.q, ref.q, 0, 1e-15, `q K=${iters}`);
    assertClose(got.dd, ref.dd, 1e-300, 1e-13, `divided differences vs oracle K=${iters}`);
    const n = lam.length;
    for (let i = 0; i < n; i++) {
      const xi = exactQ(dy(lam[i]), iters);
      assert.ok(Math.abs(got.q[i] - ratio(xi.q, dy(1))) <= 1e-15 * Math.abs(got.q[i]), `q_${iters}(${lam[i]})`);
      for (let j = 0; j < n; j++) {
        const exact = lam[i] === lam[j]
          ? ratio(xi.dq, dy(1))
          : ratio(sub(xi.q, exactQ(dy(lam[j]), iters).q), sub(dy(lam[i]), dy(lam[j])));
        const v = got.dd[i * n + j];
        assert.ok(Math.abs(v - exact) <= 2e-14 * Math.max(Math.abs(exact), 1e-300) * (1 + iters),
          `q_${iters}[${lam[i]}, ${lam[j]}] = ${v}, exactly ${exact}`);
      }
    }
  }
});

test("divided differences at K = 15, 50: the naive quotient where it is accurate, its limit where eigenvalues coincide", () => {
  const lam = [1e-7, 2e-5, 0.01, 0.2, 0.5, 0.9, 1, 1.3, 2.1];
  for (const iters of [15, 50]) {
    const { q, dd } = kernelCoeffs([...lam, 0.5, 0.5 + 1e-13], iters, 0.5);
    const n = lam.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j || Math.abs(q[i] - q[j]) < 1e-3 * Math.max(Math.abs(q[i]), Math.abs(q[j]))) continue;
        const naive = (q[i] - q[j]) / (lam[i] - lam[j]);
        assert.ok(Math.abs(dd[i * (n + 2) + j] - naive) <= 1e-9 * Math.abs(naive), `K=${iters} [${lam[i]}, ${lam[j]}]`);
      }
    }
    // 0.5 and 0.5 + 1e-13: the divided difference is the derivative at 0.5, to ~1e-13 relative.
    const d = dd[4 * (n + 2) + n + 1], deriv = dd[4 * (n + 2) + 4];
    assert.ok(Math.abs(d - deriv) <= 1e-10 * Math.abs(deriv), `K=${iters}: near-coincident ${d} vs derivative ${deriv}`);
    assert.ok(deriv < 0, "q_K decreases");
  }
});

test("divided differences on the baseline build (no FMA): the oracle's recursion bit for bit, on every column path", () => {
  // The kernel runs each pair's steps in the oracle's order; without fused multiply-adds the
  // lanes round exactly as the scalar oracle does. Sizes cover rows starting inside a panel
  // of 8 columns (single columns, pairs), two panels at a time, one panel, the tail, and
  // 301 and 512 at K >= 15 rows split between threads.
  if (k.hasRelaxedSimd()) return;
  for (const [n, iters] of [[1, 3], [2, 1], [7, 0], [9, 2], [17, 5], [23, 15], [24, 3], [41, 50], [301, 15], [512, 50]]) {
    const lam = Array.from(uniform(rng(n * 7 + iters), n), (u, i) => (i % 5 === 4 ? 0.3 : 1.1 * (u + 1)));
    const got = kernelCoeffs(lam, iters, 0.5), ref = refSpectralCoeffs(lam, iters, 0.5);
    const atQ = got.q.findIndex((v, i) => !Object.is(v, ref.q[i])), atD = got.dd.findIndex((v, i) => !Object.is(v, ref.dd[i]));
    if (atQ >= 0) assert.unreachable(`n=${n} K=${iters}: q[${atQ}] = ${got.q[atQ]}, oracle ${ref.q[atQ]}`);
    if (atD >= 0) assert.unreachable(`n=${n} K=${iters}: D[${Math.floor(atD / n)}, ${atD % n}] = ${got.dd[atD]}, oracle ${ref.dd[atD]}`);
  }
});

/** The f32 n x n result of bjorckSpectralHadamard: D o (M + M^T) without storing D. */
function kernelHadamard(lam: ArrayLike<number>, iters: number, m: Float32Array): Float32Array {
  const n = lam.length;
  const pl = putF64(lam), pm = putF32(m), ps = putF32(new Float32Array(n * n).fill(NaN));
  k.bjorckSpectralHadamard(n, pl, iters, 0.5, pm, ps, e.workspace(k.bjorckSpectralWorkspaceBytes(n, iters)));
  return Float32Array.from(e.arena.f32(ps, n * n));
}

test("D o (M + M^T): one f32 rounding of the kernel's divided differences times the f64 sum, both triangles", () => {
  const coincident = [0, 1e-7, 1e-7 + 1e-22, 0.3, 0.3, 0.3 + 2 ** -50, 0.3 + 1e-9, 1, 1.7, 2.2, -1e-17];
  // Odd and even sizes; 301 at K = 15 is above the size where the rows are split between threads.
  // The list with 0 stops at K = 5: at K = 50, q_K'(0) ~ 1e180 is beyond f32 (as it was for the host loop).
  const cases: [number[], number][] = [[coincident, 0], [coincident, 3], [coincident, 5], [[0.7], 15], [[0.2, 0.9], 15],
    [Array.from(uniform(rng(5), 301), (u) => 1.1 * (u + 1)), 15], [Array.from(uniform(rng(6), 64), (u) => 1.1 * (u + 1)), 50]];
  for (const [lam, iters] of cases) {
    const n = lam.length, label = `n=${n} K=${iters}`;
    const m = Float32Array.from(uniform(rng(n + iters), n * n));
    const got = kernelHadamard(lam, iters, m);
    const { dd } = kernelCoeffs(lam, iters, 0.5), ref = refSpectralCoeffs(lam, iters, 0.5).dd;
    // Without fused multiply-adds the kernel's D is the oracle's bit for bit (tested above),
    // so on the baseline build the oracle's product rounds to the same f32.
    const exactD = k.hasRelaxedSimd() ? dd : ref;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const sum = m[i * n + j] + m[j * n + i], v = got[i * n + j];
        const exact = Math.fround(exactD[i * n + j] * sum);
        if (!Object.is(v, exact)) assert.unreachable(`${label} [${i}, ${j}] = ${v}, expected ${exact}`);
      }
    }
  }
});

test("row squares and row scaling to f32: rowSquares' left-to-right sums and one rounding of q_i x_ij, bit for bit", () => {
  // Shapes from one row or column to the paper's 512 x 784 (split between threads).
  for (const [rows, cols] of [[1, 1], [1, 9], [7, 1], [5, 13], [10, 512], [37, 301], [512, 784]]) {
    const label = `${rows}x${cols}`;
    const v = uniform(rng(rows * cols), rows * cols).map((x, i) => (i % 17 === 0 ? x * 1e-5 : x));
    const x32 = Float32Array.from(uniform(rng(rows + cols), rows * cols));
    const q = uniform(rng(rows), rows).map((u) => 1.5 ** 15 * u);
    const pv = putF64(v), px = putF32(x32), pq = putF64(q), pl = putF64(new Float64Array(rows).fill(NaN));
    const outs = [0, 1, 2, 3].map(() => putF32(new Float32Array(rows * cols).fill(NaN)));
    k.spectralRowSquares(rows, cols, pv, pl, outs[0]);
    k.spectralScaleRows(rows, cols, pq, pv, 0, outs[1]);
    k.spectralScaleRows(rows, cols, pq, px, 1, outs[2]);
    k.spectralScaleRows(rows, cols, 0, pv, 0, outs[3]);
    const expected = rowSquares(v, rows, cols), lam = e.arena.f64(pl, rows);
    for (let i = 0; i < rows; i++) if (!Object.is(lam[i], expected[i])) assert.unreachable(`${label} row square ${i}: ${lam[i]} vs ${expected[i]}`);
    const want = [
      Float32Array.from(v), Float32Array.from(v, (x, i) => q[Math.floor(i / cols)] * x),
      Float32Array.from(x32, (x, i) => q[Math.floor(i / cols)] * x), Float32Array.from(v),
    ];
    const what = ["V to f32", "diag(q) V", "diag(q) A (f32)", "copy to f32"];
    outs.forEach((p, t) => {
      const got = e.arena.f32(p, rows * cols);
      const at = got.findIndex((g, i) => !Object.is(g, want[t][i]));
      if (at >= 0) assert.unreachable(`${label} ${what[t]} [${at}] = ${got[at]}, expected ${want[t][at]}`);
    });
    // Running the row-squares pass without the f32 copy leaves that buffer alone.
    k.spectralRowSquares(rows, cols, pv, pl, 0);
    assert.ok(e.arena.f64(pl, rows).every((x, i) => Object.is(x, expected[i])), `${label} row squares without the copy`);
  }
});

// ---------------------------------------------------------------------------
// The op against the iteration

test("spectral Björck equals the K-step iteration in f64 (values and gradients), wide, tall and square", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom(0, 1, 3, 15, 50), fc.integer(),
      (r, c, iters, seed) => {
        const rand = rng(seed);
        const w = spread(r, c, 1e-3, 1.45, seed);
        const g = uniform(rand, r * c);
        const it = refBjorckForward(r, c, iters, 0.5, w), sp = refBjorckSpectralForward(r, c, iters, 0.5, w);
        // Rounding in either path is amplified by up to 1.5^K along small singular
        // values, so the two f64 results agree to ~1e-12 (values) and ~1e-10 (gradients).
        assertClose(sp.out, it.out, 1e-11, 0, `values ${r}x${c} K=${iters}`);
        const gIt = refBjorckBackward(r, c, 0.5, it.saved, g), gSp = refBjorckSpectralBackward(r, c, iters, 0.5, sp.saved, g);
        // The gradient grows like 1.5^K along small singular values; compare relative to its size.
        const scale = Math.max(...gIt.map(Math.abs));
        assertClose(gSp, gIt, 1e-8 * scale, 0, `gradients ${r}x${c} K=${iters}`);
      }),
    { seed: SEED, numRuns: 80 },
  );
});

/** r x c with singular values log-spaced in [lo, hi] and random singular vectors (f32-representable). */
function spread(r: number, c: number, lo: number, hi: number, seed: number): Float64Array {
  const s = Math.min(r, c);
  const sv = Array.from({ length: s }, (_, i) => (s === 1 ? hi : lo * (hi / lo) ** (i / (s - 1))));
  return withSingularValues(r, c, sv, normalStream(seed));
}

function normalStream(seed: number) {
  const values = normal(rng(seed), 1 << 20);
  let i = 0;
  return { normal: () => values[i++ % values.length], uniform: () => 0 } as unknown as Parameters<typeof orthogonalF64>[3];
}

test("the f64 reference iteration on gemm64 equals refBjorckForward / refBjorckBackward", () => {
  for (const [r, c] of [[5, 9], [9, 5], [6, 6]]) {
    const w = spread(r, c, 0.01, 1.4, r * c), g = uniform(rng(r + c), r * c);
    const ref = refBjorckForward(r, c, 4, 0.5, w);
    const mine = iterateF64(r, c, 4, 0.5, w, g);
    assertClose(mine.out, ref.out, 1e-14, 1e-13, `${r}x${c} values`);
    assertClose(mine.grad, refBjorckBackward(r, c, 0.5, ref.saved, g), 1e-14, 1e-12, `${r}x${c} gradients`);
  }
});

function runOp(w: Float64Array, r: number, c: number, iters: number, g: Float64Array, spectral: boolean) {
  return tidy(() => {
    const x = requireGrad(tensor(w, [r, c], "f32"));
    const y = spectral ? ops.bjorckSpectral(x, iters) : ops.bjorck(x, iters);
    const [dw] = grad(ops.sum(ops.mul(y, tensor(g, [r, c], "f32"))), [x]);
    return { out: Float64Array.from(y.data), grad: Float64Array.from(dw.data) };
  });
}

const PAPER_SHAPES: [number, number][] = [[784, 512], [512, 512], [512, 784], [512, 10], [10, 512]];

/**
 * W_K and its gradient when every singular value of W is the same (the
 * orthogonal initialisation), in closed form: with X = W or W^T and
 * X X^T = lam I, W_K = q_K(lam) W and dX = q_K dOut_X + q_K'(lam) (H + H^T) X,
 * H = dOut_X X^T. lam is taken as trace(X X^T)/s; for f32-rounded weights the
 * eigenvalues spread by ~1e-7 around it, so there the closed form is exact to ~1e-7.
 */
function coincidentF64(r: number, c: number, iters: number, w: Float64Array, gOut: Float64Array) {
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  let trace = 0;
  for (const v of w) trace += v * v;
  const { q, dd } = refSpectralCoeffs([trace / s], iters, 0.5);
  const ws = e.workspace(k.gemm64WorkspaceBytes());
  const pw = putF64(w), pg = putF64(gOut), ph = putF64(new Float64Array(s * s)), pd = putF64(new Float64Array(r * c));
  // H = dOut_X X^T: for a tall W, dOut_X X^T = dOut^T W.
  if (wide) k.gemm64(G64.TRANS_B, s, s, l, 1, pg, c, pw, c, 0, ph, s, ws);
  else k.gemm64(G64.TRANS_A, s, s, l, 1, pg, c, pw, c, 0, ph, s, ws);
  const hv = e.arena.f64(ph, s * s);
  for (let i = 0; i < s; i++) for (let j = i; j < s; j++) hv[i * s + j] = hv[j * s + i] = hv[i * s + j] + hv[j * s + i];
  // dW = q dOut + q' (H + H^T) X (wide), or its transpose form W (H + H^T) (tall).
  e.arena.f64(pd, r * c).set(gOut);
  if (wide) k.gemm64(0, r, c, s, dd[0], ph, s, pw, c, q[0], pd, c, ws);
  else k.gemm64(0, r, c, s, dd[0], pw, c, ph, s, q[0], pd, c, ws);
  const grad = Float64Array.from(e.arena.f64(pd, r * c));
  for (const [ptr, n] of [[pw, r * c], [pg, r * c], [ph, s * s], [pd, r * c]]) e.arena.free(ptr, n * 8 + 64);
  return { out: w.map((v) => q[0] * v), grad };
}

test("the closed form at coincident singular values equals the f64 iteration", () => {
  for (const [r, c] of [[6, 11], [11, 6], [7, 7]]) {
    // Unrounded: the singular values coincide to f64 rounding, so the closed form is exact.
    const w = orthogonalF64(r, c, 0.3, normalStream(r * c));
    const g = uniform(rng(r - c), r * c);
    for (const iters of [3, 50]) {
      const ref = refBjorckForward(r, c, iters, 0.5, w);
      const closed = coincidentF64(r, c, iters, w, g);
      assertClose(closed.out, ref.out, 1e-13, 0, `${r}x${c} K=${iters} values`);
      const gRef = refBjorckBackward(r, c, 0.5, ref.saved, g);
      assertClose(closed.grad, gRef, 1e-12 * Math.max(...gRef.map(Math.abs)), 0, `${r}x${c} K=${iters} gradients`);
    }
  }
});

test("bjorckSpectral: the same values with and without gradient recording; K = 0 is the identity", () => {
  const [r, c] = [37, 21];
  const w = spread(r, c, 0.05, 1.4, 3);
  const withGrad = runOp(w, r, c, 7, uniform(rng(4), r * c), true).out;
  const without = tidy(() => Float64Array.from(ops.bjorckSpectral(tensor(w, [r, c], "f32"), 7).data));
  withGrad.forEach((v, i) => assert.ok(Object.is(v, without[i]), `entry ${i}`));
  const identity = tidy(() => Float64Array.from(ops.bjorckSpectral(tensor(w, [r, c], "f32"), 0).data));
  assertClose(identity, w, 1e-6, 0, "K = 0");
});

test("paper shapes, K = 3, 15, 50: the f32 spectral op is as close to the exact K steps as the f32 iteration is", () => {
  for (const [r, c] of PAPER_SHAPES) {
    const cases: [string, Float64Array][] = [
      // Singular values from 3e-4 (s^2 ~ 1e-7, as on trained weights) to 1.45.
      ["spread", spread(r, c, 3e-4, 1.45, r + 2 * c)],
      // torch.nn.init.orthogonal_ with the model's gain: every singular value is 1/sqrt(in).
      ["orthogonal init", Float64Array.from(Float32Array.from(orthogonalF64(r, c, 1 / Math.sqrt(c), normalStream(r * c))))],
    ];
    for (const [what, w] of cases) {
      const g = Float64Array.from(Float32Array.from(uniform(rng(r * 3 + c), r * c)));
      for (const iters of [3, 15, 50]) {
        // The exact K steps: the f64 iteration, or the closed form where all singular values coincide.
        const exact = what === "spread" ? iterateF64(r, c, iters, 0.5, w, g) : coincidentF64(r, c, iters, w, g);
        const sp = runOp(w, r, c, iters, g, true), it = runOp(w, r, c, iters, g, false);
        const label = `${r}x${c} ${what} K=${iters}`;
        const errs = {
          spValue: relErr(sp.out, exact.out), itValue: relErr(it.out, exact.out),
          spGrad: relErr(sp.grad, exact.grad), itGrad: relErr(it.grad, exact.grad),
        };
        if (process.env.LIPVAE_SPECTRAL_REPORT) console.log(label, JSON.stringify(errs));
        assert.ok(errs.spValue <= Math.max(2 * errs.itValue, 2e-6), `${label}: value error ${errs.spValue} (iteration ${errs.itValue})`);
        assert.ok(errs.spGrad <= Math.max(2 * errs.itGrad, 5e-6), `${label}: gradient error ${errs.spGrad} (iteration ${errs.itGrad})`);
      }
    }
  }
});

test.run();
