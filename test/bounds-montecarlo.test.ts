// Monte-Carlo validity of every tight bound against the worst cases it claims
// to bound (docs/certificates.md §2), plus the paper's bounds on the same
// instances.
//
// Set-up: D = z_δ − z_¬δ = m + ξ, ξ_j ~ N(0, σ_j(x+δ)² + σ_j(x)²), failure
// when ‖D‖ ≥ ρ = r/a. (A decoder g(z) = a·z makes the decoder step of the
// proofs an equality, so the latent event is the worst case over decoders.)
// The adversary picks m with ‖m‖ ≤ b‖δ‖ and σ(x+δ) with ‖σ(x+δ) − σ(x)‖ ≤ c‖δ‖
// and 0 ≤ σ_j ≤ 1; the instances below are the extreme choices.
//
// Confidence: each check allows the estimate 5 standard errors above the
// bound, SE = sqrt(max(p(1 − p), 1/n)/n). For a valid bound a false alarm has
// probability < 3e-7 per check (one-sided normal tail); the generator is
// seeded, so the run is reproducible. The "naive bound" test shows that the
// same check does catch an invalid bound.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import randn from "@stdlib/random-base-randn";
import { noncentralChi2Survival } from "../src/bounds/noncentral-chi2.js";
import { paperTheorem1, paperTheorem3Probability } from "../src/bounds/paper.js";
import {
  learnedVarianceBound,
  summariseFixedSigma,
  tightLemma2,
  tightTheorem1,
  tightTheorem3,
  tightTheorem3Probability,
} from "../src/bounds/tight.js";

const N = 20_000;
const normal = randn.factory({ seed: 20220328 });

/** Fraction of n draws with ‖mean + sd∘g‖ ≥ rho, g ~ N(0, I). */
function failureRate(mean: readonly number[], sd: readonly number[], rho: number, n = N): number {
  let hits = 0;
  const rho2 = rho * rho;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < mean.length; j++) {
      const v = mean[j] + sd[j] * normal();
      sum += v * v;
    }
    if (sum >= rho2) hits++;
  }
  return hits / n;
}

function standardError(p: number, n = N): number {
  return Math.sqrt(Math.max(p * (1 - p), 1 / n) / n);
}

function assertBelow(estimate: number, bound: number, what: string) {
  assert.ok(
    estimate <= bound + 5 * standardError(bound),
    `${what}: Monte Carlo ${estimate} exceeds the bound ${bound} by more than 5 SE (${standardError(bound)})`,
  );
}

/** A vector of the given norm along a direction chosen by `pick`. */
function along(dz: number, norm: number, axis: number | "random"): number[] {
  const v = new Array<number>(dz).fill(0);
  if (axis !== "random") {
    v[axis] = norm;
    return v;
  }
  let sum = 0;
  for (let j = 0; j < dz; j++) {
    v[j] = normal();
    sum += v[j] * v[j];
  }
  const scale = sum > 0 ? norm / Math.sqrt(sum) : 0;
  return v.map((x) => x * scale);
}

const norm = (v: readonly number[]) => summariseFixedSigma(v).sigmaNorm; // scaled: no underflow
const argmax = (v: readonly number[]) => v.reduce((best, x, j) => (x > v[best] ? j : best), 0);
const argmin = (v: readonly number[]) => v.reduce((best, x, j) => (x < v[best] ? j : best), 0);
const unit = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

test("isotropic fixed σ: the noncentral bound is attained at ‖m‖ = b‖δ‖ and holds below it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }), unit(0.02, 0.5), unit(0, 1.4), unit(0, 1),
      (dz, gamma, shiftFraction, inner) => {
        const rho = 1;
        const b = 1;
        const delta = shiftFraction * rho;
        const q = { a: 1, b, r: rho, dz, eps: 0.5, delta, ...summariseFixedSigma(new Array(dz).fill(gamma)) };
        const bound = tightTheorem3Probability(q).p2;
        const sd = new Array(dz).fill(Math.SQRT2 * gamma);
        const worst = failureRate(along(dz, b * delta, "random"), sd, rho);
        assert.ok(
          Math.abs(worst - bound) <= 5 * standardError(bound),
          `exact at the worst case: Monte Carlo ${worst} vs ${bound}`,
        );
        assertBelow(failureRate(along(dz, inner * b * delta, "random"), sd, rho), bound, "smaller mean shift");
      },
    ),
    { seed: 42, numRuns: 25 },
  );
});

test("non-isotropic fixed σ: the centred bound holds with the mean on the most and least noisy axes", () => {
  fc.assert(
    fc.property(
      fc.array(unit(0.005, 0.4), { minLength: 2, maxLength: 10 }), unit(0, 1.2), unit(0.3, 5),
      (sigma, shiftFraction, rhoScale) => {
        const dz = sigma.length;
        const rho = rhoScale * Math.max(...sigma);
        const delta = shiftFraction * rho; // b = 1
        const q = { a: 1, b: 1, r: rho, dz, eps: 0.5, delta, ...summariseFixedSigma(sigma) };
        const tight = tightTheorem3Probability(q);
        const paper = paperTheorem3Probability(q);
        const sd = sigma.map((s) => Math.SQRT2 * s);
        for (const axis of [argmax(sigma), argmin(sigma), "random"] as const) {
          const estimate = failureRate(along(dz, delta, axis), sd, rho);
          assertBelow(estimate, Math.min(tight.p1, tight.p2), `tight, mean on axis ${axis}`);
          assertBelow(estimate, Math.min(paper.p1, paper.p2), `paper, mean on axis ${axis}`);
        }
      },
    ),
    { seed: 42, numRuns: 25 },
  );
});

test("the naive bound (noncentral χ² with max_j σ_j) is invalid for non-isotropic σ, and the check catches it", () => {
  const sigma = [0.01, 0.3, 0.3];
  const rho = 1;
  const shift = 0.99; // along the quiet axis
  const variance = 2 * 0.3 * 0.3;
  const naive = noncentralChi2Survival((rho * rho) / variance, 3, (shift * shift) / variance);
  const estimate = failureRate([shift, 0, 0], sigma.map((s) => Math.SQRT2 * s), rho);
  assert.ok(estimate > naive + 5 * standardError(naive), `naive ${naive} vs Monte Carlo ${estimate}`);
  const ours = tightTheorem3Probability({ a: 1, b: 1, r: rho, dz: 3, eps: 0.5, delta: shift, ...summariseFixedSigma(sigma) });
  assertBelow(estimate, ours.p2, "the centred bound");
});

interface LearnedInstance {
  sigma: number[]; // σ(x), entries in [0, 1]
  b: number;
  c: number;
  delta: number;
  rho: number;
}

const learnedInstances = fc
  .record({
    // entries 0 or ≥ 1e-9: denormal σ only tests f64 underflow in the Monte Carlo itself
    sigma: fc.array(unit(0, 1).map((s) => (s < 1e-9 ? 0 : s)), { minLength: 1, maxLength: 10 }),
    b: unit(0.5, 3),
    c: unit(0, 3),
    delta: unit(0, 0.3),
    kappa: unit(0.3, 5),
  })
  .map(({ sigma, b, c, delta, kappa }): LearnedInstance => {
    // put r/a a few noise scales beyond the mean shift, where the bound is informative
    const spread = Math.sqrt(learnedVarianceBound(Math.max(...sigma), c, delta, 1));
    return { sigma, b, c, delta, rho: b * delta + kappa * Math.max(spread, 1e-3) };
  });

/**
 * The adversary's σ(x+δ), every entry ≤ cap: all of the allowed change on the
 * largest σ_j, spread in proportion, spread evenly, or none.
 */
function movedSigmas(sigma: readonly number[], change: number, cap = 1): number[][] {
  const top = argmax(sigma);
  const concentrated = sigma.map((s, j) => (j === top ? Math.min(cap, s + change) : s));
  const size = norm(sigma);
  const spread = size > 0 ? sigma.map((s) => Math.min(cap, s + (change * s) / size)) : concentrated;
  const even = sigma.map((s) => Math.min(cap, s + change / Math.sqrt(sigma.length)));
  return [concentrated, spread, even, [...sigma]];
}

test("learned σ: tight and paper Theorem 1 hold against adversarial σ(x+δ) and mean shifts", () => {
  fc.assert(
    fc.property(learnedInstances, ({ sigma, b, c, delta, rho }) => {
      const dz = sigma.length;
      const q = { a: 1, b, c, r: rho, dz, delta, sigmaNorm: norm(sigma), sigmaMax: Math.max(...sigma) };
      const tight = tightTheorem1(q);
      const paper = paperTheorem1(q);
      const tightDefault = tightTheorem1({ ...q, sigmaMax: undefined }); // S = min(‖σ‖, 1)
      for (const moved of movedSigmas(sigma, c * delta)) {
        const sd = moved.map((s, j) => Math.hypot(s, sigma[j]));
        for (const axis of [argmax(sd), "random"] as const) {
          const estimate = failureRate(along(dz, b * delta, axis), sd, rho);
          assertBelow(estimate, Math.min(tight.p1, tight.p2), "tight");
          assertBelow(estimate, Math.min(tightDefault.p1, tightDefault.p2), "tight without sigmaMax");
          assertBelow(estimate, Math.min(paper.p1, paper.p2), "paper");
        }
      }
    }),
    { seed: 42, numRuns: 30 },
  );
});

test("learned σ, one latent: σ(x+δ) = σ(x) + c‖δ‖ with a small σ(x), where the variance bound is what matters", () => {
  for (const [S, change, shift] of [[0.05, 0.5, 0.01], [0.01, 0.2, 0.05], [0.2, 0.6, 0.1]]) {
    const rho = 2 * (S + change) + shift; // about two noise scales out
    const q = { a: 1, b: 1, c: 1, r: rho, dz: 1, delta: change, sigmaNorm: S, sigmaMax: S };
    // b‖δ‖ = shift uses b = shift/change so that c‖δ‖ = change
    const bound = tightTheorem1({ ...q, b: shift / change });
    const estimate = failureRate([shift], [Math.hypot(Math.min(1, S + change), S)], rho);
    assert.ok(estimate > 1e-3, `the instance is informative (${estimate})`);
    assertBelow(estimate, Math.min(bound.p1, bound.p2), `S = ${S}, c‖δ‖ = ${change}`);
  }
});

test("learned σ: the Markov bounds' second moment b²‖δ‖² + ‖σ(x+δ)‖² + ‖σ(x)‖² is attained by the spread adversary", () => {
  fc.assert(
    fc.property(learnedInstances, ({ sigma, b, c, delta, rho }) => {
      const dz = sigma.length;
      const size = norm(sigma);
      if (size === 0 || size + c * delta > Math.sqrt(dz)) return; // the cap binds: covered by the other tests
      const moved = sigma.map((s) => s + (c * delta * s) / size); // ‖σ(x+δ)‖ = ‖σ‖ + c‖δ‖, but may pass 1
      if (moved.some((s) => s > 1)) return;
      const sd = moved.map((s, j) => Math.hypot(s, sigma[j]));
      const mean = along(dz, b * delta, "random");
      let sum = 0;
      let sumSquares = 0;
      for (let i = 0; i < N; i++) {
        let r2 = 0;
        for (let j = 0; j < dz; j++) {
          const v = mean[j] + sd[j] * normal();
          r2 += v * v;
        }
        sum += r2;
        sumSquares += r2 * r2;
      }
      const average = sum / N;
      const se = Math.sqrt(Math.max(0, sumSquares / N - average * average) / N);
      const q = { a: 1, b, c, r: rho, dz, delta, sigmaNorm: size, sigmaMax: Math.max(...sigma) };
      const claimed = tightTheorem1(q).p1 * rho * rho; // p1 = E‖D‖²/ρ² bound, when below 1
      if (tightTheorem1(q).p1 >= 1) return;
      assert.ok(Math.abs(average - claimed) <= 5 * se + 1e-9 * claimed, `E‖D‖² ${average} vs the bound ${claimed} (se ${se})`);
    }),
    { seed: 42, numRuns: 30 },
  );
});

test("margins: at ‖δ‖ = the tight margin, the worst cases fail with probability ≤ 1 − ε", () => {
  let certified = 0;
  fc.assert(
    fc.property(learnedInstances, unit(0.2, 0.8), ({ sigma, b, c, rho }, eps) => {
      const dz = sigma.length;
      const q = { a: 1, b, c, r: rho, dz, eps, sigmaNorm: norm(sigma), sigmaMax: Math.max(...sigma) };
      // The certificate covers ‖δ‖ < margin (an open ball: with σ = 0 the failure jumps to 1 at the margin).
      const margin = tightLemma2(q).margin;
      if (margin === 0) return; // nothing certified (not even ‖δ‖ = 0)
      certified++;
      const delta = margin * (1 - 1e-9);
      for (const moved of movedSigmas(sigma, c * delta)) {
        const sd = moved.map((s, j) => Math.hypot(s, sigma[j]));
        const estimate = failureRate(along(dz, b * delta, argmax(sd)), sd, rho);
        assertBelow(estimate, 1 - eps, `Lemma 2 tight margin ${delta}`);
      }
    }),
    { seed: 42, numRuns: 40 },
  );
  assert.ok(certified >= 20, `only ${certified} of 40 instances had a positive margin to test`);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), unit(0.02, 0.3), unit(0.1, 0.9), (dz, gamma, eps) => {
      const q = { a: 1, b: 1, r: 1, dz, eps, ...summariseFixedSigma(new Array(dz).fill(gamma)) };
      const margin = tightTheorem3(q).margin;
      if (margin === 0) return;
      const delta = margin * (1 - 1e-9);
      const estimate = failureRate(along(dz, delta, "random"), new Array(dz).fill(Math.SQRT2 * gamma), 1);
      assertBelow(estimate, 1 - eps, `Theorem 3 tight margin ${delta}`);
      // and the isotropic margin is exact: just past it the worst case fails more often than 1 − ε
      {
        const past = failureRate(along(dz, delta * 1.02 + 0.01, "random"), new Array(dz).fill(Math.SQRT2 * gamma), 1);
        assert.ok(past >= 1 - eps - 5 * standardError(1 - eps), `past the margin: ${past}`);
      }
    }),
    { seed: 42, numRuns: 20 },
  );
});

test("learned σ with any sigmaCap (0.3, 2, 6, none): tight Theorem 1 and Lemma 2 hold against adversaries that use the whole cap", () => {
  const instances = fc
    .record({
      cap: fc.constantFrom(0.3, 2, 6, Infinity),
      fractions: fc.array(unit(0, 1), { minLength: 1, maxLength: 8 }),
      b: unit(0.5, 3),
      c: unit(0, 3),
      delta: unit(0, 0.5),
      kappa: unit(0.3, 5),
      eps: unit(0.2, 0.8),
    })
    .map(({ cap, fractions, b, c, delta, kappa, eps }) => {
      const sigma = fractions.map((f) => f * Math.min(cap, 3)); // σ_j ≤ cap; unbounded: up to 3
      const spread = Math.sqrt(learnedVarianceBound(Math.max(...sigma), c, delta, cap));
      return { cap, sigma, b, c, delta, eps, rho: b * delta + kappa * Math.max(spread, 1e-3) };
    });
  let certified = 0;
  fc.assert(
    fc.property(instances, ({ cap, sigma, b, c, delta, eps, rho }) => {
      const dz = sigma.length;
      const q = { a: 1, b, c, r: rho, dz, sigmaNorm: norm(sigma), sigmaCap: cap };
      const bounds = [tightTheorem1({ ...q, delta, sigmaMax: Math.max(...sigma) }), tightTheorem1({ ...q, delta })];
      for (const moved of movedSigmas(sigma, c * delta, cap)) {
        const sd = moved.map((s, j) => Math.hypot(s, sigma[j]));
        for (const axis of [argmax(sd), "random"] as const) {
          const estimate = failureRate(along(dz, b * delta, axis), sd, rho);
          for (const bound of bounds) assertBelow(estimate, Math.min(bound.p1, bound.p2), `Theorem 1, cap ${cap}`);
        }
      }
      const margin = tightLemma2({ ...q, eps }).margin;
      if (margin === 0) return;
      certified++;
      const atMargin = margin * (1 - 1e-9);
      for (const moved of movedSigmas(sigma, c * atMargin, cap)) {
        const sd = moved.map((s, j) => Math.hypot(s, sigma[j]));
        const estimate = failureRate(along(dz, b * atMargin, argmax(sd)), sd, rho);
        assertBelow(estimate, 1 - eps, `Lemma 2 margin ${atMargin}, cap ${cap}`);
      }
    }),
    { seed: 7, numRuns: 40 },
  );
  assert.ok(certified >= 15, `only ${certified} of 40 instances had a positive margin to test`);
});

test("sigmoid outputs are 1/4-Lipschitz, so an M-Lipschitz pre-activation gives M/4", () => {
  const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
  fc.assert(
    fc.property(unit(-30, 30), unit(-30, 30), (s, t) => {
      assert.ok(Math.abs(sigmoid(s) - sigmoid(t)) <= Math.abs(s - t) / 4 + 1e-16);
    }),
    { seed: 42, numRuns: 1000 },
  );
});

test.run();
