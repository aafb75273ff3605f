// The JSON query contract of `lipvae bounds --jsonl` (src/bounds/query.ts):
// answers dispatch to the right bound and form, invalid queries give the
// error object with the id, and nothing throws.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { answerLine, answerQuery, isError, parseQuery } from "../src/bounds/query.js";
import { paperLemma2, paperTheorem1, paperTheorem3 } from "../src/bounds/paper.js";
import { tightLemma2, tightTheorem1, tightTheorem3 } from "../src/bounds/tight.js";

const THEOREM1 = { id: "t1", bound: "theorem1", a: 5, b: 5, c: 5, r: 5, dz: 5, sigmaNorm: 0.1, delta: 0.02 };
const LEMMA2 = { id: 2, bound: "lemma2", a: 10, b: 10, c: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.176677 };
const THEOREM3 = { id: "t3", bound: "theorem3", a: 10, b: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.2 };

test("answers have exactly the contract's keys, in order, and the paper form is the default", () => {
  assert.equal(Object.keys(answerQuery(THEOREM1)), ["id", "p1", "p2", "probability"]);
  assert.equal(Object.keys(answerQuery(LEMMA2)), ["id", "m1", "m2", "margin"]);
  assert.equal(Object.keys(answerQuery(THEOREM3)), ["id", "m1", "m2", "margin"]);
  const { id: _1, bound: _2, ...t1 } = THEOREM1;
  assert.equal(answerQuery(THEOREM1), { id: "t1", ...paperTheorem1(t1) });
  assert.equal(answerQuery({ ...THEOREM1, form: "paper" }), answerQuery(THEOREM1));
});

test("the tight form dispatches to the tight bounds; a sigma vector carries its shape", () => {
  const { id: _1, bound: _2, ...t1 } = THEOREM1;
  assert.equal(answerQuery({ ...THEOREM1, form: "tight" }), { id: "t1", ...tightTheorem1(t1) });
  const { id: _3, bound: _4, ...l2 } = LEMMA2;
  assert.equal(answerQuery({ ...LEMMA2, form: "tight" }), { id: 2, ...tightLemma2(l2) });
  const gamma = 0.04;
  const sigma = new Array(10).fill(gamma);
  const { sigmaNorm: _5, ...t3 } = THEOREM3;
  const answer = answerQuery({ ...t3, sigma, form: "tight" });
  const input = { a: 10, b: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: gamma * Math.sqrt(10), sigmaMax: gamma, isotropic: true };
  const direct = tightTheorem3(input);
  assert.ok(!isError(answer) && Math.abs((answer as { margin: number }).margin - direct.margin) < 1e-12);
  const paper = answerQuery({ ...t3, sigma });
  assert.ok(!isError(paper));
  assert.ok(Math.abs((paper as { margin: number }).margin - paperTheorem3(input).margin) < 1e-12);
  assert.equal(answerQuery({ ...LEMMA2, id: "p" }), { id: "p", ...paperLemma2(l2) });
});

/** The error of a query; fails the test if it was answered. */
function errorOf(query: unknown): { id: unknown; error: string } {
  const answer = answerQuery(query);
  assert.ok(isError(answer), `expected an error for ${JSON.stringify(query)}, got ${JSON.stringify(answer)}`);
  return answer as { id: unknown; error: string };
}

test("invalid constants, ε, dz and NaN give the error object with the id", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...LEMMA2, a: -1 }, /a must be > 0/],
    [{ ...LEMMA2, b: 0 }, /b must be > 0/],
    [{ ...LEMMA2, r: -8 }, /r must be > 0/],
    [{ ...LEMMA2, c: -0.1 }, /c must be ≥ 0/],
    [{ ...LEMMA2, sigmaNorm: -1 }, /sigmaNorm must be ≥ 0/],
    [{ ...THEOREM1, delta: -0.1 }, /delta must be ≥ 0/],
    [{ ...LEMMA2, eps: 0 }, /eps must be in \(0, 1\)/],
    [{ ...LEMMA2, eps: 1 }, /eps must be in \(0, 1\)/],
    [{ ...THEOREM3, eps: -0.5 }, /eps must be in \(0, 1\)/],
    [{ ...THEOREM3, eps: 1.5 }, /eps must be in \(0, 1\)/],
    [{ ...LEMMA2, dz: 0 }, /dz must be a positive integer/],
    [{ ...LEMMA2, dz: 2.5 }, /dz must be a positive integer/],
    [{ ...LEMMA2, dz: -3 }, /dz must be a positive integer/],
    [{ ...LEMMA2, dz: 1e20 }, /dz must be a positive integer/],
    [{ ...LEMMA2, dz: "10" }, /dz must be a number/],
    [{ ...LEMMA2, a: NaN }, /a must be a finite number \(got NaN\)/],
    [{ ...LEMMA2, r: Infinity }, /r must be a finite number/],
    [{ ...LEMMA2, b: null }, /b must be a number \(got null\)/],
  ];
  for (const [query, message] of cases) {
    const answer = errorOf(query);
    assert.equal(answer.id, query.id, "the id is echoed");
    assert.match(answer.error, message);
    assert.equal(Object.keys(answer), ["id", "error"]);
  }
});

test("missing fields are named, for every field of every bound", () => {
  for (const query of [THEOREM1, LEMMA2, THEOREM3] as Record<string, unknown>[]) {
    for (const key of Object.keys(query)) {
      if (key === "id") continue;
      const { [key]: _dropped, ...rest } = query;
      assert.match(errorOf(rest).error, new RegExp(`missing field '${key}'`));
    }
  }
  const answer = errorOf({ bound: "theorem1" });
  assert.is(answer.id, null, "no id → null");
  for (const key of ["id", "a", "b", "c", "r", "dz", "delta", "sigmaNorm"]) {
    assert.match(answer.error, new RegExp(`missing field '${key}'`), `lists ${key}`);
  }
});

test("sigma and sigmaNorm: not both, sigma only for theorem3, of length dz, entries ≥ 0", () => {
  const sigma = new Array(10).fill(0.1);
  assert.match(errorOf({ ...THEOREM3, sigma }).error, /not both/);
  assert.match(errorOf({ ...LEMMA2, sigmaNorm: undefined, sigma }).error, /only accepted by theorem3/);
  const { sigmaNorm: _s, ...t3 } = THEOREM3;
  assert.match(errorOf({ ...t3, sigma: [0.1, 0.1] }).error, /dz = 10 entries \(got 2\)/);
  assert.match(errorOf({ ...t3, sigma: [...sigma.slice(1), -1] }).error, /sigma\[9\]/);
  assert.match(errorOf({ ...t3, sigma: [...sigma.slice(1), "x"] }).error, /every sigma entry/);
  assert.match(errorOf({ ...t3, sigma: 0.1 }).error, /must be an array/);
});

test("bound, form, unexpected fields, non-objects and bad JSON", () => {
  assert.match(errorOf({ ...LEMMA2, bound: "theorem4" }).error, /bound must be one of theorem1, lemma2, theorem3/);
  assert.match(errorOf({ ...LEMMA2, form: "loose" }).error, /form must be paper or tight/);
  assert.match(errorOf({ ...THEOREM3, c: 1 }).error, /unexpected field 'c' for theorem3/);
  assert.match(errorOf({ ...THEOREM1, eps: 0.5 }).error, /unexpected field 'eps' for theorem1/);
  assert.match(errorOf({ ...LEMMA2, delta: 0.1 }).error, /unexpected field 'delta' for lemma2/);
  assert.match(errorOf({ ...LEMMA2, id: { x: 1 } }).error, /id must be a string or a number/);
  for (const raw of [null, 3, "query", [LEMMA2]]) assert.match(errorOf(raw).error, /must be a JSON object/);
  const bad = answerLine("{not json");
  assert.ok(isError(bad) && bad.id === null && /not valid JSON/.test(bad.error));
  const several = errorOf({ ...LEMMA2, a: -1, eps: 2 });
  assert.match(several.error, /a must be > 0.*; eps must be in/, "every problem is listed");
});

test("sigmaCap: the tight form rejects a sigmaNorm above sqrt(dz)·cap (default cap 1); the paper form answers", () => {
  const impossible = { id: "cap", bound: "lemma2", form: "tight", a: 0.25, b: 1, c: 0.25, r: 8, dz: 1, sigmaNorm: 100, eps: 0.5 };
  const rejected = errorOf(impossible);
  assert.is(rejected.id, "cap");
  assert.match(rejected.error, /sigmaNorm \(100\) exceeds sqrt\(dz\)·sigmaCap = 1, impossible when every σ_j ≤ sigmaCap/);
  assert.match(rejected.error, /give the real sigmaCap \(null for none\) or use the paper form/);
  assert.not.match(rejected.error, /\n/);
  const { id: _i, bound: _b, form: _f, ...l2 } = impossible;
  assert.equal(answerQuery({ ...impossible, form: "paper" }), { id: "cap", ...paperLemma2(l2) }, "paper: no cap assumed");
  assert.equal(answerQuery({ ...impossible, sigmaCap: 100 }), { id: "cap", ...tightLemma2({ ...l2, sigmaCap: 100 }) });
  assert.equal(answerQuery({ ...impossible, sigmaCap: null }), { id: "cap", ...tightLemma2({ ...l2, sigmaCap: Infinity }) });
  const t1 = { id: 1, bound: "theorem1", form: "tight", a: 1, b: 1, c: 1, r: 5, dz: 4, sigmaNorm: 2.5, delta: 0.1 };
  assert.match(errorOf(t1).error, /sigmaNorm \(2\.5\) exceeds sqrt\(dz\)·sigmaCap = 2/);
  assert.ok(!isError(answerQuery({ ...t1, sigmaNorm: 2 })), "‖σ‖ = sqrt(dz)·cap is possible (σ = 1)");
  assert.ok(!isError(answerQuery({ ...t1, form: "paper" })));
  assert.match(errorOf({ ...t1, sigmaCap: 1.2 }).error, /sqrt\(dz\)·sigmaCap = 2\.4/);
});

test("sigmaCap reaches the tight maths: default 1, a smaller cap certifies more, null no more than 1", () => {
  const base = { id: 7, bound: "lemma2", form: "tight", a: 1, b: 1, c: 2, r: 4, dz: 2, eps: 0.5, sigmaNorm: 0.4 };
  const margin = (extra: Record<string, unknown>) => {
    const answer = answerQuery({ ...base, ...extra });
    assert.ok(!isError(answer), JSON.stringify(answer));
    return (answer as { margin: number }).margin;
  };
  const { id: _i, bound: _b, form: _f, ...l2 } = base;
  assert.is(margin({}), tightLemma2({ ...l2, sigmaCap: 1 }).margin, "the default cap is 1");
  assert.is(margin({ sigmaCap: 1 }), margin({}));
  assert.ok(margin({ sigmaCap: 0.5 }) > margin({}), `cap 0.5: ${margin({ sigmaCap: 0.5 })} vs ${margin({})}`);
  assert.ok(margin({ sigmaCap: null }) < margin({}), `no cap: ${margin({ sigmaCap: null })} vs ${margin({})}`);
  assert.is(margin({ sigmaCap: null }), tightLemma2({ ...l2, sigmaCap: Infinity }).margin);
  const { sigmaNorm: _s, ...t3 } = THEOREM3;
  for (const [query, message] of [
    [{ ...base, sigmaCap: 0 }, /sigmaCap must be > 0, or null for no cap \(got 0\)/],
    [{ ...base, sigmaCap: -1 }, /sigmaCap must be > 0/],
    [{ ...base, sigmaCap: "1" }, /sigmaCap must be a number/],
    [{ ...base, sigmaCap: [1] }, /sigmaCap must be a number/],
    [{ ...THEOREM3, sigmaCap: 1 }, /unexpected field 'sigmaCap' for theorem3/],
    [{ ...t3, sigma: new Array(10).fill(0.1), sigmaCap: 1 }, /unexpected field 'sigmaCap' for theorem3/],
  ] as [Record<string, unknown>, RegExp][]) {
    assert.match(errorOf(query).error, message);
  }
  assert.ok(!isError(answerQuery({ ...base, form: "paper", sigmaCap: 0.5 })), "the paper form accepts (and needs no) cap");
});

test("random valid queries are answered with finite numbers; junk never throws", () => {
  const valid = fc.record({
    bound: fc.constantFrom("theorem1", "lemma2", "theorem3"),
    form: fc.constantFrom("paper", "tight"),
    a: fc.double({ min: 0.1, max: 20, noNaN: true }),
    b: fc.double({ min: 0.1, max: 20, noNaN: true }),
    c: fc.double({ min: 0, max: 20, noNaN: true }),
    r: fc.double({ min: 0.1, max: 20, noNaN: true }),
    dz: fc.integer({ min: 1, max: 100 }),
    eps: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    sigmaFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    sigmaCap: fc.constantFrom(undefined, 0.5, 1, 4, null),
    delta: fc.double({ min: 0, max: 2, noNaN: true }),
  });
  fc.assert(
    fc.property(valid, (q) => {
      const { c, eps, delta, sigmaFraction, sigmaCap, ...rest } = q;
      // the tight learned-σ form needs ‖σ‖ ≤ sqrt(dz)·cap (default cap 1)
      const capValue = sigmaCap === undefined ? 1 : sigmaCap === null ? Infinity : sigmaCap;
      const common = { ...rest, sigmaNorm: sigmaFraction * Math.min(3, capValue * Math.sqrt(q.dz)) };
      const cap = sigmaCap === undefined ? {} : { sigmaCap };
      const query =
        q.bound === "theorem1" ? { id: 1, ...common, c, delta, ...cap }
        : q.bound === "lemma2" ? { id: 1, ...common, c, eps, ...cap }
        : { id: 1, ...common, eps };
      const answer = answerQuery(query);
      assert.ok(!isError(answer), JSON.stringify(answer));
      for (const value of Object.values(answer)) assert.ok(Number.isFinite(value), JSON.stringify(answer));
    }),
    { seed: 42, numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.anything(), (junk) => {
      const answer = answerQuery(junk);
      assert.ok("id" in answer);
      assert.ok(parseQuery(junk).ok === !isError(answer) || !parseQuery(junk).ok);
    }),
    { seed: 42, numRuns: 300 },
  );
});

test.run();
