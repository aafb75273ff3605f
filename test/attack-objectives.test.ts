// The attack objectives and optimiser: gradients against central
// differences, the closed-form KL against an f64 computation, seeded
// reproducibility, and that the attacks beat random perturbations of the
// same norm while respecting their constraints.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tensor, tidy } from "../src/engine/tensor.js";
import { grad, noGrad, requireGrad } from "../src/engine/tape.js";
import * as ops from "../src/engine/ops.js";
import { stream } from "../src/engine/random.js";
import { PAPER_DEFAULTS } from "../src/model/config.js";
import { VAE } from "../src/model/vae.js";
import { attackModel } from "../src/attacks/model.js";
import { repeatRows, rowNorms } from "../src/engine/ops.js";
import { DEFAULT_MAX_DAMAGE, damageSamples, maxDamageAttack, maxDamageProblem, rowNormsOf } from "../src/attacks/max-damage.js";
import { DEFAULT_LATENT, gaussianKlRows, latentAttack, latentProblem, latentRows } from "../src/attacks/latent.js";
import { initialDelta } from "../src/attacks/optimise.js";
import { projectRows } from "../src/attacks/projection.js";
import { fixture, testImages } from "./attack-fixtures.js";
import { rng, uniform } from "./helpers.js";

/** A random-init Lipschitz VAE on 12 "pixels" (fast, and small enough for finite differences). */
function smallModel(sigma: "learned" | "fixed") {
  const vae = new VAE({
    ...PAPER_DEFAULTS, inputDim: 12, hidden: [8, 8], latentDim: 3,
    lipschitz: { decoder: 3, encoderMean: 3, encoderStd: 3 },
    sigma: sigma === "fixed" ? { mode: "fixed", gamma: 0.1 } : { mode: "learned" },
  }, 5);
  return attackModel(vae, 20);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

test("repeatRows and rowNorms: values and gradients (f64, central differences)", () => {
  const rand = rng(1);
  const x0 = uniform(rand, 6, -1, 1), w = uniform(rand, 12, -1, 1);
  const f = (xv: Float64Array, withGrad: boolean) => tidy(() => {
    const x = requireGrad(tensor(xv, [2, 3], "f64"));
    const y = rowNorms(repeatRows(x, 2)); // [4]: ‖x0‖, ‖x0‖, ‖x1‖, ‖x1‖
    const out = ops.sum(ops.mul(ops.square(y), tensor(w.subarray(0, 4), [4], "f64")));
    return { value: out.item(), y: Array.from(y.data), g: withGrad ? Array.from(grad(out, [x])[0].data) : [] };
  });
  const base = f(x0, true);
  const n0 = Math.hypot(x0[0], x0[1], x0[2]), n1 = Math.hypot(x0[3], x0[4], x0[5]);
  assert.ok(Math.abs(base.y[0] - n0) < 1e-12 && Math.abs(base.y[1] - n0) < 1e-12 && Math.abs(base.y[3] - n1) < 1e-12);
  for (let i = 0; i < 6; i++) {
    const h = 1e-6, up = Float64Array.from(x0), down = Float64Array.from(x0);
    up[i] += h;
    down[i] -= h;
    const fd = (f(up, false).value - f(down, false).value) / (2 * h);
    assert.ok(Math.abs(fd - base.g[i]) < 1e-6, `d/dx${i}: ${base.g[i]} vs ${fd}`);
  }
});

test("max-damage objective: the gradient matches central differences (common noise, so deterministic)", () => {
  for (const sigma of ["learned", "fixed"] as const) {
    const model = smallModel(sigma);
    const rand = rng(2), rows = 3, n = 12;
    const x = Float32Array.from(uniform(rand, rows * n, 0.2, 0.8));
    const radii = new Float64Array(rows).fill(1);
    const problem = maxDamageProblem(model, x, radii, [0, 1, 2].map((i) => stream(9, `g${i}`)), { constraint: "ball", noise: "common", samples: 4 });
    assert.ok(problem.deterministic);
    const delta = Float32Array.from(uniform(rand, rows * n, -0.1, 0.1));
    const { values, grad: g } = problem.evaluate(delta, 0);
    assert.equal(Array.from(problem.evaluate(delta, 1).values), Array.from(values), "common noise gives the same value twice");
    const u = Float32Array.from(uniform(rand, rows * n, -1, 1));
    const h = 1e-2;
    const shifted = (s: number) => problem.evaluate(delta.map((d, i) => d + s * h * u[i]), 0).values.reduce((a, b) => a + b, 0);
    const fd = (shifted(1) - shifted(-1)) / (2 * h);
    const analytic = dot(g, u);
    assert.ok(Math.abs(fd - analytic) <= 0.02 * Math.abs(analytic) + 1e-4, `${sigma} σ: directional derivative ${analytic} vs ${fd}`);
  }
});

test("max-damage objective: fresh noise draws anew at each evaluation", () => {
  const model = smallModel("learned");
  const x = Float32Array.from(uniform(rng(4), 12, 0.2, 0.8));
  const problem = maxDamageProblem(model, x, [1], [stream(1, "fresh")], DEFAULT_MAX_DAMAGE);
  assert.not.ok(problem.deterministic);
  const d = new Float32Array(12);
  assert.is.not(problem.evaluate(d, 0).values[0], problem.evaluate(d, 1).values[0]);
});

test("latent objective: closed-form KL matches f64; zero at x_t = x, δ = 0; gradient matches central differences", () => {
  const model = smallModel("learned");
  const rand = rng(6), rows = 2, n = 12, dz = 3;
  const x = Float32Array.from(uniform(rand, rows * n, 0.2, 0.8));
  const target = Float32Array.from(uniform(rand, rows * n, 0.2, 0.8));
  const opts = { ...DEFAULT_LATENT, steps: 0, restarts: 1, init: "zero" as const, radius: 1 };
  const rands = () => [stream(1, "a"), stream(1, "b")];
  // steps = 0: the result is the (projected) start δ = 0, so kl = KL(q(z|x) ‖ q(z|x_t)).
  const atZero = latentRows(model, x, target, rands(), opts);
  const post = (rowsIn: Float32Array) => noGrad(() => tidy(() => {
    const p = model.vae.encode(tensor(rowsIn, [rows, n]), model.weights);
    return { mu: Array.from(p.mu.data), sigma: Array.from(p.sigma.data) };
  }));
  const p = post(x), q = post(target);
  const expected = gaussianKlRows(p.mu, p.sigma, q.mu, q.sigma, dz);
  for (let r = 0; r < rows; r++) assert.ok(Math.abs(atZero.kl[r] - expected[r]) < 1e-4 * (1 + expected[r]), `row ${r}: ${atZero.kl[r]} vs ${expected[r]}`);
  const self = latentRows(model, x, x, rands(), opts);
  for (const v of self.kl) assert.ok(Math.abs(v) < 1e-5, `KL(q ‖ q) = ${v}`);
  // The attack lowers the KL along its path, starting from δ = 0.
  const attacked = latentRows(model, x, target, rands(), { ...opts, steps: 30 });
  for (let r = 0; r < rows; r++) assert.ok(attacked.kl[r] <= atZero.kl[r] + 1e-9, `row ${r}: ${attacked.kl[r]} > ${atZero.kl[r]}`);
  // Gradient of the objective (−KL) against central differences of the f64 KL.
  const klOf = (d: Float32Array) => {
    const m = post(x.map((v, i) => v + d[i]));
    return gaussianKlRows(m.mu, m.sigma, q.mu, q.sigma, dz).reduce((a, b) => a + b, 0);
  };
  const problem = latentProblem(model, x, target, rows, { mode: "hard", radius: 1, lambda: 0 });
  const delta = Float32Array.from(uniform(rand, rows * n, -0.05, 0.05));
  const u = Float32Array.from(uniform(rand, rows * n, -1, 1));
  const { values, grad: g } = problem.evaluate(delta, 0);
  assert.ok(Math.abs(-values.reduce((a, b) => a + b, 0) - klOf(delta)) < 1e-4 * (1 + klOf(delta)), "value = −KL");
  const h = 1e-2;
  const fd = (klOf(delta.map((d, i) => d + h * u[i])) - klOf(delta.map((d, i) => d - h * u[i]))) / (2 * h);
  assert.ok(Math.abs(fd + dot(g, u)) <= 0.03 * Math.abs(fd) + 1e-4, `directional derivative of −KL ${dot(g, u)} vs ${-fd}`);
});

test("latent soft mode: the penalty is λ‖δ‖ and the result beats δ = 0", () => {
  const model = smallModel("learned");
  const rand = rng(8), n = 12;
  const x = Float32Array.from(uniform(rand, n, 0.2, 0.8)), target = Float32Array.from(uniform(rand, n, 0, 1));
  const base = { ...DEFAULT_LATENT, mode: "soft" as const, radius: Infinity, lambda: 0.5, restarts: 1 };
  const zero = latentRows(model, x, target, [stream(2, "s")], { ...base, steps: 0, init: "zero" });
  const r = latentRows(model, x, target, [stream(2, "s")], { ...base, steps: 40, init: "zero" });
  assert.ok(r.kl[0] + 0.5 * r.norms[0] <= zero.kl[0] + 1e-9, `soft objective ${r.kl[0] + 0.5 * r.norms[0]} > ${zero.kl[0]}`);
  for (let i = 0; i < n; i++) assert.ok(x[i] + r.delta[i] >= -1e-6 && x[i] + r.delta[i] <= 1 + 1e-6, "x + δ stays in [0, 1]");
});

test("attacks are reproducible: the same seed gives the same δ, another seed another", () => {
  const model = smallModel("learned");
  const x = Float32Array.from(uniform(rng(10), 24, 0, 1));
  const opts = { ...DEFAULT_MAX_DAMAGE, steps: 10, restarts: 2 };
  const a = maxDamageAttack(model, x, 2, 0.7, { ...opts, seed: 3 });
  const b = maxDamageAttack(model, x, 2, 0.7, { ...opts, seed: 3 });
  const c = maxDamageAttack(model, x, 2, 0.7, { ...opts, seed: 4 });
  assert.equal(Array.from(a.delta), Array.from(b.delta));
  assert.not.equal(Array.from(a.delta), Array.from(c.delta));
  // The restart drawn is the one with the largest evaluated damage.
  for (let i = 0; i < 2; i++) assert.is(a.damage[i], Math.max(a.restarts.damage[2 * i], a.restarts.damage[2 * i + 1]));
  const t = Float32Array.from(uniform(rng(11), 24, 0, 1));
  const l1 = latentAttack(model, x, t, 2, { ...DEFAULT_LATENT, steps: 10, restarts: 2, seed: 5 });
  const l2 = latentAttack(model, x, t, 2, { ...DEFAULT_LATENT, steps: 10, restarts: 2, seed: 5 });
  assert.equal(Array.from(l1.delta), Array.from(l2.delta));
});

test("max-damage on a trained model: beats random δ of the same norm; sphere and ball constraints hold", async () => {
  const f = await fixture("fixed");
  const images = [0, 1, 2, 3], count = images.length, n = 784;
  const x = testImages(images);
  const R = 2;
  for (const constraint of ["ball", "sphere"] as const) {
    const att = maxDamageAttack(f.model, x, count, R, { ...DEFAULT_MAX_DAMAGE, constraint, restarts: 2, seed: 1 });
    for (let i = 0; i < count; i++) {
      if (constraint === "sphere") assert.ok(Math.abs(att.norms[i] - R) < 1e-4, `sphere: ‖δ‖ = ${att.norms[i]}`);
      else assert.ok(att.norms[i] <= R * (1 + 1e-6), `ball: ‖δ‖ = ${att.norms[i]}`);
      for (let j = 0; j < n; j++) {
        const v = x[i * n + j] + att.delta[i * n + j];
        assert.ok(v >= -1e-6 && v <= 1 + 1e-6, "x + δ stays in [0, 1]");
      }
    }
    const rands = images.map((i) => stream(2, `random:${i}`));
    const random = initialDelta("sphere", count, n, new Float64Array(count).fill(R), rands);
    projectRows("sphere", random, x, new Float64Array(count).fill(R), n);
    const evalRands = () => images.map((i) => stream(2, `eval:${i}`));
    const mean = (d: Float32Array) => {
      const s = damageSamples(f.model, x, d, 64, evalRands());
      return Array.from({ length: count }, (_, i) => s.subarray(i * 64, (i + 1) * 64).reduce((a, b) => a + b, 0) / 64);
    };
    const attacked = mean(att.delta), baseline = mean(random), clean = mean(new Float32Array(count * n));
    for (let i = 0; i < count; i++) {
      assert.ok(attacked[i] > 2 * baseline[i], `${constraint}, image ${i}: attacked damage ${attacked[i]} vs random ${baseline[i]}`);
      assert.ok(baseline[i] >= clean[i] * 0.5, "sanity: random δ does not reduce damage much");
    }
    assert.equal(Array.from(rowNormsOf(random, n)).map((v) => Math.abs(v - R) < 1e-4), [true, true, true, true]);
  }
});

test("latent attack on a trained model: a larger budget c gets closer to the target", async () => {
  const f = await fixture("constrained");
  const x = testImages([0, 1, 2, 3]), target = testImages([1, 2, 3, 4]);
  const kl = (c: number) => latentAttack(f.model, x, target, 4, { ...DEFAULT_LATENT, radius: c, restarts: 2, seed: 1 });
  const small = kl(0.5), large = kl(3);
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(mean(large.kl) < mean(small.kl), `mean KL ${mean(large.kl)} (c = 3) vs ${mean(small.kl)} (c = 0.5)`);
  for (const v of small.norms) assert.ok(v <= 0.5 * (1 + 1e-6));
});

test.run();
