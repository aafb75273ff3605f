// The users' property (docs/attacks.md §7): certified margins never exceed empirical
// margins. For small Lipschitz VAEs trained here (fixed σ: Theorem 3;
// clipped σ: Lemma 2), random test inputs and each certificate (paper and
// tight form, nominal and measured constants), perturbations with ‖δ‖ at most
// the certified margin, adversarial (max-damage attacks) and random, must keep
// the empirical r-robustness probability at least ε: the claim is refuted
// only when a one-sided 99.99% Clopper–Pearson upper bound from 1,000 samples
// falls below ε. A margin inflated three-fold must be refuted.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { type Fixture, fixture, testImages } from "./attack-fixtures.js";
import { EPS, KINDS, type Probe, certifiedMargins, check } from "./attack-cases.js";

let fixtures: Fixture[] = [];

test.before(async () => {
  fixtures = [await fixture("fixed"), await fixture("constrained")];
});

/** Probes claiming P ≥ ε up to `scale` × each positive certified margin at one input. */
function marginProbes(image: number, kinds = KINDS, scale = 1): { probes: Probe[]; cases: number } {
  const x = testImages([image]);
  const probes: Probe[] = [];
  let cases = 0;
  for (const f of fixtures) {
    const margins = certifiedMargins(f, x);
    for (const kind of kinds) {
      cases += 1;
      const m = margins[kind] * scale;
      if (!(m > 0)) continue;
      const label = scale === 1 ? `${kind} margin ${m.toFixed(4)}` : `${kind} margin ×${scale} = ${m.toFixed(4)}`;
      probes.push({ fixture: f, image, x, label, radius: m, claim: (norm) => (norm <= m * (1 + 1e-5) ? EPS : 0) });
    }
  }
  return { probes, cases };
}

test("certified margins never exceed empirical margins (fixed σ and clipped σ; paper/tight × nominal/measured)", () => {
  let cases = 0, positive = 0, checked = 0;
  let closest: { slack: number; message: string } | null = null;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0.25, max: 1, noNaN: true }),
      (image, seed, fraction) => {
        const { probes, cases: c } = marginProbes(image);
        cases += c;
        positive += probes.length;
        const out = check(probes, seed, fraction);
        checked += out.checked;
        if (out.closest && (!closest || out.closest.slack < closest.slack)) closest = out.closest;
        if (out.violations.length > 0) throw new Error(`certificate exceeded the empirical margin:\n  ${out.violations.join("\n  ")}`);
      },
    ),
    { seed: 42, numRuns: 6, endOnFailure: true },
  );
  console.log(`  margins: ${positive} of ${cases} (model, input, certificate) cases certify a positive margin; ${checked} perturbations checked`);
  const near = closest as { slack: number; message: string } | null;
  if (near) console.log(`  closest call (estimate − ε = ${near.slack.toFixed(4)}): ${near.message}`);
  assert.ok(positive >= cases / 2, `only ${positive} of ${cases} cases certify a positive margin: the test would have no power`);
});

test("a margin inflated three-fold is caught (tight form, measured constants)", () => {
  const images = [0, 1, 2, 3];
  const probes = images.flatMap((i) => marginProbes(i, ["tight.measured"], 3).probes);
  assert.is(probes.length, images.length * fixtures.length, "every case certifies a positive margin");
  const out = check(probes, 7);
  console.log(`  inflated ×3: ${out.violations.length} of ${out.checked} perturbations refute it, e.g.\n    ${out.violations[0] ?? "(none)"}`);
  // Each inflated case must be refuted by at least one of its perturbations.
  for (const p of probes) {
    assert.ok(out.violations.some((v) => v.includes(`${p.fixture.kind}-σ model`) && v.includes(`test input ${p.image},`)),
      `the inflated ${p.label} on the ${p.fixture.kind}-σ model at input ${p.image} was not refuted`);
  }
});

test.run();
