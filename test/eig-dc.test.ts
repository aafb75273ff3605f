// The divide-and-conquer stage of the f64 eigensolver (assembly/tridiag-dc.ts,
// used by eigSym from n = 96 when the workspace allows): G U = U Λ, UᵀU = I and
// eigenvalues to n eps ||G|| on the matrices that stress it (exact and near
// ties that deflate, graded and rank-deficient spectra, tridiagonals that
// split), agreement with the QL path it replaces, and results that do not
// depend on the thread count.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engine } from "../src/engine/engine.js";
import { instantiate } from "../src/engine/wasm.js";
import { Arena } from "../src/engine/arena.js";
import { refEigSym } from "../src/engine/reference.js";
import { assertClose, normal, rng } from "./helpers.js";
import { eigOn, lowRankGram, normInf, randomSymmetric, residuals, symmetricFrom, withSpectrum } from "./eig-helpers.js";

const e = engine();
const k = e.kernels;
const EPS = 2 ** -52;

/** Workspace of the QL path: what eigSymWorkspaceBytes gave before divide and conquer. */
const qlBytes = (n: number) => 12 * n * 8 + (Math.max(Math.floor((n * n) / 2), 4 * n + 64) + 2) * 24;


/**
 * A tridiagonal matrix whose off-diagonal is exactly zero at every 25th
 * position (where the divide and conquer tears it for n = 200: nothing to
 * merge there) and at a few others, with repeated diagonal values.
 */
function splitTridiagonal(n: number, seed: number): Float64Array {
  const r = normal(rng(seed), 2 * n);
  return symmetricFrom(n, (i, j) => {
    if (i === j) return i % 3 === 0 ? 0.5 : r[i];
    if (i !== j + 1) return 0;
    return j % 25 === 24 || j % 7 === 3 ? 0 : r[n + j];
  });
}

/** Decomposes a, checks the residuals and (when given) the eigenvalues against `expected` to n eps ||G||. */
function check(a: Float64Array, n: number, what: string, expected?: ArrayLike<number>): Float64Array {
  const out = eigOn(e.arena, k, n, a);
  assert.is(out.status, 0, `${what}: status`);
  for (let i = 1; i < n; i++) assert.ok(out.values[i - 1] <= out.values[i], `${what}: eigenvalues ascending`);
  const { eig, orth } = residuals(a, n, out.values, out.vectors);
  const tol = 4 * n * EPS;
  assert.ok(eig <= tol, `${what}: ||GU - UΛ|| / ||G|| = ${eig} > ${tol}`);
  assert.ok(orth <= tol, `${what}: ||UᵀU - I|| = ${orth} > ${tol}`);
  if (expected) {
    const sorted = Float64Array.from(expected).sort();
    assertClose(out.values, sorted, n * EPS * Math.max(normInf(a, n), 1e-300), 0, `${what}: eigenvalues`);
  }
  return out.values;
}

const SIZES = [64, 200, 512];

test("random symmetric matrices: eigenpairs and the oracle's eigenvalues (n = 64, 200, 512)", () => {
  for (const n of SIZES) {
    const a = randomSymmetric(n, 11 + n);
    check(a, n, `random ${n}`, refEigSym(n, a).values);
  }
});

test("G = I exactly and G = I + 1e-13 noise (the orthogonal initialisation's Gram): every eigenvalue deflates or clusters", () => {
  for (const n of SIZES) {
    const identity = symmetricFrom(n, (i, j) => (i === j ? 1 : 0));
    const values = check(identity, n, `I ${n}`, new Array(n).fill(1));
    assert.ok(values.every((v) => v === 1), `I ${n}: eigenvalues exactly 1`);
    const noise = normal(rng(n), n * n);
    const near = symmetricFrom(n, (i, j) => (i === j ? 1 : 0) + 1e-13 * noise[i * n + j]);
    check(near, n, `I + noise ${n}`, refEigSym(n, near).values);
  }
});

test("diagonal G (T diagonal: no merge mixes eigenvectors): exact eigenvalues, unit eigenvectors", () => {
  for (const n of [200, 512]) {
    const diag = normal(rng(n + 3), n);
    const out = eigOn(e.arena, k, n, symmetricFrom(n, (i, j) => (i === j ? diag[i] : 0)));
    assert.is(out.status, 0);
    const sorted = Float64Array.from(diag).sort();
    out.values.forEach((v, j) => assert.is(v, sorted[j], `diagonal ${n}: eigenvalue ${j}`));
    for (let j = 0; j < n; j++) {
      const at = diag.indexOf(out.values[j]);
      for (let t = 0; t < n; t++) assert.is(Math.abs(out.vectors[j * n + t]), t === at ? 1 : 0, `diagonal ${n}: eigenvector ${j} is e_${at}`);
    }
  }
});

test("G = 0 and matrices scaled by 1e-100 and 1e100 (divide and conquer scales T by a power of two)", () => {
  const n = 200;
  const zero = check(new Float64Array(n * n), n, "zero 200", new Array(n).fill(0));
  assert.ok(zero.every((v) => v === 0), "zero 200: eigenvalues exactly 0");
  const a = randomSymmetric(n, 17);
  const ref = refEigSym(n, a).values;
  for (const s of [1e-100, 1e100]) check(a.map((x) => x * s), n, `random 200 x ${s}`, ref.map((x) => x * s));
});

test("clustered spectra: exact ties, ties to 1e-12 and a trained layer's Gram (cluster at 1, tail to 1e-7)", () => {
  for (const n of SIZES) {
    const ties = Array.from({ length: n }, (_, i) => [0.5, 0.5 + 1e-12, 1.2, 2][i % 4]);
    check(withSpectrum(ties, 3 + n), n, `ties ${n}`, ties);
    const trained = Array.from({ length: n }, (_, i) => (i < n / 12 ? 1e-7 * (1 + i) : i < (3 * n) / 5 ? 1 + 1e-10 * i : 0.01 + (2.2 * i) / n));
    check(withSpectrum(trained, 5 + n), n, `trained-like ${n}`, trained);
  }
});

test("graded spectra (1e-12 .. 1) and rank-deficient Grams", () => {
  for (const n of SIZES) {
    const graded = Array.from({ length: n }, (_, i) => 10 ** (-12 + (12 * i) / (n - 1)));
    check(withSpectrum(graded, 7 + n), n, `graded ${n}`, graded);
    const rank = n >> 3;
    const values = check(lowRankGram(n, rank, 9 + n), n, `rank ${rank} Gram ${n}`);
    const big = values[n - 1];
    for (let i = 0; i < n - rank; i++) assert.ok(Math.abs(values[i]) <= n * EPS * big, `rank ${rank} Gram ${n}: eigenvalue ${i} = ${values[i]} is not 0`);
  }
});

/**
 * Wilkinson's W21+ blocks glued by off-diagonals 1e-9: W21+ has pairs of
 * eigenvalues equal to about 1e-14, and gluing makes n/21 near-copies of each,
 * the classic test of a divide and conquer's deflation and root finder.
 */
function gluedWilkinson(n: number): Float64Array {
  return symmetricFrom(n, (i, j) => {
    if (i === j) return Math.abs((i % 21) - 10);
    if (i !== j + 1) return 0;
    return j % 21 === 20 ? 1e-9 : 1;
  });
}

test("tridiagonal matrices: zero off-diagonals (split where the matrix is torn) and glued Wilkinson blocks", () => {
  for (const n of SIZES) {
    const a = splitTridiagonal(n, 13 + n);
    check(a, n, `split tridiagonal ${n}`, refEigSym(n, a).values);
    const w = gluedWilkinson(n);
    check(w, n, `glued Wilkinson ${n}`, refEigSym(n, w).values);
  }
});

test("from n = 96 the default workspace runs divide and conquer: it differs from QL (a smaller workspace) by rounding only", () => {
  for (const n of [95, 96, 200]) {
    const a = randomSymmetric(n, 21 + n);
    assert.ok(k.eigSymWorkspaceBytes(n) >= qlBytes(n), `n=${n}: the default workspace covers QL's`);
    const dc = eigOn(e.arena, k, n, a);
    const ql = eigOn(e.arena, k, n, a, qlBytes(n));
    assert.is(ql.status, 0);
    const scale = normInf(a, n);
    assertClose(dc.values, ql.values, 4 * n * EPS * scale, 0, `n=${n}: eigenvalues, divide and conquer vs QL`);
    for (let j = 0; j < n; j++) {
      // Well separated eigenvalues have eigenvectors unique up to sign.
      const gap = Math.min(j > 0 ? ql.values[j] - ql.values[j - 1] : Infinity, j < n - 1 ? ql.values[j + 1] - ql.values[j] : Infinity);
      if (gap < 1e-6 * scale) continue;
      let dot = 0;
      for (let t = 0; t < n; t++) dot += dc.vectors[j * n + t] * ql.vectors[j * n + t];
      assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-12 * scale / gap + 1e-13, `n=${n} eigenvector ${j}: |u_dc.u_ql| = ${Math.abs(dot)}`);
    }
    const identical = dc.vectors.every((v, i) => Object.is(v, ql.vectors[i]));
    assert.is(identical, n < 96, `n=${n}: ${n < 96 ? "QL on both workspaces" : "divide and conquer, not QL"}`);
  }
});

test("divide and conquer gives bit-identical results on one and two threads", async () => {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const single = instantiate(e.build, 64);
  const ref = new Arena(single.memory, single.kernels.heapBase());
  const jobsBefore = e.splitJobs();
  const noise = normal(rng(5), 512 * 512);
  const cases: [string, number, Float64Array][] = [
    ["random 512", 512, randomSymmetric(512, 41)],
    ["rank 64 Gram 512", 512, lowRankGram(512, 64, 42)],
    ["I + noise 512", 512, symmetricFrom(512, (i, j) => (i === j ? 1 : 0) + 1e-13 * noise[i * 512 + j])],
    ["random 200", 200, randomSymmetric(200, 43)],
  ];
  for (const [what, n, a] of cases) {
    const threaded = eigOn(e.arena, k, n, a);
    const one = eigOn(ref, single.kernels, n, a);
    assert.is(one.status, 0, `${what}: status`);
    threaded.values.forEach((v, i) => assert.ok(Object.is(v, one.values[i]), `${what}: eigenvalue ${i}: ${v} threaded, ${one.values[i]} on one thread`));
    threaded.vectors.forEach((v, i) => {
      if (!Object.is(v, one.vectors[i])) assert.unreachable(`${what}: vector entry ${i}: ${v} threaded, ${one.vectors[i]} on one thread`);
    });
  }
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore, "the work was split between threads");
});

test.run();
