// The Björck tolerance stop: stop before step k once the iterate's smaller
// Gram has ||P_k - I||_F <= tol. The kernel against its oracle, the op
// against the fixed-K op it must equal, the spectral op's exact evaluation of
// the same rule, and the bound the rule promises (sigma_max <= sqrt(1 + tol)).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine } from "../src/engine/engine.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, requireGrad } from "../src/engine/tape.js";
import { gramDeviation, refBjorckBackward, refBjorckForward, refEigSym, spectralSteps } from "../src/engine/reference.js";
import { SEED, assertClose, rng, uniform } from "./helpers.js";

const e = engine();
const k = e.kernels;
const f32 = (x: ArrayLike<number>) => Float64Array.from(Float32Array.from(x));

/** Deviations ||P_k - I||_F of the f64 iterates, k = 0 .. iters-1. */
function deviations(r: number, c: number, iters: number, w: Float64Array): number[] {
  return refBjorckForward(r, c, iters, 0.5, w).saved.map((s) => gramDeviation(s.p));
}

test("bjorckForwardTol matches its oracle: the same step count, values and backward", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (r, c, stopAt, seed) => {
      const scale = 1 / Math.sqrt(Math.max(r, c));
      const w = f32(uniform(rng(seed), r * c, -scale, scale));
      const dev = deviations(r, c, 12, w);
      // Halfway (geometrically) between two consecutive deviations, and far
      // above the f32 Gram's rounding (~1e-6 here): a stop both paths agree on.
      const tol = Math.sqrt(dev[stopAt - 1] * dev[stopAt]);
      fc.pre(dev[stopAt - 1] > 10 * dev[stopAt] && tol > 1e-4);
      const ref = refBjorckForward(r, c, 12, 0.5, w, tol);
      assert.is(ref.saved.length, stopAt, "oracle stops where expected");
      const pw = e.arena.alloc(r * c * 4), pout = e.arena.alloc(r * c * 4);
      const psave = e.arena.alloc(k.bjorckSaveFloats(r, c, 12) * 4), pg = e.arena.alloc(r * c * 4), pgi = e.arena.alloc(r * c * 4);
      e.arena.f32(pw, r * c).set(w);
      const steps = k.bjorckForwardTol(r, c, 12, 0.5, tol, pw, pout, psave, e.workspace(k.bjorckWorkspaceBytes(r, c)));
      assert.is(steps, stopAt, `${r}x${c}: steps done`);
      assertClose(e.arena.f32(pout, r * c), ref.out, 1e-5, 1e-4, `${r}x${c} values`);
      const g = f32(uniform(rng(seed + 1), r * c));
      e.arena.f32(pg, r * c).set(g);
      k.bjorckBackward(r, c, steps, 0.5, psave, pg, pgi, e.workspace(k.bjorckWorkspaceBytes(r, c)));
      assertClose(e.arena.f32(pgi, r * c), refBjorckBackward(r, c, 0.5, ref.saved, g), 1e-4, 1e-4, `${r}x${c} gradients`);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test("with a tolerance, bjorck and bjorckSpectral equal their fixed-K runs at the step where the rule stops", () => {
  const [r, c] = [12, 20];
  const w = f32(uniform(rng(5), r * c, -0.3, 0.3));
  const dev = deviations(r, c, 10, w);
  const tol = Math.sqrt(dev[3] * dev[4]); // stop before step 4
  const g = f32(uniform(rng(6), r * c));
  const run = (f: (x: ReturnType<typeof tensor>) => ReturnType<typeof tensor>) => tidy(() => {
    const x = requireGrad(tensor(w, [r, c]));
    const y = f(x);
    const [dx] = grad(ops.sum(ops.mul(y, tensor(g, [r, c]))), [x]);
    return [Float64Array.from(y.data), Float64Array.from(dx.data)];
  });
  const bitEqual = (a: Float64Array[], b: Float64Array[], what: string) =>
    a.forEach((arr, i) => arr.forEach((v, j) => assert.ok(Object.is(v, b[i][j]), `${what}: output ${i}[${j}]`)));
  bitEqual(run((x) => ops.bjorck(x, 10, 0.5, tol)), run((x) => ops.bjorck(x, 4)), "iterate");
  bitEqual(run((x) => ops.bjorckSpectral(x, 10, 0.5, tol)), run((x) => ops.bjorckSpectral(x, 4)), "spectral");
  // The spectral rule sees the eigenvalues of the same Grams.
  const gram = new Float64Array(r * r);
  for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) for (let t = 0; t < c; t++) gram[i * r + j] += w[i * c + t] * w[j * c + t];
  assert.is(spectralSteps(refEigSym(r, gram).values, 10, 0.5, tol), 4);
  // tol = 0 (or null) never stops a run that has not converged exactly.
  bitEqual(run((x) => ops.bjorck(x, 6, 0.5, 0)), run((x) => ops.bjorck(x, 6)), "tol 0");
});

test("the stop bounds the spectral norm: sigma_max <= sqrt(1 + tol) whenever the rule stopped", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10 }), fc.double({ min: 1e-4, max: 0.5, noNaN: true }), fc.integer(), (r, c, tol, seed) => {
      const w = uniform(rng(seed), r * c, -0.6 / Math.sqrt(Math.max(r, c)), 0.6 / Math.sqrt(Math.max(r, c)));
      const { out, saved } = refBjorckForward(r, c, 30, 0.5, w, tol);
      fc.pre(saved.length < 30);
      const s = Math.min(r, c);
      const p = new Float64Array(s * s);
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < s; j++) {
          let acc = 0;
          if (r <= c) for (let t = 0; t < c; t++) acc += out[i * c + t] * out[j * c + t];
          else for (let t = 0; t < r; t++) acc += out[t * c + i] * out[t * c + j];
          p[i * s + j] = acc;
        }
      }
      const top = refEigSym(s, p).values[s - 1];
      assert.ok(top <= 1 + tol + 1e-12, `sigma_max^2 = ${top} > 1 + ${tol}`);
    }),
    { seed: SEED, numRuns: 80 },
  );
});

test("the tolerance must be a number >= 0", () => {
  const w = tensor([0.1, 0.2, 0.3, 0.4], [2, 2]);
  assert.throws(() => ops.bjorck(w, 3, 0.5, -1), /tolerance/);
  assert.throws(() => ops.bjorckSpectral(w, 3, 0.5, NaN), /tolerance/);
});

test.run();
