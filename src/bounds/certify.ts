// Per-input certified margins for a model: Lemma 2 (learned or constrained σ)
// or Theorem 3 (fixed σ), in the paper's form and our tight form, with nominal
// and measured constants. Pure: constants and σ statistics in, numbers out.

import type { ModelConfig } from "../model/config.js";
import { requireFixedSigma } from "../model/config.js";
import { paperLemma2, paperTheorem3 } from "./paper.js";
import { summariseFixedSigma, tightLemma2, tightTheorem3 } from "./tight.js";
import { SIGMOID_SIGMA_CAP, type MarginBound } from "./types.js";

export interface Constants {
  a: number;
  b: number;
  c: number;
}

export type ConstantsKind = "nominal" | "measured";
export type Form = "paper" | "tight";

export interface CertifyOptions {
  r: number;
  eps: number;
}

export interface SigmaStats {
  norm: number;
  max: number;
}

/** The four certificates of one input: {paper, tight} x {nominal, measured}. */
export interface InputCertificate {
  sigma: SigmaStats;
  margins: Record<`${Form}.${ConstantsKind}`, MarginBound>;
}

/**
 * Nominal constants as the paper uses them: a = b = c = M of each net (the reference
 * code's parity choice). The tight form may use the sigmoid's 1/4 on a and c.
 */
export function nominalConstants(cfg: ModelConfig, form: Form): Constants {
  const quarter = form === "tight" ? 1 / 4 : 1;
  return {
    a: cfg.lipschitz.decoder * quarter,
    b: cfg.lipschitz.encoderMean,
    c: cfg.sigma.mode === "fixed" ? 0 : cfg.lipschitz.encoderStd * quarter,
  };
}

/** The cap every σ_j(x') obeys: 1 after the sigmoid, the clip norm when σ is clipped. */
export function sigmaCap(cfg: ModelConfig): number {
  return cfg.sigma.mode === "constrained" ? Math.min(SIGMOID_SIGMA_CAP, cfg.sigma.maxNorm) : SIGMOID_SIGMA_CAP;
}

/** Certificates for one input with a learned or constrained σ (Lemma 2). */
export function certifyInput(cfg: ModelConfig, sigma: SigmaStats, measured: Constants, opts: CertifyOptions): InputCertificate {
  const dz = cfg.latentDim, { r, eps } = opts;
  const cap = sigmaCap(cfg);
  const lemma = (form: Form, k: Constants): MarginBound => {
    const q = { ...k, r, dz, eps, sigmaNorm: sigma.norm };
    return form === "paper" ? paperLemma2(q) : tightLemma2({ ...q, sigmaMax: Math.min(sigma.max, cap), sigmaCap: cap });
  };
  return { sigma, margins: allFour(cfg, measured, lemma) };
}

/** One bound evaluated in both forms with both kinds of constants. */
function allFour(cfg: ModelConfig, measured: Constants, bound: (form: Form, k: Constants) => MarginBound): InputCertificate["margins"] {
  return {
    "paper.nominal": bound("paper", nominalConstants(cfg, "paper")),
    "paper.measured": bound("paper", measured),
    "tight.nominal": bound("tight", nominalConstants(cfg, "tight")),
    "tight.measured": bound("tight", measured),
  };
}

/** The global certificates of a fixed-σ model (Theorem 3): the same for every input. */
export function certifyFixedSigma(cfg: ModelConfig, measured: Constants, opts: CertifyOptions): InputCertificate {
  const gamma = Array.from(requireFixedSigma(cfg, "Theorem 3 (a fixed-σ certificate)"));
  const stats = summariseFixedSigma(gamma);
  const dz = cfg.latentDim, { r, eps } = opts;
  const thm = (form: Form, k: Constants): MarginBound => {
    const q = { a: k.a, b: k.b, r, dz, eps, sigmaNorm: stats.sigmaNorm };
    return form === "paper" ? paperTheorem3(q) : tightTheorem3({ ...q, sigmaMax: stats.sigmaMax, isotropic: stats.isotropic });
  };
  return { sigma: { norm: stats.sigmaNorm, max: stats.sigmaMax }, margins: allFour(cfg, measured, thm) };
}

/**
 * Whether nominal constants are valid for the saved weights: each nominal constant
 * (as the form uses it) must be at least the certified measured one.
 */
export function nominalIsValid(cfg: ModelConfig, form: Form, measured: Constants): boolean {
  const n = nominalConstants(cfg, form);
  return n.a >= measured.a && n.b >= measured.b && (cfg.sigma.mode === "fixed" || n.c >= measured.c);
}
