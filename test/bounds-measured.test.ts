// Certified spectral norms and measured Lipschitz constants: the upper bound
// is never below the true norm (matrices with known singular values) and is
// tight; measured constants bound the networks' empirical Lipschitz ratios.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { spectralNorm, certifiedPositiveDefinite, mulUp, nextUp } from "../src/bounds/spectral.js";
import { measureConstants } from "../src/bounds/measured.js";
import { orthogonalF64 } from "../src/model/init.js";
import { Random } from "../src/engine/random.js";
import { PAPER_DEFAULTS, type ModelConfig } from "../src/model/config.js";
import { VAE } from "../src/model/vae.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { SEED, rng, uniform } from "./helpers.js";
import { expectLipvaeError } from "./io-util.js";

/** U diag(sv) V^T with Haar U, V: an r x c matrix whose singular values are exactly known (up to f64 rounding). */
function withSingularValues(r: number, c: number, sv: number[], seed: number): Float64Array {
  const rand = new Random(seed);
  const k = Math.min(r, c);
  const u = orthogonalF64(r, k, 1, rand), v = orthogonalF64(c, k, 1, rand);
  const w = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) {
    let acc = 0;
    for (let t = 0; t < k; t++) acc += u[i * k + t] * sv[t] * v[j * k + t];
    w[i * c + j] = acc;
  }
  return w;
}

test("the certified spectral norm is >= the true one and within 1e-6 of it", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer(), fc.boolean(), (r, c, seed, clustered) => {
      const k = Math.min(r, c), rand = rng(seed);
      // Clustered spectra (as after Björck) are the hard case for power iteration.
      const sv = Array.from({ length: k }, () => (clustered ? 1 - 1e-7 * rand() : 0.1 + 2 * rand()));
      const top = Math.max(...sv);
      const w = withSingularValues(r, c, sv, seed);
      const { estimate, upper } = spectralNorm(w, r, c);
      // The construction itself is exact to ~1e-14.
      assert.ok(upper >= top * (1 - 1e-13), `upper ${upper} < true ${top}`);
      assert.ok(upper <= top * (1 + 1e-6), `upper ${upper} loose against ${top}`);
      assert.ok(estimate <= top * (1 + 1e-12) && estimate >= top * (1 - 1e-3), `estimate ${estimate} vs ${top}`);
    }),
    { seed: SEED, numRuns: 80 },
  );
});

test("positive-definiteness check rejects indefinite and singular matrices", () => {
  assert.ok(certifiedPositiveDefinite(Float64Array.from([2, 1, 1, 2]), 2));
  assert.not.ok(certifiedPositiveDefinite(Float64Array.from([1, 2, 2, 1]), 2));
  assert.not.ok(certifiedPositiveDefinite(Float64Array.from([1, 1, 1, 1]), 2));
});

const tiny: ModelConfig = {
  ...PAPER_DEFAULTS, hidden: [12, 12], latentDim: 3,
  lipschitz: { decoder: 3, encoderMean: 2, encoderStd: 5 },
  bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 30 },
};

test("measured constants bound the empirical Lipschitz ratio of each net, and sit near the nominal M/4 or M when converged", () => {
  const vae = new VAE(tiny, 9);
  for (const net of vae.nets) for (const l of net.layers) {
    const f = 1.1 * Math.sqrt(l.weight.shape[1]); // singular values 1.1: Björck converges within 30 steps
    l.weight.data.forEach((v, i, arr) => (arr[i] = v * f));
  }
  const m = measureConstants(vae, 30);
  assert.ok(m.converged, m.warnings.join("; "));
  assert.ok(Math.abs(m.a - 3 / 4) < 1e-5 && m.a >= 3 / 4 * (1 - 1e-7), `a = ${m.a}`);
  assert.ok(Math.abs(m.b - 2) < 1e-5, `b = ${m.b}`);
  assert.ok(Math.abs(m.c - 5 / 4) < 1e-5, `c = ${m.c}`);
  const rand = rng(3);
  tidy(() => noGrad(() => {
    const w = vae.effectiveWeights(30);
    for (let t = 0; t < 20; t++) {
      const x = uniform(rand, 784, 0, 1), d = uniform(rand, 784, -0.05, 0.05);
      const x2 = x.map((v, i) => v + d[i]), dist = Math.hypot(...d);
      const p1 = vae.encode(tensor(x, [1, 784]), w), p2 = vae.encode(tensor(x2, [1, 784]), w);
      const diff = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
      assert.ok(diff(p1.mu.toArray(), p2.mu.toArray()) <= m.b * dist);
      assert.ok(diff(p1.sigma.toArray(), p2.sigma.toArray()) <= m.c * dist);
    }
  }));
});

test("an unconverged Björck model is flagged and certified with its measured norm", () => {
  // Raw singular values 1/sqrt(in) stay far below 1 after 2 steps: b is measured well below nominal.
  const m = measureConstants(new VAE(tiny, 2), 2);
  assert.ok(m.b < 2 * 0.9, `b = ${m.b} must reflect the small measured norms`);
  assert.ok(m.converged, "values below 1 are no risk to the certificate");
  // A raw singular value of 2.1 is outside Björck's range: one step gives |1.5 s - 0.5 s^3| = 1.48 > 1.
  const bad = new VAE(tiny, 2);
  const l0 = bad.encoderMean.layers[0];
  l0.weight.data.forEach((v, i, arr) => (arr[i] = v * 2.1 * Math.sqrt(l0.weight.shape[1])));
  const mb = measureConstants(bad, 1);
  assert.not.ok(mb.converged);
  assert.ok(mb.warnings.some((w) => /encoder_mean\.0: Björck has not converged/.test(w)), mb.warnings.join("; "));
  assert.ok(mb.nets.find((n) => n.name === "encoder_mean")!.layers[0].spectralUpper >= 1.48, "the measured norm is used");
  // A standard model gets the unconstrained warning.
  const ms = measureConstants(new VAE({ ...tiny, kind: "standard" }, 2), 0);
  assert.ok(ms.warnings.some((w) => /standard \(unconstrained\) model/.test(w)));
});

test("weights that Björck blows up to non-finite values are refused with a LipvaeError naming the layer", () => {
  const vae = new VAE(tiny, 2);
  // Finite raw weights whose Gram overflows f32: the Björck iterate becomes infinite or NaN.
  vae.decoder.layers[2].weight.data.fill(1e30);
  expectLipvaeError(() => measureConstants(vae, 2), "decoder.2", "not finite", "retrain with a lower --lr");
});

test("measured constants cover the f32 scale the kernels multiply by, even where it is above M^(1/L)", () => {
  // M = 2 over 3 layers: fround(2^(1/3)) is 1.9e-8 above the f64 value.
  const cfg: ModelConfig = { ...tiny, lipschitz: { decoder: 2, encoderMean: 2, encoderStd: 2 } };
  const vae = new VAE(cfg, 4);
  const s = 2 ** (1 / 3);
  assert.ok(Math.fround(s) > s);
  const m = measureConstants(vae, 3);
  for (const net of m.nets) for (const l of net.layers) {
    assert.is(l.scale, Math.fround(s));
    assert.ok(l.bound >= Math.fround(s) * l.spectralUpper, `${net.name}: ${l.bound} < fround(s) x ${l.spectralUpper}`);
  }
});

test("rounding helpers: nextUp is the next f64, mulUp never below the real product", () => {
  assert.is(nextUp(1), 1 + 2 ** -52);
  assert.is(nextUp(0), Number.MIN_VALUE);
  const rand = rng(5);
  for (let t = 0; t < 1000; t++) {
    const a = 1 + 10 * rand(), b = 1 + 10 * rand();
    const p = mulUp(a, b), hi = a * b;
    // p - hi is exact (Sterbenz), and a b = hi + twoProductError(a, b) exactly.
    assert.ok(p - hi >= twoProductError(a, b), `mulUp(${a}, ${b}) = ${p} is below the real product`);
    assert.is(p, nextUp(hi), "and only one ulp above the rounded one");
  }
  assert.is(mulUp(0, 5), 0);
});

/** The exact rounding error of a * b (Dekker's TwoProduct): a b = fl(a b) + error. */
function twoProductError(a: number, b: number): number {
  const split = (x: number) => {
    const c = 134217729 * x, hi = c - (c - x);
    return [hi, x - hi];
  };
  const [ah, al] = split(a), [bh, bl] = split(b);
  const p = a * b;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

test.run();
