// Shared machinery of the certificate-versus-attack property tests: the
// certificates of a fixture at an input, and the empirical check of a claimed
// probability at attacked and random perturbations. A violation message names
// the model, the input index, ‖δ‖ and both numbers.
import { tensor, tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { type Random, stream } from "../src/engine/random.js";
import {
  type Constants, type ConstantsKind, type Form, certifyFixedSigma, certifyInput, nominalConstants, sigmaCap,
} from "../src/bounds/certify.js";
import { paperTheorem1, summariseFixedSigma, tightTheorem1, tightTheorem3Probability } from "../src/bounds/index.js";
import { fixedSigmaVector } from "../src/model/config.js";
import { measureConstants } from "../src/bounds/measured.js";
import { DEFAULT_MAX_DAMAGE, maxDamageRows, rowNormsOf } from "../src/attacks/max-damage.js";
import { initialDelta } from "../src/attacks/optimise.js";
import { projectRows } from "../src/attacks/projection.js";
import { empiricalRobustness } from "../src/attacks/verify.js";
import type { Fixture } from "./attack-fixtures.js";

export const R_RECON = 1;
export const EPS = 0.5;
/** Samples per probability estimate, and the one-sided Clopper–Pearson level that judges it. */
export const SAMPLES = 1000;
export const LEVEL = 0.9999;

export type Kind = `${Form}.${ConstantsKind}`;
export const KINDS: Kind[] = ["paper.nominal", "paper.measured", "tight.nominal", "tight.measured"];

const measuredCache = new Map<Fixture, Constants>();

export function measured(f: Fixture): Constants {
  let m = measuredCache.get(f);
  if (!m) {
    const c = measureConstants(f.vae, f.meta.bjorckIters);
    m = { a: c.a, b: c.b, c: c.c };
    measuredCache.set(f, m);
  }
  return m;
}

export function constants(f: Fixture, kind: Kind): Constants {
  const [form, which] = kind.split(".") as [Form, ConstantsKind];
  return which === "measured" ? measured(f) : nominalConstants(f.vae.config, form);
}

/** ‖σ(x)‖ and max_j σ_j(x) of one input. */
export function sigmaStats(f: Fixture, x: Float32Array): { norm: number; max: number } {
  const s = noGrad(() => tidy(() => Array.from(f.vae.encode(tensor(x, [1, 784]), f.model.weights).sigma.data)));
  return { norm: Math.hypot(...s), max: Math.max(...s) };
}

/** The certified margin of each kind at input x (Theorem 3 for a fixed σ, Lemma 2 otherwise). */
export function certifiedMargins(f: Fixture, x: Float32Array): Record<Kind, number> {
  const opts = { r: R_RECON, eps: EPS };
  const cert = f.vae.config.sigma.mode === "fixed"
    ? certifyFixedSigma(f.vae.config, measured(f), opts)
    : certifyInput(f.vae.config, sigmaStats(f, x), measured(f), opts);
  return Object.fromEntries(KINDS.map((k) => [k, cert.margins[k].margin])) as Record<Kind, number>;
}

/**
 * Theorem 1's certified P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] at ‖δ‖ = delta. A fixed σ is
 * Theorem 1 with c = 0 (paper form); its tight form is the exact noncentral
 * bound of Theorem 3's proof.
 */
export function certifiedProbability(f: Fixture, kind: Kind, sigma: { norm: number; max: number }, delta: number): number {
  const k = constants(f, kind), cfg = f.vae.config, dz = cfg.latentDim, r = R_RECON;
  const paper = kind.startsWith("paper");
  if (cfg.sigma.mode === "fixed") {
    const s = summariseFixedSigma(Array.from(fixedSigmaVector(cfg)!));
    return paper
      ? paperTheorem1({ a: k.a, b: k.b, c: 0, r, dz, sigmaNorm: s.sigmaNorm, delta }).probability
      : tightTheorem3Probability({ a: k.a, b: k.b, r, dz, eps: EPS, ...s, delta }).probability;
  }
  const q = { ...k, r, dz, sigmaNorm: sigma.norm, delta };
  const cap = sigmaCap(cfg);
  return paper ? paperTheorem1(q).probability : tightTheorem1({ ...q, sigmaMax: Math.min(sigma.max, cap), sigmaCap: cap }).probability;
}

/** One perturbation to check: a budget and the probability a certificate claims at the δ found. */
export interface Probe {
  fixture: Fixture;
  image: number;
  x: Float32Array;
  /** What is being checked, for messages (e.g. "tight.measured margin"). */
  label: string;
  /** ‖δ‖ budget: the attack's ball radius, the random δ's norm. */
  radius: number;
  /** The certified lower bound on P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] at the δ actually used (its norm). */
  claim: (norm: number) => number;
}

export interface Outcome {
  checked: number;
  violations: string[];
  /** Among non-trivial claims, the smallest (empirical estimate − claim), with its message: how close a case came. */
  closest: { slack: number; message: string } | null;
}

/**
 * For every probe, an adversarial δ (max-damage, ball of the probe's radius,
 * two restarts, each checked) and a random δ (direction from `seed`, norm
 * radius·fraction, projected into the pixel box); each is a violation when the
 * Clopper–Pearson upper bound at LEVEL on the empirical probability is below
 * the claim at that δ's norm.
 */
export function check(probes: Probe[], seed: number, fraction = 1): Outcome {
  const out: Outcome = { checked: 0, violations: [], closest: null };
  const byFixture = new Map<Fixture, Probe[]>();
  for (const p of probes) byFixture.set(p.fixture, [...(byFixture.get(p.fixture) ?? []), p]);
  for (const [f, list] of byFixture) {
    const rows: { probe: Probe; how: string }[] = [];
    for (const probe of list) for (const how of ["attack #1", "attack #2", "random"]) rows.push({ probe, how });
    const n = 784, x = new Float32Array(rows.length * n), radii = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      x.set(r.probe.x, i * n);
      radii[i] = r.how === "random" ? r.probe.radius * fraction : r.probe.radius;
    });
    const rands = (tag: string): Random[] => rows.map((r, i) => stream(seed, `${tag}:${r.probe.image}:${r.probe.label}:${i}`));
    const attacked = maxDamageRows(f.model, x, radii, rands("attack"), { ...DEFAULT_MAX_DAMAGE, constraint: "ball" });
    const random = initialDelta("sphere", rows.length, n, radii, rands("direction"));
    projectRows("ball", random, x, radii, n);
    const delta = new Float32Array(rows.length * n);
    rows.forEach((r, i) => delta.set((r.how === "random" ? random : attacked.delta).subarray(i * n, (i + 1) * n), i * n));
    const norms = rowNormsOf(delta, n);
    const emp = empiricalRobustness(f.model, x, delta, R_RECON, SAMPLES, rands("samples"), { level: LEVEL });
    rows.forEach((r, i) => {
      const claim = r.probe.claim(norms[i]);
      out.checked += 1;
      const message = `${f.kind}-σ model (M = 2, d_z = 4), test input ${r.probe.image}, ${r.probe.label}, ${r.how} δ with ‖δ‖ = ${norms[i].toFixed(4)}: ` +
        `certified P ≥ ${claim.toFixed(4)}, empirical P[‖g(z_δ) − g(z_¬δ)‖ ≤ ${R_RECON}] = ${emp.successes[i]}/${SAMPLES} = ${emp.estimate[i].toFixed(4)} ` +
        `(${(100 * LEVEL).toFixed(2)}% upper bound ${emp.upper[i].toFixed(4)})`;
      if (emp.upper[i] < claim) out.violations.push(`VIOLATION: ${message}`);
      const slack = emp.estimate[i] - claim;
      if (claim > 0 && (!out.closest || slack < out.closest.slack)) out.closest = { slack, message };
    });
  }
  return out;
}
