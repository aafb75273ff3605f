// Mathematical properties of the two Lipschitz building blocks:
// Björck converges to the polar factor and pulls every singular value toward 1;
// GroupSort is a per-group permutation and 1-Lipschitz.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { eigs } from "mathjs";
import { tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, requireGrad } from "../src/engine/tape.js";
import { SEED, assertClose, normal, rng } from "./helpers.js";

/** Eigen-decomposition of the symmetric s x s Gram of an r x c matrix (smaller side), f64. */
function gramEig(w: Float64Array, r: number, c: number) {
  const s = Math.min(r, c);
  const g: number[][] = Array.from({ length: s }, () => new Array(s).fill(0));
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      let acc = 0;
      if (r <= c) for (let k = 0; k < c; k++) acc += w[i * c + k] * w[j * c + k];
      else for (let k = 0; k < r; k++) acc += w[k * c + i] * w[k * c + j];
      g[i][j] = acc;
    }
  }
  const { eigenvectors } = eigs(g) as unknown as { eigenvectors: { value: number; vector: number[] }[] };
  return { s, eigenvectors };
}

function singularValues(w: Float64Array, r: number, c: number): number[] {
  return gramEig(w, r, c).eigenvectors.map((e) => Math.sqrt(Math.max(e.value, 0))).sort((a, b) => a - b);
}

/** Polar factor W (W^T W)^{-1/2} (tall) or (W W^T)^{-1/2} W (wide), from the eigen-decomposition in f64. */
function polar(w: Float64Array, r: number, c: number): Float64Array {
  const { s, eigenvectors } = gramEig(w, r, c);
  const invSqrt: number[][] = Array.from({ length: s }, () => new Array(s).fill(0));
  for (const { value, vector } of eigenvectors) {
    const f = 1 / Math.sqrt(value);
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) invSqrt[i][j] += f * vector[i] * vector[j];
  }
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let acc = 0;
      if (r <= c) for (let k = 0; k < s; k++) acc += invSqrt[i][k] * w[k * c + j];
      else for (let k = 0; k < s; k++) acc += w[i * c + k] * invSqrt[k][j];
      out[i * c + j] = acc;
    }
  }
  return out;
}

/** A random r x c matrix rescaled so its singular values lie in [lo, hi]-ish: top one exactly `top`. */
function randomMatrix(seed: number, r: number, c: number, top: number): Float64Array {
  const w = normal(rng(seed), r * c);
  const sv = singularValues(w, r, c);
  const f = top / sv[sv.length - 1];
  return w.map((v) => v * f);
}

test("Björck K=50 equals the polar factor (f64 eigen-decomposition) when sigma_max < sqrt 3", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.double({ min: 0.3, max: 1.7, noNaN: true }), fc.integer(),
      (r, c, top, seed) => {
        const w = randomMatrix(seed, r, c, top);
        const sv = singularValues(w, r, c);
        fc.pre(sv[0] > 0.05); // a tiny singular value needs more than 50 steps (each multiplies it by <= 1.5)
        for (const dtype of ["f64", "f32"] as const) {
          const out = tidy(() => Float64Array.from(ops.bjorck(tensor(w, [r, c], dtype), 50).data));
          assertClose(out, polar(w, r, c), dtype === "f64" ? 1e-9 : 2e-5, 0, `polar ${r}x${c} top=${top} ${dtype}`);
        }
      }),
    { seed: SEED, numRuns: 60 },
  );
});

// f(s) = 1.5 s - 0.5 s^3. |1 - f(s)| <= |1 - s| holds for s <= (sqrt(17) - 1)/2 = 1.5616
// (solve f(s) = 2 - s); between that and sqrt 3 the step overshoots but still converges.
test("one Björck step maps each singular value s to 1.5s - 0.5s^3: toward 1, never above 1", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10 }), fc.double({ min: 0.1, max: 1.56, noNaN: true }), fc.integer(),
      (r, c, top, seed) => {
        const w = randomMatrix(seed, r, c, top);
        const before = singularValues(w, r, c);
        const after = singularValues(tidy(() => Float64Array.from(ops.bjorck(tensor(w, [r, c], "f64"), 1).data)), r, c);
        const mapped = before.map((s) => 1.5 * s - 0.5 * s ** 3).sort((a, b) => a - b);
        assertClose(after, mapped, 1e-9, 0, "singular values after one step");
        before.forEach((s) => {
          const t = 1.5 * s - 0.5 * s ** 3;
          assert.ok(Math.abs(1 - t) <= Math.abs(1 - s) + 1e-12, `sv ${s} -> ${t} moved away from 1`);
          assert.ok(t <= 1 + 1e-12, `sv ${t} above 1`);
        });
      }),
    { seed: SEED, numRuns: 80 },
  );
});

test("GroupSort is a permutation within each group and sorts it ascending", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 6 }),
      (g, seedVals) => {
        const groups = seedVals.length;
        const values = Float64Array.from({ length: g * groups }, (_, i) => Math.fround(seedVals[i % groups] * (1 + (i % g)) - (i % 3)));
        for (const dtype of ["f32", "f64"] as const) {
          const y = tidy(() => Float64Array.from(ops.groupsort(tensor(values, [g * groups], dtype), g).data));
          for (let base = 0; base < values.length; base += g) {
            const inGroup = Array.from(values.slice(base, base + g)).sort((a, b) => a - b);
            assert.equal(Array.from(y.slice(base, base + g)), inGroup, `group at ${base} (${dtype})`);
          }
        }
      }),
    { seed: SEED, numRuns: 150 },
  );
});

test("GroupSort is 1-Lipschitz: ||f(x) - f(y)|| <= ||x - y||", () => {
  fc.assert(
    fc.property(fc.constantFrom(2, 3, 4, 8), fc.integer({ min: 1, max: 5 }), fc.integer(), (g, groups, seed) => {
      const rand = rng(seed);
      const n = g * groups;
      const x = Float64Array.from({ length: n }, () => 4 * rand() - 2);
      const y = Float64Array.from({ length: n }, () => 4 * rand() - 2);
      const fx = tidy(() => ops.groupsort(tensor(x, [n], "f64"), g).toArray());
      const fy = tidy(() => ops.groupsort(tensor(y, [n], "f64"), g).toArray());
      const d = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(a, (v, i) => v - b[i]));
      assert.ok(d(fx, fy) <= d(x, y) + 1e-12);
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test("GroupSort ties: stable, the gradient passes straight through (f64 and f32)", () => {
  for (const dtype of ["f64", "f32"] as const) {
    tidy(() => {
      // Ties inside groups, and a reversed pair to show the routing is by position.
      const x = requireGrad(tensor([1, 1, 2, 2, 5, 3], [6], dtype));
      const y = ops.groupsort(x, 2);
      assert.equal(y.toArray(), [1, 1, 2, 2, 3, 5]);
      const [g] = grad(ops.sum(ops.mul(y, tensor([10, 20, 30, 40, 50, 60], [6], dtype))), [x]);
      // A tied group keeps its order, so each input receives its own output's weight.
      assert.equal(g.toArray(), [10, 20, 30, 40, 60, 50]);
    });
  }
});

test.run();
