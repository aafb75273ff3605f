// Special functions behind the certificates: incomplete gamma (with the
// stdlib large-x fix), χ² CDF/survival/quantile, noncentral χ², Inglot's
// constant and u*. Reference values: mpmath at 40 digits or scipy 1.17.1
// (stats.chi2, stats.ncx2), as noted per table.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import randn from "@stdlib/random-base-randn";
import { gammaP, gammaQ } from "../src/bounds/gamma.js";
import {
  chi2Cdf,
  chi2Quantile,
  chi2Survival,
  inglotUStar,
  logInglotBound,
  logInglotConstant,
} from "../src/bounds/chi2.js";
import { noncentralChi2Cdf, noncentralChi2Survival } from "../src/bounds/noncentral-chi2.js";
import { paperP2 } from "../src/bounds/paper.js";

function close(actual: number, expected: number, relTol: number, what: string) {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(err <= relTol, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${relTol})`);
}

// [a, x, Q(a, x), P(a, x)], mpmath 40 digits. The first rows are in the region
// where @stdlib 0.3.1 alone is wrong by 1e-3..1e-2 (its large-x series).
const GAMMA: [number, number, number, number][] = [
  [500, 1250, 2.1059268048481405e-129, 1.0],
  [5000, 5000, 0.49811936596618264, 0.50188063403381736],
  [5000, 5100, 0.079328881077618977, 0.92067111892238102],
  [5000, 4900, 0.92205504377348609, 0.077944956226513914],
  [1040, 1001, 0.88770741605598785, 0.11229258394401215],
  [1000, 1001, 0.48318854707021378, 0.51681145292978622],
  [25000, 25500, 0.00083457919312191718, 0.99916542080687808],
  [5, 12.5, 0.0053455054871340643, 0.99465449451286594],
];

test("regularised incomplete gamma matches mpmath, including stdlib's faulty large-x region", () => {
  for (const [a, x, q, p] of GAMMA) {
    close(gammaQ(a, x), q, 1e-11, `Q(${a}, ${x})`);
    close(gammaP(a, x), p, 1e-11, `P(${a}, ${x})`);
  }
  assert.is(gammaQ(60, 1500), 0, "Q(60, 1500) = 6.7e-545 underflows to 0");
  assert.is(gammaQ(3, Infinity), 0);
  assert.is(gammaP(3, Infinity), 1);
});

test("χ² survival and CDF match mpmath in both far tails", () => {
  const survival: [number, number, number][] = [
    [25, 10, 0.005345505487134064],
    [2500, 1000, 2.1059268048481405e-129],
    [1300, 2, 5.111951948651156e-283],
    [700, 5, 4.9119861035732e-149],
    [3, 1, 0.0832645166635504],
  ];
  for (const [x, k, v] of survival) close(chi2Survival(x, k), v, 1e-12, `sf(${x}; ${k})`);
  const cdf: [number, number, number][] = [
    [1e-3, 10, 2.6030818297031987e-19],
    [400, 1000, 6.174261434528856e-71],
  ];
  for (const [x, k, v] of cdf) close(chi2Cdf(x, k), v, 1e-12, `cdf(${x}; ${k})`);
  assert.is(chi2Survival(0, 3), 1);
  assert.is(chi2Survival(-1, 3), 1);
  assert.is(chi2Survival(Infinity, 3), 0);
  assert.is(chi2Cdf(0, 3), 0);
});

test("χ² quantile matches scipy and sits on the safe side", () => {
  const cases: [number, number, number][] = [
    [0.5, 10, 9.34181776559197],
    [1e-10, 5, 0.00032335571462496966],
    [0.999999, 10, 46.86304684671568],
    [0.5, 1000, 999.333412403381],
  ];
  for (const [p, k, v] of cases) {
    const q = chi2Quantile(p, k);
    close(q, v, 1e-12, `ppf(${p}; ${k})`);
    assert.ok(chi2Survival(q, k) <= 1 - p || chi2Cdf(q, k) >= p, "the quantile certifies the tail");
  }
  assert.throws(() => chi2Quantile(0, 3));
  assert.throws(() => chi2Quantile(1, 3));
});

// [x, k, λ, survival, cdf]: scipy.stats.ncx2 (Boost), the tiny ones confirmed with mpmath.
const NONCENTRAL: [number, number, number, number, number][] = [
  [20, 10, 5, 0.19829797179508657, 0.8017020282049135],
  [50, 10, 100, 0.9997329727786162, 0.00026702722138367477],
  [1, 3, 0.5, 0.8377994092768108, 0.16220059072318913],
  [1e4, 10, 1e4, 0.5179466442926387, 0.4820533557073634],
  [200, 2, 50, 1.0937212176787704e-12, 0.9999999999989063],
  [5, 1, 2, 0.2057108563434708, 0.7942891436565291],
  [2e5, 10, 2e5, 0.504014214866404, 0.49598578513360014],
  [30, 10, 0.001, 0.0008576094678512705, 0.9991423905321487],
  [1000, 10, 200, 3.7257293485889034e-67, 1.0],
];

test("noncentral χ² matches scipy/mpmath, each tail computed directly", () => {
  for (const [x, k, lambda, sf, cdf] of NONCENTRAL) {
    close(noncentralChi2Survival(x, k, lambda), sf, 1e-11, `ncx2.sf(${x}; ${k}, ${lambda})`);
    close(noncentralChi2Cdf(x, k, lambda), cdf, 1e-11, `ncx2.cdf(${x}; ${k}, ${lambda})`);
  }
});

test("noncentral χ² with λ = 0 is the central one; sf + cdf = 1", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 300, noNaN: true }),
      fc.integer({ min: 1, max: 200 }),
      fc.double({ min: 0, max: 500, noNaN: true }),
      (x, k, lambda) => {
        close(noncentralChi2Survival(x, k, 0), chi2Survival(x, k), 1e-14, "λ = 0 sf");
        const sum = noncentralChi2Survival(x, k, lambda) + noncentralChi2Cdf(x, k, lambda);
        assert.ok(Math.abs(sum - 1) < 1e-13, `sf + cdf = ${sum}`);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

test("noncentral χ² survival rises with λ and falls with x (the fact the tight bound rests on)", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 200, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      fc.double({ min: 0, max: 300, noNaN: true }),
      fc.double({ min: 0.001, max: 50, noNaN: true }),
      (x, k, lambda, step) => {
        const here = noncentralChi2Survival(x, k, lambda);
        assert.ok(noncentralChi2Survival(x, k, lambda + step) >= here - 1e-15, "rises with λ");
        assert.ok(noncentralChi2Survival(x + step, k, lambda) <= here + 1e-15, "falls with x");
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

test("noncentral χ² survival agrees with Monte Carlo (seeded, 5 standard errors)", () => {
  const normal = randn.factory({ seed: 7 });
  const n = 200_000;
  for (const [x, k, lambda] of [[20, 10, 5], [12, 3, 9], [4, 1, 2]] as const) {
    const shift = Math.sqrt(lambda); // all of the noncentrality on one axis
    let hits = 0;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const z = normal() + (j === 0 ? shift : 0);
        sum += z * z;
      }
      if (sum >= x) hits++;
    }
    const exact = noncentralChi2Survival(x, k, lambda);
    const se = Math.sqrt((exact * (1 - exact)) / n);
    assert.ok(Math.abs(hits / n - exact) <= 5 * se, `MC ${hits / n} vs ${exact} (se ${se})`);
  }
});

test("C(k) and u* match the test vectors of docs/reference-code.md", () => {
  close(Math.exp(logInglotConstant(2)), 1.084438, 5e-7, "C(2)");
  close(Math.exp(logInglotConstant(5)), 0.274929, 5e-6, "C(5)");
  close(Math.exp(logInglotConstant(10)), 0.002647875, 5e-7, "C(10)");
  assert.ok(Math.abs(inglotUStar(2, 0.5) - 1.54842) < 5e-6, "u*(2)");
  assert.ok(Math.abs(inglotUStar(5, 0.5) - 5.49436) < 5e-6, "u*(5)");
  assert.ok(Math.abs(inglotUStar(10, 0.5) - 11.40968) < 5e-6, "u*(10)");
});

test("u* matches a 40-digit bisection, up to dz = 1000, and is on the safe side", () => {
  const cases: [number, number, number][] = [
    [1000, 0.5, 1027.5974296304433],
    [1000, 0.1, 1016.528639502893],
    [2, 0.1, 0.37284396490630713],
    [10, 0.9, 16.485132620000177],
    [3, 0.5, 2.9540628425618801],
  ];
  for (const [k, eps, v] of cases) {
    const u = inglotUStar(k, eps);
    close(u, v, 1e-13, `u*(${k}, ${eps})`);
    assert.ok(logInglotBound(u, k) <= Math.log1p(-eps), "the bound is ≤ 1 − ε at u*");
  }
  assert.throws(() => inglotUStar(1, 0.5));
  assert.throws(() => inglotUStar(5, 0));
});

test("Inglot's bound is above the exact χ² tail wherever the paper uses it (u > dz − 2, dz ≥ 2)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 1000 }), fc.double({ min: 1e-6, max: 50, noNaN: true }), (k, excess) => {
      const u = k - 2 + excess * Math.sqrt(k);
      const inglot = Math.exp(logInglotBound(u, k));
      assert.ok(chi2Survival(u, k) <= inglot * (1 + 1e-12), `k = ${k}, u = ${u}: ${chi2Survival(u, k)} > ${inglot}`);
    }),
    { seed: 42, numRuns: 500 },
  );
});

test("Inglot's bound stays accurate in log space at dz = 1000 down to 1e-297", () => {
  close(Math.exp(logInglotBound(3650, 1000)), 3.4205445436600783e-297, 1e-11, "u = 3650");
  close(Math.exp(logInglotBound(3600, 1000)), 2.5382925835775965e-289, 1e-11, "u = 3600");
  close(logInglotConstant(1000), -2950.9961267945021576, 1e-15, "log C(1000) (C(1000) itself underflows)");
  // Theorem 1's p2 with u = (r/a)²/(2‖σ‖)² = 3650:
  const p2 = paperP2({ a: 1, b: 1, c: 0, r: Math.sqrt(3650), dz: 1000, sigmaNorm: 0.5, delta: 0 });
  close(p2, 3.4205445436600783e-297, 1e-11, "p2 at dz = 1000");
});

test.run();
