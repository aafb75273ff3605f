// The f64 symmetric eigensolver (assembly/eig.ts): against its TypeScript
// oracle (refEigSym), against mathjs's eigs, and against the defining
// properties G U = U Λ and UᵀU = I on random, clustered and rank-deficient
// matrices, up to the paper's Gram size n = 512.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { eigs } from "mathjs";
import { engine } from "../src/engine/engine.js";
import { refEigSym } from "../src/engine/reference.js";
import { SEED, assertClose } from "./helpers.js";
import { lowRankGram, normInf, randomSymmetric, residuals, withSpectrum } from "./eig-helpers.js";

const e = engine();
const k = e.kernels;

/** The kernel on a (n x n, leading dimension lda); eigenvectors come back as rows. */
function kernelEig(n: number, a: Float64Array, lda = n, workBytes = k.eigSymWorkspaceBytes(n)) {
  const pa = e.arena.alloc(Math.max(a.length, 1) * 8), pw = e.arena.alloc(n * 8 + 8), pz = e.arena.alloc(n * n * 8 + 8);
  const work = e.arena.alloc(workBytes);
  e.arena.f64(pa, a.length).set(a);
  const status = k.eigSym(n, pa, lda, pw, pz, work, workBytes);
  const out = { status, values: Float64Array.from(e.arena.f64(pw, n)), vectors: Float64Array.from(e.arena.f64(pz, n * n)) };
  e.arena.free(pa, Math.max(a.length, 1) * 8);
  e.arena.free(pw, n * 8 + 8);
  e.arena.free(pz, n * n * 8 + 8);
  e.arena.free(work, workBytes);
  return out;
}

function checkDecomposition(a: Float64Array, n: number, what: string): { values: Float64Array; vectors: Float64Array } {
  const out = kernelEig(n, a);
  assert.is(out.status, 0, `${what}: status`);
  for (let i = 1; i < n; i++) assert.ok(out.values[i - 1] <= out.values[i], `${what}: eigenvalues ascending`);
  const { eig, orth } = residuals(a, n, out.values, out.vectors);
  const tol = 4 * n * 2 ** -52;
  assert.ok(eig <= tol, `${what}: ||GU - UΛ|| / ||G|| = ${eig} > ${tol}`);
  assert.ok(orth <= tol, `${what}: ||UᵀU - I|| = ${orth} > ${tol}`);
  return out;
}

test("eigSym matches its TypeScript oracle on random symmetric matrices (n = 1..40)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer(), (n, seed) => {
      const a = randomSymmetric(n, seed);
      const out = checkDecomposition(a, n, `n=${n}`);
      const ref = refEigSym(n, a);
      assert.ok(ref.converged);
      const scale = normInf(a, n);
      assertClose(out.values, ref.values, 8 * n * 2 ** -52 * scale, 0, `n=${n} eigenvalues`);
      // Where an eigenvalue is well separated its eigenvector is unique up to sign.
      for (let j = 0; j < n; j++) {
        const gap = Math.min(j > 0 ? out.values[j] - out.values[j - 1] : Infinity, j < n - 1 ? out.values[j + 1] - out.values[j] : Infinity);
        if (gap < 1e-6 * scale) continue;
        let dot = 0;
        for (let t = 0; t < n; t++) dot += out.vectors[j * n + t] * ref.vectors[j * n + t];
        assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-12 * scale / gap + 1e-13, `n=${n} eigenvector ${j}: |u.u_ref| = ${Math.abs(dot)}`);
      }
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test("the TypeScript oracle satisfies G U = U Λ and UᵀU = I (it is checked, not trusted)", () => {
  for (const n of [1, 2, 5, 17]) {
    const a = randomSymmetric(n, 100 + n);
    const ref = refEigSym(n, a);
    const { eig, orth } = residuals(a, n, ref.values, ref.vectors);
    assert.ok(eig <= 4 * n * 2 ** -52 && orth <= 4 * n * 2 ** -52, `oracle n=${n}: ${eig}, ${orth}`);
  }
});

test("eigSym agrees with mathjs eigs on random, clustered and rank-deficient matrices", () => {
  const cases: [string, Float64Array, number][] = [
    ["random n=10", randomSymmetric(10, 1), 10],
    ["random n=33", randomSymmetric(33, 2), 33],
    ["clustered n=12 (eigenvalues 1 x5, 1+1e-9 x4, 2, 3, 3)", withSpectrum([1, 1, 1, 1, 1, 1 + 1e-9, 1 + 1e-9, 1 + 1e-9, 1 + 1e-9, 2, 3, 3], 3), 12],
    ["rank 3 Gram n=10", lowRankGram(10, 3, 4), 10],
    ["scaled identity n=9", withSpectrum(new Array(9).fill(0.0013), 5), 9],
    ["tiny eigenvalues n=10 (1e-7 .. 2.2)", withSpectrum([1e-7, 3e-7, 1e-6, 1e-4, 0.01, 0.3, 1, 1.5, 2, 2.2], 6), 10],
  ];
  for (const [name, a, n] of cases) {
    const out = checkDecomposition(a, n, name);
    const rows = Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
    const theirs = (eigs(rows) as unknown as { values: number[] }).values.map(Number).sort((x, y) => x - y);
    assertClose(out.values, theirs, 1e-13 * Math.max(1, normInf(a, n)), 0, `${name}: eigenvalues vs mathjs`);
  }
});

test("eigSym: clustered eigenvalues give an orthonormal basis of each eigenspace (projectors agree)", () => {
  const spectrum = [0.5, 0.5, 0.5, 0.5 + 1e-12, 1.2, 1.2, 2, 2, 2, 2];
  const n = spectrum.length;
  const a = withSpectrum(spectrum, 17);
  const out = checkDecomposition(a, n, "clusters");
  const ref = refEigSym(n, a);
  // Spectral projector onto the eigenvalues in [lo, hi], from rows of eigenvectors.
  const projector = (values: Float64Array, rows: Float64Array, lo: number, hi: number) => {
    const p = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      if (values[j] < lo || values[j] > hi) continue;
      for (let s = 0; s < n; s++) for (let t = 0; t < n; t++) p[s * n + t] += rows[j * n + s] * rows[j * n + t];
    }
    return p;
  };
  for (const [lo, hi] of [[0.4, 0.6], [1.1, 1.3], [1.9, 2.1]]) {
    assertClose(projector(out.values, out.vectors, lo, hi), projector(ref.values, ref.vectors, lo, hi), 1e-12, 0, `projector [${lo}, ${hi}]`);
  }
});

test("eigSym at n = 512: random, clustered and rank-deficient (the paper's Gram size)", () => {
  const n = 512;
  checkDecomposition(randomSymmetric(n, 7), n, "random 512");
  // A trained layer's Gram: eigenvalues from 1e-7 to about 2.2, with a cluster at 1.
  const trained = Array.from({ length: n }, (_, i) => (i < 40 ? 1e-7 * (1 + i) : i < 300 ? 1 + 1e-10 * i : 0.01 + (2.2 * (i - 300)) / 212));
  const out = checkDecomposition(withSpectrum(trained, 8), n, "trained-like 512");
  const sorted = [...trained].sort((x, y) => x - y);
  // Absolute accuracy: n eps ||G||, which keeps the 1e-7 eigenvalues to ~6 digits.
  assertClose(out.values, sorted, 4 * n * 2 ** -52 * 2.2, 0, "trained-like spectrum");
  checkDecomposition(lowRankGram(n, 10, 9), n, "rank 10 Gram 512");
});

test("eigSym results do not depend on the rotation log's size (bit for bit)", () => {
  for (const n of [3, 9, 40, 67]) {
    const a = randomSymmetric(n, 31 + n);
    const full = kernelEig(n, a);
    const minimal = kernelEig(n, a, n, 12 * n * 8 + 24 * (n + 2));
    assert.is(minimal.status, 0);
    full.vectors.forEach((v, i) => assert.ok(Object.is(v, minimal.vectors[i]), `n=${n}: vector entry ${i} differs`));
    full.values.forEach((v, i) => assert.ok(Object.is(v, minimal.values[i]), `n=${n}: value ${i} differs`));
    assert.is(kernelEig(n, a, n, 12 * n * 8 + 24 * (n + 2) - 48).status, 3, `n=${n}: too small a workspace is refused`);
  }
});

test("eigSym reads a padded leading dimension and may overwrite its input in place", () => {
  const n = 13, lda = 16;
  const a = randomSymmetric(n, 77);
  const padded = new Float64Array(n * lda).fill(NaN); // padding must never be read
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) padded[i * lda + j] = a[i * n + j];
  const plain = kernelEig(n, a);
  const fromPadded = kernelEig(n, padded, lda);
  assert.is(fromPadded.status, 0);
  assertClose(fromPadded.vectors, plain.vectors, 0, 0, "padded lda");
  // z aliasing a.
  const work = k.eigSymWorkspaceBytes(n);
  const pa = e.arena.alloc(n * n * 8), pw = e.arena.alloc(n * 8), pwork = e.arena.alloc(work);
  e.arena.f64(pa, n * n).set(a);
  assert.is(k.eigSym(n, pa, n, pw, pa, pwork, work), 0);
  assertClose(e.arena.f64(pa, n * n), plain.vectors, 0, 0, "in place");
});

test("eigSym refuses NaN and infinite entries with NaN outputs instead of looping", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const a = randomSymmetric(6, 5);
    a[2 * 6 + 4] = a[4 * 6 + 2] = bad;
    const out = kernelEig(6, a);
    assert.is(out.status, 1, `${bad}: status`);
    assert.ok(out.values.every(Number.isNaN) && out.vectors.every(Number.isNaN), `${bad}: outputs NaN`);
  }
});

test.run();
