// The paper's bounds (src/bounds/paper.ts): the test vectors of docs/reference-code.md,
// the conventions of docs/certificates.md §0, closed form against bisection, and monotonicity.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  paperLemma2,
  paperP1,
  paperP2,
  paperTheorem1,
  paperTheorem3,
  paperTheorem3Probability,
} from "../src/bounds/paper.js";
import { codeTheorem3M2Exact, codeTheorem3M2Grid } from "../src/bounds/reference-code.js";
import { lastTrue } from "../src/bounds/roots.js";

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} ± ${tol}`);

test("Figure 2 table (a = b = c = r = dz = 5, ‖σ‖ = 0.1), 1e-4 absolute", () => {
  const base = { a: 5, b: 5, c: 5, r: 5, dz: 5, sigmaNorm: 0.1 };
  const table: [number, number, number][] = [
    [0, 0.04, 1.46e-4],
    [0.02, 0.1, 0.1237],
    [0.05, 0.265, 1],
    [0.08, 0.52, 1],
    [0.1, 0.74, 1],
    [0.12, 1, 1],
    [0.2, 1, 1],
  ];
  for (const [delta, p1, p2] of table) {
    const bound = paperTheorem1({ ...base, delta });
    near(bound.p1, p1, 1e-4, `p1(${delta})`);
    near(bound.p2, p2, 1e-4, `p2(${delta})`);
    near(bound.probability, 1 - Math.min(p1, p2), 1e-4, `probability(${delta})`);
  }
});

test("Lemma 2 on the constrained model (M = 10, max_norm 0.176677)", () => {
  const q = { a: 10, b: 10, c: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.176677 };
  const at8 = paperLemma2(q);
  near(at8.m1, 0.018219, 5e-7, "m1 at r = 8");
  assert.is(at8.m2, 0, "m2 at r = 8");
  near(paperLemma2({ ...q, r: 5 }).m1, 2.0e-5, 1e-6, "m1 at r = 5");
  assert.is(paperLemma2({ ...q, r: 5 }).m2, 0);
});

// docs/reference-code.md, 'Test vectors' ("§7.4" in the test names below):
// r = 8, ε = 0.5, dz = 10, a = b = M, σ = γ·1.
// [M, γ, code grid m2, code exact m2, paper m1, paper m2]
const THEOREM3: [number, number, number, number, number, number][] = [
  [5, 0.02, 0.3007, 0.3009, 0.2249, 0.2346],
  [5, 0.04, 0.2814, 0.2818, 0.2205, 0.1491],
  [5, 0.06, 0.2621, 0.2627, 0.2132, 0.0636],
  [5, 0.08, 0.2428, 0.2436, 0.2024, 0],
  [7, 0.02, 0.1493, 0.1496, 0.114, 0.1022],
  [7, 0.04, 0.1354, 0.136, 0.1096, 0.0412],
  [7, 0.06, 0.1222, 0.1223, 0.1019, 0],
  [7, 0.08, 0.1083, 0.1087, 0.09, 0],
  [10, 0.02, 0.0704, 0.0705, 0.0551, 0.0373],
  [10, 0.04, 0.0607, 0.0609, 0.0506, 0],
  [10, 0.06, 0.0511, 0.0513, 0.042, 0],
  [10, 0.08, 0.0414, 0.0418, 0.0253, 0],
  [12, 0.02, 0.0475, 0.0476, 0.0378, 0.02],
  [12, 0.04, 0.0394, 0.0396, 0.0332, 0],
  [12, 0.06, 0.0316, 0.0317, 0.0233, 0],
  [12, 0.08, 0.0235, 0.0237, 0, 0],
];

test("Theorem 3 table of §7.4: code grid, code exact, paper m1, paper m2 (1e-4 absolute)", () => {
  for (const [M, gamma, grid, exact, m1, m2] of THEOREM3) {
    const code = { a: M, b: M, r: 8, dz: 10, eps: 0.5, gamma };
    const paper = paperTheorem3({ a: M, b: M, r: 8, dz: 10, eps: 0.5, sigmaNorm: gamma * Math.sqrt(10) });
    const cell = `M = ${M}, γ = ${gamma}`;
    near(codeTheorem3M2Grid(code), grid, 1e-4, `${cell} code grid`);
    near(codeTheorem3M2Exact(code), exact, 1e-4, `${cell} code exact`);
    near(paper.m1, m1, 1e-4, `${cell} paper m1`);
    near(paper.m2, m2, 1e-4, `${cell} paper m2`);
    assert.is(paper.margin, Math.max(paper.m1, paper.m2));
  }
});

test("Theorem 3 cells that §7.4 rounded twice, to 1e-6", () => {
  const sigma = (gamma: number) => gamma * Math.sqrt(10);
  near(paperTheorem3({ a: 5, b: 5, r: 8, dz: 10, eps: 0.5, sigmaNorm: sigma(0.02) }).m2, 0.234547, 1e-6, "M=5 γ=.02 m2");
  near(codeTheorem3M2Exact({ a: 10, b: 10, r: 8, dz: 10, eps: 0.5, gamma: 0.02 }), 0.070446, 1e-6, "M=10 γ=.02 exact");
  near(paperTheorem3({ a: 12, b: 12, r: 8, dz: 10, eps: 0.5, sigmaNorm: sigma(0.04) }).m1, 0.033148, 1e-6, "M=12 γ=.04 m1");
  near(codeTheorem3M2Grid({ a: 12, b: 12, r: 8, dz: 10, eps: 0.5, gamma: 0.06 }), 0.031547, 1e-6, "M=12 γ=.06 grid");
});

test("the reference code's configuration (γ = 0.1, M = 10): code m2 = 0.0322, paper margin 0", () => {
  near(codeTheorem3M2Grid({ a: 10, b: 10, r: 8, dz: 10, eps: 0.5, gamma: 0.1 }), 0.0322, 1e-4, "code m2");
  assert.is(paperTheorem3({ a: 10, b: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.1 * Math.sqrt(10) }).margin, 0);
});

test("conventions: p2 = 1 for dz < 2, r/a < b‖δ‖, u ≤ dz − 2 or u = 0; p2 = 0 when σ = 0", () => {
  const base = { a: 1, b: 1, c: 1, r: 1, dz: 5, sigmaNorm: 0.01, delta: 0 };
  assert.is(paperP2({ ...base, dz: 1 }), 1, "dz < 2");
  assert.is(paperP2({ ...base, delta: 1.5 }), 1, "r/a − b‖δ‖ < 0");
  assert.is(paperP2({ ...base, delta: 1 }), 1, "r/a = b‖δ‖: u = 0");
  assert.is(paperP2({ ...base, sigmaNorm: 0.5 }), 1, "u = 1 ≤ dz − 2");
  assert.is(paperP2({ ...base, c: 0, sigmaNorm: 0 }), 0, "σ = 0 and c = 0: u = ∞");
  assert.is(paperP2({ ...base, sigmaNorm: 0, delta: 0 }), 0, "σ = 0 at ‖δ‖ = 0: u = ∞");
  assert.is(paperP2({ ...base, c: 0, sigmaNorm: 0, delta: 1 }), 1, "u = 0/0 taken as 0");
  assert.is(paperP1({ ...base, delta: 10 }), 1, "p1 clamped at 1");
  // Inglot's expression exceeds 1 just above u = dz − 2; p2 is clamped.
  const justAbove = paperP2({ a: 1, b: 1, c: 0, r: 2 * 0.1 * Math.sqrt(3.01), dz: 5, sigmaNorm: 0.1, delta: 0 });
  assert.is(justAbove, 1, "clamped to 1");
  const eps = 0.5;
  assert.is(paperLemma2({ a: 1, b: 1, c: 1, r: 1, dz: 5, eps, sigmaNorm: 10 }).margin, 0, "margins clamped at 0");
  assert.is(paperTheorem3({ a: 1, b: 1, r: 1, dz: 1, eps, sigmaNorm: 10 }).margin, 0);
  assert.is(paperLemma2({ a: 1, b: 1, c: 1, r: 1, dz: 1, eps, sigmaNorm: 0.01 }).m2, 0, "m2 = 0 for dz = 1");
});

test("Theorem 3 with σ = 0: m1 = sqrt(1 − ε)·r/(ab), m2 = r/(ab)", () => {
  const t = paperTheorem3({ a: 2, b: 4, r: 8, dz: 10, eps: 0.75, sigmaNorm: 0 });
  near(t.m1, 0.5, 1e-15, "m1");
  near(t.m2, 1, 1e-15, "m2");
});

const positive = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const lemma2Inputs = fc.record({
  a: positive(0.2, 20),
  b: positive(0.2, 20),
  c: positive(0, 20),
  r: positive(0.1, 20),
  dz: fc.integer({ min: 2, max: 1000 }),
  eps: positive(0.01, 0.99),
  sigmaNorm: positive(0, 3),
});

test("closed-form m2 agrees with bisection on p2 (Lemma 2 and Theorem 3)", () => {
  fc.assert(
    fc.property(lemma2Inputs, (q) => {
      const rho = q.r / q.a;
      const byBisection = lastTrue((d) => paperP2({ ...q, delta: d }) <= 1 - q.eps, 0, rho / q.b);
      const closed = paperLemma2(q).m2;
      assert.ok(Math.abs(closed - byBisection) <= 1e-9 * (rho / q.b), `Lemma 2: ${closed} vs ${byBisection}`);
      const t3 = { a: q.a, b: q.b, r: q.r, dz: q.dz, eps: q.eps, sigmaNorm: q.sigmaNorm };
      const t3Bisection = lastTrue(
        (d) => paperTheorem3Probability({ ...t3, delta: d }).p2 <= 1 - q.eps, 0, rho / q.b,
      );
      const t3Closed = paperTheorem3(t3).m2;
      assert.ok(Math.abs(t3Closed - t3Bisection) <= 1e-9 * (rho / q.b), `Theorem 3: ${t3Closed} vs ${t3Bisection}`);
    }),
    { seed: 42, numRuns: 300 },
  );
});

test("m1 is the edge of {‖δ‖ : p1 ≤ 1 − ε}", () => {
  fc.assert(
    fc.property(lemma2Inputs, (q) => {
      const { m1 } = paperLemma2(q);
      const p1 = (d: number) => paperP1({ ...q, delta: d });
      if (m1 === 0) {
        assert.ok(p1(0) >= 1 - q.eps - 1e-12, "m1 = 0 only when the set is empty (or {0})");
        return;
      }
      assert.ok(p1(m1) <= 1 - q.eps + 1e-12, "p1(m1) ≤ 1 − ε");
      assert.ok(p1(m1 * (1 + 1e-9)) > 1 - q.eps - 1e-12, "just past m1, p1 > 1 − ε");
    }),
    { seed: 42, numRuns: 300 },
  );
});

/** Asserts that f(q) does not rise (direction −1) or fall (+1) when `key` grows. */
function monotone<Q extends Record<string, number>>(f: (q: Q) => number, q: Q, key: keyof Q, grow: number, direction: 1 | -1) {
  const before = f(q);
  const after = f({ ...q, [key]: (q[key] as number) * grow + (key === "c" || key === "sigmaNorm" ? 1e-3 : 0) });
  const slack = 1e-12 * Math.max(1, Math.abs(before));
  if (direction === -1) assert.ok(after <= before + slack, `${String(key)}↑ should not raise: ${before} → ${after}`);
  else assert.ok(after >= before - slack, `${String(key)}↑ should not lower: ${before} → ${after}`);
}

test("paper margins fall as a, b, c, ‖σ‖ grow and rise with r; Theorem 1 likewise", () => {
  fc.assert(
    fc.property(lemma2Inputs, positive(1.0001, 3), positive(0, 1), (q, grow, delta) => {
      const lemma2 = (x: typeof q) => paperLemma2(x).margin;
      for (const key of ["a", "b", "c", "sigmaNorm"] as const) monotone(lemma2, q, key, grow, -1);
      monotone(lemma2, q, "r", grow, 1);
      const { c: _c, ...t3 } = q;
      const theorem3 = (x: typeof t3) => paperTheorem3(x).margin;
      for (const key of ["a", "b", "sigmaNorm"] as const) monotone(theorem3, t3, key, grow, -1);
      monotone(theorem3, t3, "r", grow, 1);
      const { eps: _e, ...t1base } = q;
      const t1 = { ...t1base, delta };
      const probability = (x: typeof t1) => paperTheorem1(x).probability;
      for (const key of ["a", "b", "c", "sigmaNorm", "delta"] as const) monotone(probability, t1, key, grow, -1);
      monotone(probability, t1, "r", grow, 1);
    }),
    { seed: 42, numRuns: 300 },
  );
});

test.run();
