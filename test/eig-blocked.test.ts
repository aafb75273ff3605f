// The blocked stages 1-2 of the f64 eigensolver (assembly/tridiag-blocked.ts:
// panels of NB = 32 columns while the trailing matrix after a panel keeps at
// least 128 rows, so from n = 160 on). Sizes straddle the panel width and the
// blocking threshold; matrices are random, clustered, graded and
// rank-deficient. Checked: the defining properties G U = U Λ and UᵀU = I,
// eigenvalues against the TypeScript oracle and against the spectrum a matrix
// was built from, agreement with the unblocked stages (which a workspace too
// small for the blocked scratch falls back to), and bit-identical results on
// one thread and on the engine's threads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engine } from "../src/engine/engine.js";
import { instantiate } from "../src/engine/wasm.js";
import { Arena } from "../src/engine/arena.js";
import { refEigSym } from "../src/engine/reference.js";
import { assertClose, normal, rng } from "./helpers.js";
import { eigOn } from "./eig-helpers.js";

const e = engine();
const EPS = 2 ** -52;


const eig = (n: number, a: Float64Array, workBytes = e.kernels.eigSymWorkspaceBytes(n)) => eigOn(e.arena, e.kernels, n, a, workBytes);
/** The smallest workspace eigSym accepts: no room for the blocked scratch. */
const minimalWork = (n: number) => 12 * n * 8 + 24 * (n + 2);

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = normal(rng(seed), n * n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r[i * n + j];
  return a;
}

/**
 * A dense symmetric matrix with eigenvalues `values`: diag(values) conjugated
 * by three random Householder reflections (H A H = A - u wᵀ - w uᵀ with
 * w = 2 A u - 2 (uᵀ A u) u for a unit u), O(n²) each.
 */
function withSpectrum(values: number[], seed: number): Float64Array {
  const n = values.length;
  const a = new Float64Array(n * n);
  values.forEach((v, i) => (a[i * n + i] = v));
  const rand = rng(seed);
  for (let r = 0; r < 3; r++) {
    const u = normal(rand, n);
    const norm = Math.hypot(...u);
    u.forEach((x, i) => (u[i] = x / norm));
    const au = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) au[i] += a[i * n + j] * u[j];
    const uau = au.reduce((s, x, i) => s + x * u[i], 0);
    const w = au.map((x, i) => 2 * x - 2 * uau * u[i]);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = a[i * n + j] - u[i] * w[j] - w[i] * u[j];
  }
  return a;
}

/** Entries graded by rows and columns: a_ij = r_ij g_i g_j, g falling from 1 to 1e-6. */
function graded(n: number, seed: number): Float64Array {
  const a = randomSymmetric(n, seed);
  const g = Array.from({ length: n }, (_, i) => 10 ** (-6 * i / (n - 1)));
  return a.map((x, t) => x * g[Math.floor(t / n)] * g[t % n]);
}

/** Frobenius norm, an upper bound on ‖G‖₂. */
const normF = (a: Float64Array) => Math.sqrt(a.reduce((sum, x) => sum + x * x, 0));

/** Checks G U = U Λ and UᵀU = I to 4 n eps (‖G‖_F for the first), eigenvalues ascending. */
function checkDecomposition(a: Float64Array, n: number, out: ReturnType<typeof eig>, what: string): void {
  assert.is(out.status, 0, `${what}: status`);
  for (let i = 1; i < n; i++) assert.ok(out.values[i - 1] <= out.values[i], `${what}: eigenvalues ascending`);
  let res = 0, orth = 0;
  const u = out.vectors;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += a[i * n + t] * u[j * n + t];
      res = Math.max(res, Math.abs(s - out.values[j] * u[j * n + i]));
    }
    for (let i = 0; i <= j; i++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += u[i * n + t] * u[j * n + t];
      orth = Math.max(orth, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  const tol = 4 * n * EPS;
  assert.ok(res <= tol * normF(a), `${what}: ‖GU - UΛ‖ = ${res} > ${tol} ‖G‖`);
  assert.ok(orth <= tol, `${what}: ‖UᵀU - I‖ = ${orth} > ${tol}`);
}

// NB - 1, NB, NB + 1 and 2 NB + 3 (unblocked), then around the blocking
// threshold 160: unblocked, one panel, one panel and a row, two panels (192),
// two panels and three rows.
const SIZES = [31, 32, 33, 67, 159, 160, 161, 192, 195];

test("eigSym around the panel width and the blocking threshold: residuals and eigenvalues vs the TypeScript oracle", () => {
  for (const n of SIZES) {
    const a = randomSymmetric(n, 1000 + n);
    const out = eig(n, a);
    checkDecomposition(a, n, out, `random n=${n}`);
    const ref = refEigSym(n, a);
    assert.ok(ref.converged, `oracle n=${n} converged`);
    assertClose(out.values, ref.values, 8 * n * EPS * normF(a), 0, `n=${n}: eigenvalues vs the oracle`);
  }
});

test("eigSym on clustered, graded and rank-deficient matrices above the blocking threshold", () => {
  for (const n of [161, 195]) {
    // Clusters of four within 1e-12, a graded spectrum from 1e-12 to 1, and rank 12.
    const clustered = Array.from({ length: n }, (_, i) => 1 + Math.floor(i / 4) + 1e-12 * (i % 4));
    const gradedSpectrum = Array.from({ length: n }, (_, i) => 10 ** (-12 * i / (n - 1)));
    const rank12 = Array.from({ length: n }, (_, i) => (i < n - 12 ? 0 : 1 + i / n));
    const spectra = [["clustered", clustered], ["graded spectrum", gradedSpectrum], ["rank 12", rank12]] as const;
    for (const [name, spectrum] of spectra) {
      const a = withSpectrum(spectrum, 7 * n);
      const out = eig(n, a);
      checkDecomposition(a, n, out, `${name} n=${n}`);
      // The spectrum the matrix was built from, to the rounding of building it and of eigSym.
      assertClose(out.values, [...spectrum].sort((x, y) => x - y), 16 * n * EPS * normF(a), 0, `${name} n=${n}: eigenvalues`);
    }
    const g = graded(n, 3 * n);
    const outGraded = eig(n, g);
    checkDecomposition(g, n, outGraded, `graded entries n=${n}`);
    assertClose(outGraded.values, refEigSym(n, g).values, 8 * n * EPS * normF(g), 0, `graded entries n=${n}: vs the oracle`);
  }
});

test("eigSym above the blocking threshold where reflectors are the identity (tau = 0): diagonal and block-diagonal", () => {
  const n = 200;
  const spectrum = Array.from({ length: n }, (_, i) => Math.cos(i));
  const diagonal = new Float64Array(n * n);
  spectrum.forEach((v, i) => (diagonal[i * n + i] = v));
  const outDiagonal = eig(n, diagonal);
  checkDecomposition(diagonal, n, outDiagonal, "diagonal n=200");
  assertClose(outDiagonal.values, [...spectrum].sort((x, y) => x - y), 0, 0, "diagonal n=200: eigenvalues exact");
  // Two random blocks, 50 and 150 rows: column 49 has nothing below its subdiagonal to annihilate.
  const blocks = new Float64Array(n * n);
  for (const [first, size, seed] of [[0, 50, 21], [50, 150, 22]]) {
    const block = randomSymmetric(size, seed);
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) blocks[(first + i) * n + first + j] = block[i * size + j];
  }
  const outBlocks = eig(n, blocks);
  checkDecomposition(blocks, n, outBlocks, "block-diagonal n=200");
  assertClose(outBlocks.values, refEigSym(n, blocks).values, 8 * n * EPS * normF(blocks), 0, "block-diagonal n=200: vs the oracle");
});

test("eigSym at n = 512: the blocked accumulation runs as f64 GEMMs, and the blocked stages agree with the unblocked ones", () => {
  const n = 512;
  // A trained layer's Gram: 100 zero eigenvalues, a cluster at 1, the rest up to 2.2.
  const spectrum = Array.from({ length: n }, (_, i) => (i < 100 ? 0 : i < 300 ? 1 + 1e-10 * i : 0.01 + (2.2 * (i - 300)) / 212));
  const a = withSpectrum(spectrum, 11);
  const flopsBefore = e.kernels.flopsF64();
  const blocked = eig(n, a);
  const gemmFlops = e.kernels.flopsF64() - flopsBefore;
  // Nearly all of the accumulation's 4/3 n³ (the reduction's rank-64 updates use
  // gemm64's tile kernel, not gemm64, and are not counted).
  assert.ok(gemmFlops >= 1.2 * n ** 3, `the default workspace runs the blocked stages (f64 GEMM flops ${gemmFlops})`);
  const before = e.kernels.flopsF64();
  const unblocked = eig(n, a, minimalWork(n));
  assert.is(e.kernels.flopsF64(), before, "a workspace without room for the blocked scratch runs the unblocked stages");
  checkDecomposition(a, n, blocked, "trained-like 512, blocked");
  checkDecomposition(a, n, unblocked, "trained-like 512, unblocked");
  const scale = normF(a);
  assertClose(blocked.values, [...spectrum].sort((x, y) => x - y), 16 * n * EPS * scale, 0, "blocked eigenvalues vs the spectrum");
  assertClose(blocked.values, unblocked.values, 8 * n * EPS * scale, 0, "blocked vs unblocked eigenvalues");
  // Eigenvectors of well separated eigenvalues agree up to sign.
  for (let j = 0; j < n; j++) {
    const gap = Math.min(j > 0 ? blocked.values[j] - blocked.values[j - 1] : Infinity, j < n - 1 ? blocked.values[j + 1] - blocked.values[j] : Infinity);
    if (gap < 1e-6 * scale) continue;
    let dot = 0;
    for (let t = 0; t < n; t++) dot += blocked.vectors[j * n + t] * unblocked.vectors[j * n + t];
    assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-12 * scale / gap + 1e-13, `eigenvector ${j}: |u_blocked . u_unblocked| = ${Math.abs(dot)}`);
  }
});

test("the blocked stages give bit-identical results on one thread and on the engine's threads", async () => {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(e.activeThreads(), e.threads, "every worker started within 20 s");
  const single = instantiate(e.build, 64);
  const one = new Arena(single.memory, single.kernels.heapBase());
  const jobsBefore = e.splitJobs();
  for (const [n, a] of [[160, randomSymmetric(160, 1)], [195, graded(195, 2)], [512, randomSymmetric(512, 3)]] as const) {
    const threaded = eig(n, a);
    const alone = eigOn(one, single.kernels, n, a, single.kernels.eigSymWorkspaceBytes(n));
    assert.is(alone.status, 0);
    threaded.values.forEach((v, i) => assert.ok(Object.is(v, alone.values[i]), `n=${n}: eigenvalue ${i} differs`));
    threaded.vectors.forEach((v, i) => {
      if (!Object.is(v, alone.vectors[i])) assert.unreachable(`n=${n}: eigenvector entry ${i} = ${v} threaded, ${alone.vectors[i]} on one thread`);
    });
  }
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore + 500, "the blocked stages' passes were split between threads");
});

test.run();
