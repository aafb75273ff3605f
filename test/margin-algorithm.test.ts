// Algorithm 2 and the binomial bounds it can use: the reference grid, the
// pre-check, zero instead of an error, bisection refinement, lockstep
// batching that does not change any image's result, and Clopper–Pearson /
// Wilson against published values and exact coverage.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { DEFAULT_MARGIN, type MarginOptions, estimateMargins, marginGrid } from "../src/attacks/margin.js";
import { binomialCdf, clopperPearson, wilson } from "../src/attacks/stats.js";
import { type Fixture, fixture, testImages } from "./attack-fixtures.js";
import { certifiedMargins } from "./attack-cases.js";

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("binomial bounds: published values (R's binom.test and prop.test)", () => {
  close(binomialCdf(3, 10, 0.3), 0.6496107184, 1e-9, "P[Bin(10, 0.3) ≤ 3]");
  close(clopperPearson(0, 10, 0.95, "upper"), 1 - 0.05 ** 0.1, 1e-12, "CP upper, 0 of 10");
  close(clopperPearson(10, 10, 0.95, "lower"), 0.05 ** 0.1, 1e-12, "CP lower, 10 of 10");
  // binom.test(5, 10)$conf.int = [0.1870860, 0.8129140] (two-sided 95% = one-sided 97.5% each).
  close(clopperPearson(5, 10, 0.975, "lower"), 0.187086, 1e-6, "CP lower, 5 of 10");
  close(clopperPearson(5, 10, 0.975, "upper"), 0.812914, 1e-6, "CP upper, 5 of 10");
  // prop.test(5, 10, correct = FALSE)$conf.int = [0.2365931, 0.7634069].
  close(wilson(5, 10, 0.975, "lower"), 0.2365931, 1e-6, "Wilson lower");
  close(wilson(5, 10, 0.975, "upper"), 0.7634069, 1e-6, "Wilson upper");
  assert.is(clopperPearson(0, 40, 0.95, "lower"), 0);
  assert.is(clopperPearson(40, 40, 0.95, "upper"), 1);
  assert.throws(() => clopperPearson(3, 2, 0.95, "lower"), /0 ≤ k ≤ n/);
  assert.throws(() => wilson(1, 2, 0.4, "lower"), /level/);
});

test("Clopper–Pearson: bounds bracket k/n, are symmetric, and cover p with probability ≥ the level (exact sum)", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.constantFrom(0.8, 0.9, 0.95, 0.99),
    (n, p, level) => {
      let coveredUpper = 0, coveredLower = 0;
      for (let k = 0; k <= n; k++) {
        const lo = clopperPearson(k, n, level, "lower"), hi = clopperPearson(k, n, level, "upper");
        assert.ok(lo <= k / n + 1e-12 && k / n <= hi + 1e-12, `k = ${k}, n = ${n}: [${lo}, ${hi}]`);
        close(lo, 1 - clopperPearson(n - k, n, level, "upper"), 1e-9, "symmetry");
        const pmf = binomialCdf(k, n, p) - binomialCdf(k - 1, n, p);
        if (hi >= p) coveredUpper += pmf;
        if (lo <= p) coveredLower += pmf;
      }
      assert.ok(coveredUpper >= level - 1e-9, `upper bound covers p = ${p} with probability ${coveredUpper} < ${level} (n = ${n})`);
      assert.ok(coveredLower >= level - 1e-9, `lower bound covers p = ${p} with probability ${coveredLower} < ${level} (n = ${n})`);
    },
  ), { seed: 42, numRuns: 100 });
});

test("the grids: the reference code's arange(1e-6, 10, 0.5) reversed, and the paper's max R downwards", () => {
  const ref = marginGrid(DEFAULT_MARGIN);
  assert.is(ref.length, 20);
  close(ref[0], 9.500001, 1e-12, "top of the reference grid");
  assert.is(ref[19], 1e-6);
  const paper = marginGrid({ grid: "paper", maxRadius: 10, step: 0.5 });
  assert.is(paper.length, 20);
  assert.is(paper[0], 10);
  assert.is(paper[19], 0.5);
});

let fixed: Fixture;
test.before(async () => {
  fixed = await fixture("fixed");
});

/** Cheap settings on the tiny model (the defaults' S and T are for the paper-size runs). */
const quick = (over: Partial<MarginOptions>): Partial<MarginOptions> => ({
  r: 1, samples: 16, restarts: 2, attack: { ...DEFAULT_MARGIN.attack, steps: 10 }, ...over,
});

test("Algorithm 2: a huge r passes at the top of the grid; a tiny r fails the pre-check; no passing radius gives 0", () => {
  const x = testImages([0]);
  const [easy] = estimateMargins(fixed.model, x, 1, quick({ r: 1e3 }));
  close(easy.margin, 9.500001, 1e-12, "margin with r = 1000");
  assert.equal(easy.levels.map((l) => l.phase), ["precheck", "scan"]);
  const [hard] = estimateMargins(fixed.model, x, 1, quick({ r: 1e-9 }));
  assert.is(hard.margin, 0);
  assert.equal(hard.levels.map((l) => l.phase), ["precheck"]);
  const [none] = estimateMargins(fixed.model, x, 1, quick({ r: 1e-9, precheck: false, maxRadius: 2 }));
  assert.is(none.margin, 0, "no radius passes: 0, not an error");
  assert.is(none.levels.length, 4);
  assert.ok(none.levels.every((l) => !l.passed && l.successes.every((k) => k === 0)));
});

test("Algorithm 2 with refinement: the margin sits between a passing and a failing radius, above the certificate", () => {
  const x = testImages([0, 5]);
  const opts = quick({ grid: "paper", precheck: false, maxRadius: 3, step: 0.5, refine: 3, samples: 40 });
  const results = estimateMargins(fixed.model, x, 2, opts, { firstIndex: 0 });
  const certified = certifiedMargins(fixed, testImages([0]))["tight.measured"];
  for (const res of results) {
    const scans = res.levels.filter((l) => l.phase === "scan");
    const refines = res.levels.filter((l) => l.phase === "refine");
    assert.is(refines.length, 3);
    const passing = res.levels.filter((l) => l.passed).map((l) => l.radius);
    const failing = res.levels.filter((l) => !l.passed).map((l) => l.radius);
    close(res.margin, Math.max(...passing), 0, "margin = the largest radius that passed");
    assert.ok(failing.some((f) => f > res.margin && f - res.margin <= 0.5 / 8 + 1e-12), `a failing radius within α/2³ above ${res.margin}`);
    assert.ok(scans[scans.length - 1].passed && scans.slice(0, -1).every((l) => !l.passed));
    assert.ok(res.margin >= certified, `estimated ${res.margin} below the certified ${certified}`);
  }
});

test("Algorithm 2 in lockstep gives each image the result it gets alone; a confidence bound only lowers margins", () => {
  const x = testImages([3, 4]);
  const opts = quick({ grid: "paper", precheck: false, maxRadius: 3, step: 0.5 });
  const both = estimateMargins(fixed.model, x, 2, opts, { firstIndex: 3 });
  const alone = [3, 4].map((i) => estimateMargins(fixed.model, testImages([i]), 1, opts, { firstIndex: i })[0]);
  assert.equal(both, alone);
  const cautious = estimateMargins(fixed.model, x, 2, { ...opts, confidence: { method: "clopper-pearson", level: 0.95 } }, { firstIndex: 3 });
  cautious.forEach((c, i) => assert.ok(c.margin <= both[i].margin, `image ${c.image}: ${c.margin} > ${both[i].margin}`));
  const wilsonRun = estimateMargins(fixed.model, x, 2, { ...opts, confidence: { method: "wilson", level: 0.95 } }, { firstIndex: 3 });
  wilsonRun.forEach((c) => c.levels.forEach((l) => l.judged.forEach((p, t) => assert.ok(p <= l.successes[t] / 16 + 1e-12))));
});

test.run();
