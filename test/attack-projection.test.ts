// The projections onto {‖δ‖ ≤ R or = R} ∩ {x + δ ∈ [0,1]}: feasibility, the
// variational inequality that characterises a convex projection, agreement
// with the bisection on the KKT multiplier, and (sphere) optimality against
// brute force in two and three dimensions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { projectBallBox, projectRows, projectSphereBox } from "../src/attacks/projection.js";
import { rng, uniform } from "./helpers.js";

const FC = { seed: 42, numRuns: 200 };

/** A pixel vector x ∈ [0,1]^n (with some exact 0s and 1s, like MNIST) and a proposal v. */
const instance = (maxN: number) => fc.record({
  n: fc.integer({ min: 1, max: maxN }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  scale: fc.double({ min: 0.01, max: 5, noNaN: true }),
  radius: fc.double({ min: 0, max: 4, noNaN: true }),
}).map(({ n, seed, scale, radius }) => {
  const rand = rng(seed);
  const x = Float64Array.from({ length: n }, () => {
    const u = rand();
    return u < 0.3 ? 0 : u > 0.9 ? 1 : rand();
  });
  const v = uniform(rand, n, -scale, scale);
  return { x, v, radius, rand };
});

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, t) => s + t * t, 0));
const inBox = (d: ArrayLike<number>, x: ArrayLike<number>, tol = 1e-12) =>
  Array.from(d).every((di, i) => x[i] + di >= -tol && x[i] + di <= 1 + tol);

/** The brief's method, as an independent oracle: bisection on λ ≥ 0 of ‖clip(v/(1+λ))‖ = R. */
function bisectionProjection(v: Float64Array, x: Float64Array, R: number): Float64Array {
  const at = (t: number) => v.map((vi, i) => Math.min(1 - x[i], Math.max(-x[i], t * vi)));
  if (norm(at(1)) <= R) return at(1);
  let lo = 0, hi = 1; // t = 1/(1+λ)
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (norm(at(mid)) > R) hi = mid;
    else lo = mid;
  }
  return at(lo);
}

test("ball ∩ box: feasible, equal to the bisection on the KKT multiplier, and a projection (variational inequality)", () => {
  fc.assert(fc.property(instance(40), ({ x, v, radius, rand }) => {
    const d = Float64Array.from(v);
    const p = projectBallBox(d, x, radius, d);
    assert.ok(p.exact);
    assert.ok(norm(d) <= radius * (1 + 1e-12) + 1e-15, `‖δ‖ = ${norm(d)} > R = ${radius}`);
    assert.ok(inBox(d, x), "x + δ left [0, 1]");
    assert.ok(Math.abs(p.norm - norm(d)) <= 1e-12);
    const oracle = bisectionProjection(v, x, radius);
    for (let i = 0; i < d.length; i++) assert.ok(Math.abs(d[i] - oracle[i]) <= 1e-9, `coordinate ${i}: ${d[i]} vs bisection ${oracle[i]}`);
    // <v − P(v), y − P(v)> ≤ 0 for every feasible y (checked on random feasible points).
    for (let k = 0; k < 20; k++) {
      const y = Float64Array.from(x, (xi) => -xi + rand());
      projectBallBox(y, x, radius * rand(), y);
      let dot = 0;
      for (let i = 0; i < d.length; i++) dot += (v[i] - d[i]) * (y[i] - d[i]);
      assert.ok(dot <= 1e-9 * (1 + norm(v)), `variational inequality violated: ${dot}`);
    }
  }), FC);
});

test("ball ∩ box: idempotent, and the identity on feasible points", () => {
  fc.assert(fc.property(instance(30), ({ x, v, radius }) => {
    const once = Float64Array.from(v);
    projectBallBox(once, x, radius, once);
    const twice = Float64Array.from(once);
    projectBallBox(twice, x, radius, twice);
    for (let i = 0; i < once.length; i++) assert.ok(Math.abs(once[i] - twice[i]) <= 1e-12);
  }), FC);
});

test("sphere ∩ box: on the sphere and in the box whenever the box reaches radius R", () => {
  fc.assert(fc.property(instance(40), ({ x, v, radius }) => {
    const d = Float64Array.from(v);
    const farthest = norm(Array.from(x, (xi) => Math.max(xi, 1 - xi)));
    const p = projectSphereBox(d, x, radius, d);
    assert.ok(inBox(d, x), "x + δ left [0, 1]");
    if (radius <= farthest) assert.ok(Math.abs(norm(d) - radius) <= 1e-9 * (1 + radius), `‖δ‖ = ${norm(d)} ≠ R = ${radius}`);
    else {
      assert.not.ok(p.exact, "an unreachable radius is reported as inexact");
      assert.ok(Math.abs(norm(d) - farthest) <= 1e-12, "an unreachable radius gives the farthest corner");
    }
  }), FC);
});

test("sphere ∩ box: when flagged exact, no point of the sphere ∩ box is nearer (brute force in 2-D and 3-D)", () => {
  fc.assert(fc.property(instance(3), ({ x, v, radius, rand }) => {
    const n = x.length;
    if (n < 2) return;
    const d = Float64Array.from(v);
    const p = projectSphereBox(d, x, radius, d);
    if (!p.exact) return;
    const dist = norm(d.map((di, i) => di - v[i]));
    for (let k = 0; k < 4000; k++) {
      const g = Float64Array.from({ length: n }, () => rand() * 2 - 1);
      const s = radius / norm(g);
      const y = g.map((gi) => gi * s);
      if (!inBox(y, x, 0)) continue;
      const dy = norm(y.map((yi, i) => yi - v[i]));
      assert.ok(dist <= dy + 1e-9, `a sphere point at distance ${dy} beats the projection's ${dist}`);
    }
  }), { seed: 42, numRuns: 150 });
});

test("projections by hand: a clipped pixel and a scaled direction", () => {
  // x = (0, 0.5), v = (-1, 2): the box allows δ1 ∈ [0, 1], δ2 ∈ [-0.5, 0.5].
  const x = Float64Array.of(0, 0.5);
  const ball = Float64Array.of(-1, 2);
  projectBallBox(ball, x, 10, ball);
  assert.equal(Array.from(ball), [0, 0.5]);
  const small = Float64Array.of(-1, 2);
  projectBallBox(small, x, 0.25, small);
  assert.equal(Array.from(small), [0, 0.25]);
  // Sphere of radius 1 with v = (-1, 2): the v-direction reaches only 0.5, so the free pixel takes the rest.
  const sphere = Float64Array.of(0, 2);
  const p = projectSphereBox(sphere, x, Math.sqrt(0.5 ** 2 + 0.75 ** 2), sphere);
  assert.ok(p.exact);
  assert.ok(Math.abs(sphere[0] - 0.75) < 1e-12 && Math.abs(sphere[1] - 0.5) < 1e-12, `${Array.from(sphere)}`);
});

test("projectRows: every row gets its own radius; Float32 rows stay in the box", () => {
  const rand = rng(3);
  const n = 784, rows = 4;
  const x = Float32Array.from({ length: rows * n }, () => rand());
  const v = Float32Array.from({ length: rows * n }, () => 4 * (rand() - 0.5));
  const radii = [0, 0.5, 3, 50];
  const norms = projectRows("ball", v, x, radii, n);
  norms.forEach((nrm, r) => assert.ok(nrm <= radii[r] * (1 + 1e-6) + 1e-12, `row ${r}: ${nrm} > ${radii[r]}`));
  for (let i = 0; i < v.length; i++) assert.ok(x[i] + v[i] >= -1e-6 && x[i] + v[i] <= 1 + 1e-6);
  const s = Float32Array.from({ length: rows * n }, () => 4 * (rand() - 0.5));
  const sn = projectRows("sphere", s, x, [0.1, 1, 5, 12], n);
  sn.forEach((nrm, r) => assert.ok(Math.abs(nrm - [0.1, 1, 5, 12][r]) < 1e-5, `sphere row ${r}: ${nrm}`));
});

test.run();
