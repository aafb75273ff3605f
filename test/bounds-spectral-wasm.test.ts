// The certified spectral-norm bound on the WASM kernels (src/bounds/spectral.ts):
// never below the true norm (an f64 oracle: mathjs's eigs of the Gram) on
// random and near-orthogonal matrices, within a stated tolerance of the plain
// JavaScript path it replaced (test/bounds-spectral-reference.ts), and its
// Cholesky test never certifies an indefinite matrix.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { eigs } from "mathjs";
import { certifiedPositiveDefinite, spectralNorm } from "../src/bounds/spectral.js";
import { Random } from "../src/engine/random.js";
import { orthogonalF64 } from "../src/model/init.js";
import { refEigSym } from "../src/engine/reference.js";
import { withSingularValues } from "../bench/exact.js";
import { certifiedPositiveDefiniteJs, smallGram, spectralNormJs } from "./bounds-spectral-reference.js";
import { SEED, rng, uniform } from "./helpers.js";

/** sigma_max from mathjs's symmetric eigensolver on the f64 Gram (accurate to ~1e-13 relative here). */
function oracleNorm(w: ArrayLike<number>, r: number, c: number): number {
  const { g, s } = smallGram(w, r, c);
  const rows = Array.from({ length: s }, (_, i) => Array.from(g.subarray(i * s, (i + 1) * s)));
  const values = (eigs(rows) as unknown as { values: number[] }).values.map(Number);
  return Math.sqrt(Math.max(0, ...values));
}

/** The WASM and JS bounds agree to this relative tolerance (both bisect to 1e-8 in t). */
const AGREEMENT = 1e-8;

function checkBound(w: ArrayLike<number>, r: number, c: number, what: string): void {
  const truth = oracleNorm(w, r, c);
  const { estimate, upper } = spectralNorm(w, r, c);
  assert.ok(upper >= truth * (1 - 1e-12), `${what}: upper ${upper} < true ${truth}`);
  assert.ok(upper <= truth * (1 + 1e-7) + 1e-300, `${what}: upper ${upper} loose against ${truth}`);
  assert.ok(Math.abs(estimate - truth) <= 1e-12 * truth, `${what}: estimate ${estimate} vs ${truth}`);
  const js = spectralNormJs(w, r, c);
  assert.ok(Math.abs(upper - js.upper) <= AGREEMENT * js.upper, `${what}: WASM ${upper} vs JS ${js.upper}`);
}

test("the WASM bound is >= the true spectral norm and agrees with the JS path (random matrices)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), fc.boolean(), (r, c, seed, f32) => {
      const raw = uniform(rng(seed), r * c);
      const w = f32 ? Float64Array.from(Float32Array.from(raw)) : raw;
      checkBound(w, r, c, `${r}x${c} random${f32 ? " (f32 values)" : ""}`);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test("the WASM bound is >= the true spectral norm on near-orthogonal matrices (Björck outputs)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 48 }), fc.integer({ min: 0, max: 2 ** 30 }),
      fc.constantFrom(0, 1e-7, 1e-4), (r, c, seed, spread) => {
        const rand = rng(seed), s = Math.min(r, c);
        // Singular values in [1 - spread, 1] (all equal for spread 0), then rounded to f32 like real weights.
        const sv = Array.from({ length: s }, () => 1 - spread * rand());
        const w = withSingularValues(r, c, sv, new Random(seed));
        checkBound(w, r, c, `${r}x${c} near-orthogonal (spread ${spread})`);
      }),
    { seed: SEED, numRuns: 40 },
  );
});

test("the WASM bound covers a paper-sized layer (200 x 300 near-orthogonal and 512 x 784 random)", () => {
  const w = withSingularValues(200, 300, Array.from({ length: 200 }, (_, i) => 1 - 1e-7 * (i % 7)), new Random(SEED));
  checkBound(w, 200, 300, "200x300 near-orthogonal");
  const big = Float64Array.from(Float32Array.from(uniform(rng(SEED), 512 * 784))).map((x) => x * 0.05);
  const truth = oracleNormLarge(big, 512, 784);
  const { upper } = spectralNorm(big, 512, 784);
  assert.ok(upper >= truth * (1 - 1e-12) && upper <= truth * (1 + 1e-7), `512x784: upper ${upper} vs ${truth}`);
  const js = spectralNormJs(big, 512, 784).upper;
  assert.ok(Math.abs(upper - js) <= AGREEMENT * js, `512x784: WASM ${upper} vs JS ${js}`);
});

/** sigma_max of a large matrix from the TypeScript EISPACK eigensolver on its f64 Gram (mathjs is too slow at 512). */
function oracleNormLarge(w: Float64Array, r: number, c: number): number {
  const { g, s } = smallGram(w, r, c);
  return Math.sqrt(Math.max(0, ...refEigSym(s, g).values));
}

test("the WASM Cholesky test certifies clearly definite matrices and never an indefinite one", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 2 ** 30 }), fc.boolean(), (n, seed, definite) => {
      // Q diag(lambda) Q^T with lambda in [1e-6, 1], and for the indefinite case one lambda = -1e-9.
      const rand = rng(seed);
      const q = orthogonalF64(n, n, 1, new Random(seed));
      const lambda = Array.from({ length: n }, () => 1e-6 + rand());
      if (!definite) lambda[Math.floor(rand() * n)] = -1e-9;
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += q[i * n + t] * lambda[t] * q[j * n + t];
        a[i * n + j] = a[j * n + i] = acc;
      }
      assert.is(certifiedPositiveDefinite(a, n), definite, `n = ${n}, definite = ${definite}`);
      assert.is(certifiedPositiveDefiniteJs(a, n), definite, `JS path, n = ${n}`);
    }),
    { seed: SEED, numRuns: 60 },
  );
  assert.not.ok(certifiedPositiveDefinite(Float64Array.from([1, NaN, NaN, 1]), 2), "NaN never certifies");
});

test("zero and empty matrices have norm 0", () => {
  assert.equal(spectralNorm(new Float64Array(12), 3, 4), { estimate: 0, upper: 0 });
  assert.equal(spectralNorm(new Float64Array(0), 0, 5), { estimate: 0, upper: 0 });
});

test.run();
