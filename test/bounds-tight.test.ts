// lipvae's tight bounds (src/bounds/tight.ts) and the design inversion
// (src/bounds/design.ts): never below the paper, monotone, closed forms
// against bisection, the gains claimed in docs/certificates.md §2.2–2.3.
// Their validity against worst cases is test/bounds-montecarlo.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { paperLemma2, paperTheorem1, paperTheorem3 } from "../src/bounds/paper.js";
import {
  summariseFixedSigma,
  tightLemma2,
  tightP1,
  tightP2,
  tightTheorem1,
  tightTheorem3,
  tightTheorem3Probability,
} from "../src/bounds/tight.js";
import { designTable, maxLipschitzConstant, paperMaxSigmaNorm, tightMaxGamma } from "../src/bounds/design.js";
import { lastTrue } from "../src/bounds/roots.js";
import { chi2Survival } from "../src/bounds/chi2.js";
import { expectLipvaeError } from "./io-util.js";

const positive = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const learned = fc
  .record({
    a: positive(0.2, 20),
    b: positive(0.2, 20),
    c: positive(0, 20),
    r: positive(0.1, 20),
    dz: fc.integer({ min: 1, max: 200 }),
    eps: positive(0.01, 0.99),
    sigmaFraction: positive(0, 1),
    sigmaCap: fc.constantFrom(1, 1, 0.5, 2.5, Infinity), // 1 (lipvae's sigmoid) most often
  })
  // every σ_j ≤ sigmaCap, so ‖σ‖ ≤ sqrt(dz)·sigmaCap
  .map(({ sigmaFraction, ...q }) => ({ ...q, sigmaNorm: sigmaFraction * Math.min(4, q.sigmaCap * Math.sqrt(q.dz)) }));
const fixed = fc.record({
  a: positive(0.5, 15),
  b: positive(0.5, 15),
  r: positive(0.5, 10),
  dz: fc.integer({ min: 1, max: 50 }),
  eps: positive(0.01, 0.99),
  gamma: positive(0, 0.5),
});
const isotropic = (q: { a: number; b: number; r: number; dz: number; eps: number; gamma: number }) => ({
  a: q.a, b: q.b, r: q.r, dz: q.dz, eps: q.eps,
  ...summariseFixedSigma(new Array<number>(q.dz).fill(q.gamma)),
});
const notBelow = (tight: number, paper: number, what: string) =>
  assert.ok(tight >= paper * (1 - 1e-12), `${what}: tight ${tight} < paper ${paper}`);

test("the tight form is never below the paper: Theorem 1, Lemma 2, Theorem 3", () => {
  fc.assert(
    fc.property(learned, positive(0, 2), (q, delta) => {
      const { eps: _eps, ...t1 } = q;
      notBelow(tightTheorem1({ ...t1, delta }).probability, paperTheorem1({ ...t1, delta }).probability, "Theorem 1");
      notBelow(tightLemma2(q).margin, paperLemma2(q).margin, "Lemma 2");
    }),
    { seed: 42, numRuns: 300 },
  );
  fc.assert(
    fc.property(fixed, (q) => {
      const iso = isotropic(q);
      notBelow(tightTheorem3(iso).margin, paperTheorem3(iso).margin, "Theorem 3, σ = γ·1");
      const shapeless = { ...iso, sigmaMax: undefined, isotropic: undefined };
      notBelow(tightTheorem3(shapeless).margin, paperTheorem3(shapeless).margin, "Theorem 3, ‖σ‖ only");
    }),
    { seed: 42, numRuns: 150 },
  );
});

/** f must not rise (direction −1) or fall (+1) when `key` is scaled by `grow`. */
function monotone<Q extends Record<string, unknown>>(f: (q: Q) => number, q: Q, key: keyof Q, grow: number, direction: 1 | -1) {
  const before = f(q);
  const after = f({ ...q, [key]: (q[key] as number) * grow + 1e-3 });
  const slack = 1e-10 * Math.max(1, Math.abs(before));
  if (direction === -1) assert.ok(after <= before + slack, `${String(key)}↑ should not raise: ${before} → ${after}`);
  else assert.ok(after >= before - slack, `${String(key)}↑ should not lower: ${before} → ${after}`);
}

test("tight learned-σ margins fall as a, b, c, ‖σ‖, sigmaCap grow and rise with r", () => {
  fc.assert(
    fc.property(learned, positive(1.0001, 3), positive(0, 1), (q, grow, delta) => {
      // ‖σ‖ can only grow as far as sqrt(dz)·cap allows
      const sigmaCanGrow = q.sigmaNorm * grow + 1e-3 <= q.sigmaCap * Math.sqrt(q.dz);
      const keys = (extra: readonly string[]) => ["a", "b", "c", ...(sigmaCanGrow ? ["sigmaNorm"] : []), "sigmaCap", ...extra];
      const margin = (x: typeof q) => tightLemma2(x).margin;
      for (const key of keys([]) as (keyof typeof q)[]) monotone(margin, q, key, grow, -1);
      monotone(margin, q, "r", grow, 1);
      const { eps: _e, ...base } = q;
      const t1 = { ...base, delta };
      const probability = (x: typeof t1) => tightTheorem1(x).probability;
      for (const key of keys(["delta"]) as (keyof typeof t1)[]) monotone(probability, t1, key, grow, -1);
      monotone(probability, t1, "r", grow, 1);
    }),
    { seed: 42, numRuns: 300 },
  );
});

test("tight fixed-σ margin falls as a, b grow and rises with r; falls as γ grows when ε ≥ 1/2", () => {
  fc.assert(
    fc.property(fixed, positive(1.0001, 2), (q, grow) => {
      const margin = (x: typeof q) => tightTheorem3(isotropic(x)).margin;
      for (const key of ["a", "b"] as const) monotone(margin, q, key, grow, -1);
      monotone(margin, q, "r", grow, 1);
      // For ε < 1/2 the exact probability certifies ‖δ‖ beyond r/(ab), where more noise can help;
      // the margin is then not monotone in γ (docs/certificates.md §2.3).
      if (q.eps >= 0.5) monotone(margin, q, "gamma", grow, -1);
    }),
    { seed: 42, numRuns: 80 },
  );
});

test("tight closed forms agree with bisection on the tight probability bounds", () => {
  fc.assert(
    fc.property(learned, (q) => {
      const rho = q.r / q.a;
      const { eps: _e, ...base } = q;
      const t = tightLemma2(q);
      const m1 = lastTrue((d) => tightP1({ ...base, delta: d }) <= 1 - q.eps, 0, rho / q.b);
      const m2 = lastTrue((d) => tightP2({ ...base, delta: d }) <= 1 - q.eps, 0, rho / q.b);
      assert.ok(Math.abs(t.m1 - m1) <= 1e-9 * (rho / q.b), `m1 ${t.m1} vs ${m1}`);
      assert.ok(Math.abs(t.m2 - m2) <= 1e-9 * (rho / q.b), `m2 ${t.m2} vs ${m2}`);
    }),
    { seed: 42, numRuns: 200 },
  );
  fc.assert(
    fc.property(fixed, fc.integer({ min: 0, max: 1000 }), (q, seed) => {
      // a non-isotropic σ: the centred closed form against bisection on its own p2
      const sigma = Array.from({ length: q.dz }, (_, j) => q.gamma * (0.2 + (((seed + 7 * j) % 11) / 10)));
      const input = { a: q.a, b: q.b, r: q.r, dz: q.dz, eps: q.eps, ...summariseFixedSigma(sigma) };
      const rho = q.r / q.a;
      const hi = 4 * rho / q.b;
      const m2 = lastTrue((d) => tightTheorem3Probability({ ...input, delta: d }).p2 <= 1 - q.eps, 0, hi);
      const closed = tightTheorem3(input).m2;
      assert.ok(Math.abs(closed - m2) <= 1e-9 * hi, `Theorem 3 m2 ${closed} vs ${m2}`);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test("the isotropic tight Theorem 3 margin is exactly where the failure probability reaches 1 − ε", () => {
  fc.assert(
    fc.property(fixed, (q) => {
      const input = isotropic(q);
      const { m2 } = tightTheorem3(input);
      if (q.gamma === 0 || m2 === 0) return;
      const at = tightTheorem3Probability({ ...input, delta: m2 }).p2;
      const past = tightTheorem3Probability({ ...input, delta: m2 * (1 + 1e-6) }).p2;
      assert.ok(at <= 1 - q.eps + 1e-9, `at m2 the failure ${at} ≤ 1 − ε`);
      assert.ok(past >= 1 - q.eps - 1e-9, `past m2 the failure ${past} ≥ 1 − ε`);
    }),
    { seed: 42, numRuns: 80 },
  );
});

test("on the paper's Theorem 3 grid the tight margin is 1.3–3× the paper's", () => {
  let lo = Infinity;
  let hi = 0;
  for (const M of [5, 7, 10, 12]) {
    for (const gamma of [0.02, 0.04, 0.06, 0.08]) {
      const q = { a: M, b: M, r: 8, dz: 10, eps: 0.5, ...summariseFixedSigma(new Array(10).fill(gamma)) };
      const paper = paperTheorem3(q).margin;
      const tight = tightTheorem3(q).margin;
      assert.ok(tight > 0, `M = ${M}, γ = ${gamma}: tight margin positive`);
      if (paper > 0) {
        lo = Math.min(lo, tight / paper);
        hi = Math.max(hi, tight / paper);
      }
    }
  }
  assert.ok(lo >= 1.3 && hi <= 3, `ratios in [${lo}, ${hi}]`);
});

test("learned σ with ‖σ(x)‖ = 2.5: the paper certifies nothing, the tight form does (a = c = M/4)", () => {
  for (const M of [5, 7]) {
    const q = { a: M / 4, b: M, c: M / 4, r: 8, dz: 10, eps: 0.5, sigmaNorm: 2.5 };
    assert.is(paperLemma2(q).margin, 0, `paper, M = ${M}`);
    assert.ok(tightLemma2(q).margin > 0.03, `tight, M = ${M}: ${tightLemma2(q).margin}`);
  }
});

test("the σ facts are checked: sigmaMax ≤ ‖σ‖, ≤ sigmaCap; fixed σ shape consistent", () => {
  const q = { a: 1, b: 1, c: 1, r: 1, dz: 4, eps: 0.5, sigmaNorm: 0.5 };
  assert.throws(() => tightLemma2({ ...q, sigmaMax: 0.6 }), /cannot exceed sigmaNorm/);
  assert.throws(() => tightLemma2({ ...q, sigmaNorm: 1.5, sigmaMax: 1.2 }), /exceeds sigmaCap/);
  assert.throws(() => tightLemma2({ ...q, sigmaCap: 0 }), /sigmaCap/);
  assert.ok(tightLemma2({ ...q, sigmaNorm: 3, sigmaMax: 2, sigmaCap: Infinity }).margin >= 0);
  const t3 = { a: 1, b: 1, r: 1, dz: 4, eps: 0.5 };
  assert.throws(() => tightTheorem3({ ...t3, sigmaNorm: 1, sigmaMax: 0.1 }), /cannot exceed sqrt/);
  assert.throws(() => tightTheorem3({ ...t3, sigmaNorm: 1, sigmaMax: 0.6, isotropic: true }), /isotropic/);
  const summary = summariseFixedSigma([3e-200, 4e-200]);
  assert.ok(Math.abs(summary.sigmaNorm - 5e-200) < 1e-214, "no underflow in the norm");
  assert.is(summary.isotropic, false);
});

test("the tight learned-σ bounds refuse a ‖σ‖ that σ_j ≤ sigmaCap makes impossible, with a one-line LipvaeError", () => {
  const q = { a: 0.25, b: 1, c: 0.25, r: 8, dz: 1, eps: 0.5, sigmaNorm: 100 };
  // Before the check this certified 31.05: S = min(‖σ‖, 1) = 1 while ‖σ‖ = 100 in one dimension.
  const message = expectLipvaeError(() => tightLemma2(q), "sigmaNorm (100) exceeds sqrt(dz)·sigmaCap (1)", "or use the paper form");
  assert.match(message, /null for none/);
  expectLipvaeError(() => tightTheorem1({ ...q, delta: 0.1 }), "exceeds sqrt(dz)·sigmaCap (1)");
  expectLipvaeError(() => tightLemma2({ ...q, dz: 4, sigmaNorm: 3, sigmaCap: 1.4 }), "sqrt(dz)·sigmaCap (2.8)");
  assert.is(paperLemma2(q).margin, 0, "the paper form assumes no cap and answers");
  // the largest possible ‖σ‖ is allowed, and so are f32-measured values a few ulps above it
  for (const sigmaNorm of [2, 2 * (1 + 3e-7)]) assert.ok(tightLemma2({ ...q, dz: 4, sigmaNorm }).margin >= 0);
  assert.ok(tightLemma2({ ...q, sigmaCap: 100 }).margin >= 0);
  assert.ok(tightLemma2({ ...q, sigmaCap: Infinity }).margin >= 0, "no cap: any ‖σ‖");
  // ‖σ‖ ≤ sqrt(dz)·max_j σ_j too: a smaller sigmaMax would understate the variance
  assert.throws(() => tightLemma2({ ...q, dz: 4, sigmaNorm: 1, sigmaMax: 0.4 }), /cannot exceed sqrt\(dz\)·sigmaMax \(0\.8\)/);
  assert.ok(tightLemma2({ ...q, dz: 4, sigmaNorm: 1, sigmaMax: 0.5 }).margin >= 0);
});

test("with no cap the tight bounds are the general form: S = ‖σ‖, V = (‖σ‖ + c‖δ‖)² + ‖σ‖²", () => {
  const q = { a: 1, b: 1, c: 0.5, r: 10, dz: 3, sigmaNorm: 1.5, delta: 0.4 };
  const bound = tightTheorem1({ ...q, sigmaCap: Infinity });
  const moved = q.sigmaNorm + q.c * q.delta;
  const rho = q.r / q.a;
  assert.ok(Math.abs(bound.p1 - (q.b ** 2 * q.delta ** 2 + moved ** 2 + q.sigmaNorm ** 2) / rho ** 2) < 1e-15);
  const y = (rho - q.b * q.delta) ** 2 / (moved ** 2 + q.sigmaNorm ** 2);
  assert.ok(Math.abs(bound.p2 - chi2Survival(y, q.dz)) < 1e-15);
  // a cap that never binds changes nothing; one that binds only lowers the failure bounds
  assert.equal(tightTheorem1({ ...q, sigmaCap: 1e6 }), bound);
  const capped = tightTheorem1({ ...q, sigmaCap: 1 });
  assert.ok(capped.p1 <= bound.p1 && capped.p2 < bound.p2);
});

test("design: the paper and tight σ it returns give margin ≥ m, and 0.1% more σ does not", () => {
  fc.assert(
    fc.property(
      positive(1, 10), positive(0.3, 0.9), fc.integer({ min: 2, max: 20 }), positive(0.01, 0.5), positive(0.05, 0.95),
      (r, eps, dz, margin, fraction) => {
        const q = { r, eps, dz, margin };
        const M = fraction * maxLipschitzConstant(q);
        const rho = r / M;
        const sigmaNorm = paperMaxSigmaNorm(q, M);
        assert.ok(sigmaNorm > 0, "some σ works below the maximum M");
        const paper = (s: number) => paperTheorem3({ a: M, b: M, r, dz, eps, sigmaNorm: s }).margin;
        assert.ok(paper(sigmaNorm) >= margin * (1 - 1e-9), `paper margin ${paper(sigmaNorm)} ≥ ${margin}`);
        assert.ok(paper(sigmaNorm * 1.001) < margin, "paper σ is the largest");
        const gamma = tightMaxGamma(q, M);
        const tight = (g: number) =>
          tightTheorem3({ a: M, b: M, r, dz, eps, ...summariseFixedSigma(new Array(dz).fill(g)) }).margin;
        assert.ok(tight(gamma) >= margin * (1 - 1e-9), `tight margin ${tight(gamma)} ≥ ${margin}`);
        assert.ok(tight(gamma * 1.001) < margin, "tight γ is the largest");
        assert.ok(gamma * Math.sqrt(dz) >= sigmaNorm * (1 - 1e-9), "tight allows at least the paper's σ");
        assert.ok(rho > M * margin, "below the maximum M, r/a > b·m");
      },
    ),
    { seed: 42, numRuns: 40 },
  );
});

test("design table: default grid stays below the maximum M, decoder sigmoid doubles it", () => {
  const q = { r: 8, eps: 0.5, dz: 10, margin: 0.1 };
  const design = designTable(q);
  assert.ok(Math.abs(design.maxM - Math.sqrt(80)) < 1e-12);
  assert.ok(design.rows.every((row) => row.M < design.maxM && row.tightGamma > 0));
  assert.ok(Math.abs(maxLipschitzConstant({ ...q, decoderFactor: 0.25 }) - 2 * Math.sqrt(80)) < 1e-12);
  assert.is(paperMaxSigmaNorm(q, 9), 0, "above the maximum M no σ works");
  assert.is(tightMaxGamma(q, 9), 0);
});

test.run();
