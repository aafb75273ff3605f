// The users' property (docs/attacks.md §7), probability form: Theorem 1's certified
// r-robustness probability never exceeds the empirical one. For the small
// Lipschitz VAEs trained here (fixed σ and clipped σ), random test inputs,
// budgets ‖δ‖ ≤ d with d up to twice the empirical margin, and each form
// (paper and tight, nominal and measured constants), the bound at the
// attacked or random δ's norm must not exceed a one-sided 99.99%
// Clopper–Pearson upper bound on the empirical probability (1,000 samples).
// A wrong formula (the bound evaluated at ‖δ‖/3) must be caught.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { type Fixture, fixture, testImages } from "./attack-fixtures.js";
import { KINDS, type Kind, type Probe, certifiedProbability, check, sigmaStats } from "./attack-cases.js";

let fixtures: Fixture[] = [];

test.before(async () => {
  fixtures = [await fixture("fixed"), await fixture("constrained")];
});

function probabilityProbes(image: number, d: number, kinds: Kind[] = KINDS, shrink = 1): Probe[] {
  const x = testImages([image]);
  return fixtures.flatMap((f) => {
    const sigma = sigmaStats(f, x);
    return kinds.map((kind): Probe => ({
      fixture: f, image, x, radius: d,
      label: shrink === 1 ? `Theorem 1 (${kind})` : `Theorem 1 (${kind}) evaluated at ‖δ‖/${shrink}`,
      claim: (norm) => certifiedProbability(f, kind, sigma, norm / shrink),
    }));
  });
}

test("Theorem 1's certified probability never exceeds the empirical probability", () => {
  let checked = 0, nontrivial = 0, probes = 0;
  let closest: { slack: number; message: string } | null = null;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 9999 }), fc.double({ min: 0, max: 3, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (image, d, seed) => {
        const list = probabilityProbes(image, d);
        probes += list.length;
        nontrivial += list.filter((p) => p.claim(d) > 0).length;
        const out = check(list, seed);
        checked += out.checked;
        if (out.closest && (!closest || out.closest.slack < closest.slack)) closest = out.closest;
        if (out.violations.length > 0) throw new Error(`Theorem 1 exceeded the empirical probability:\n  ${out.violations.join("\n  ")}`);
      },
    ),
    { seed: 42, numRuns: 6, endOnFailure: true },
  );
  console.log(`  Theorem 1: ${nontrivial} of ${probes} (model, input, form, budget) cases certify a positive probability at the full budget; ${checked} perturbations checked`);
  const near = closest as { slack: number; message: string } | null;
  if (near) console.log(`  closest call (estimate − bound = ${near.slack.toFixed(4)}): ${near.message}`);
  assert.ok(nontrivial >= probes / 4, "too few cases certify anything: the test would have no power");
});

test("a wrong Theorem 1 (evaluated at ‖δ‖/3) is caught", () => {
  const list = [0, 1].flatMap((image) => probabilityProbes(image, 2.5, ["tight.measured"], 3));
  const out = check(list, 11);
  console.log(`  wrong formula: ${out.violations.length} of ${out.checked} perturbations refute it, e.g.\n    ${out.violations[0] ?? "(none)"}`);
  for (const p of list) {
    assert.ok(out.violations.some((v) => v.includes(`${p.fixture.kind}-σ model`) && v.includes(`test input ${p.image},`)),
      `the wrong bound on the ${p.fixture.kind}-σ model at input ${p.image} was not refuted`);
  }
});

test.run();
