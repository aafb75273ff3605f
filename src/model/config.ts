// Model configuration: every hyperparameter of a VAE, immutable once built,
// saved verbatim in model.json. Defaults are the paper's (docs/reference-code.md,
// 'Architecture' and 'Constants at a glance').

import { LipvaeError } from "../errors.js";
import { oneLine } from "../io/json-guard.js";

/** How the encoder's standard deviation is produced. */
export type SigmaConfig =
  /** sigma(x) = sigmoid(MLP(x)). */
  | { mode: "learned" }
  /** sigmoid(MLP(x)) clipped to norm <= maxNorm (Lemma 2's constrained sigma). */
  | { mode: "constrained"; maxNorm: number; desiredRadius?: number }
  /** sigma = gamma (a scalar for every latent dimension, or one value per dimension). */
  | { mode: "fixed"; gamma: number | number[] };

export interface ModelConfig {
  /** "lipschitz": Björck-orthonormal layers + GroupSort; "standard": plain layers + ReLU. */
  kind: "lipschitz" | "standard";
  inputDim: number;
  hidden: number[];
  latentDim: number;
  /** Nominal Lipschitz constants: a (decoder), b (encoder mean), c (encoder std). */
  lipschitz: { decoder: number; encoderMean: number; encoderStd: number };
  /** GroupSort group size (2 = MaxMin). */
  groupSize: number;
  sigma: SigmaConfig;
  /** KL weight (beta-VAE); 1 for the plain VAE. */
  klBeta: number;
  /**
   * Björck: order-1 coefficient and iteration counts for training and the
   * fine-tune/evaluation. method (absent in files from before it existed:
   * "iterate") says how W_K is computed: "iterate", the paper's K steps, or
   * "spectral", the same K steps as one function of the Gram's
   * eigendecomposition (equal up to rounding, cost independent of K; an opt-in
   * departure from the paper's procedure, docs/choices.md). tolerance (absent
   * or null: none) stops the steps early once ||P - I||_F <= tolerance, P the
   * iterate's smaller Gram.
   */
  bjorck: { beta: number; trainIters: number; finetuneIters: number; method?: BjorckMethod; tolerance?: number | null };
}

export type BjorckMethod = "iterate" | "spectral";
export const BJORCK_METHODS: readonly BjorckMethod[] = ["iterate", "spectral"];

/** How a model computes its effective weights (defaults filled in for older files). */
export interface BjorckOptions {
  beta: number;
  method: BjorckMethod;
  tolerance: number | null;
}

export function bjorckOptions(cfg: ModelConfig): BjorckOptions {
  return { beta: cfg.bjorck.beta, method: cfg.bjorck.method ?? "iterate", tolerance: cfg.bjorck.tolerance ?? null };
}

export const PAPER_DEFAULTS: ModelConfig = {
  kind: "lipschitz",
  inputDim: 784,
  hidden: [512, 512],
  latentDim: 10,
  lipschitz: { decoder: 10, encoderMean: 10, encoderStd: 10 },
  groupSize: 2,
  sigma: { mode: "learned" },
  klBeta: 1,
  bjorck: { beta: 0.5, trainIters: 3, finetuneIters: 50, method: "iterate", tolerance: null },
};

/**
 * The reference code's clip radius for a constrained sigma: (1/sqrt 8)(R / a) - 1e-4,
 * which makes 4||sigma||^2 <= (1/2)(R/a)^2, i.e. a positive Lemma-2 m1 at eps = 1/2.
 */
export function clipNormForRadius(desiredRadius: number, decoderLipschitz: number): number {
  return Math.max((1 / Math.sqrt(8)) * (desiredRadius / decoderLipschitz) - 1e-4, 0);
}

/** Per-dimension fixed sigma as an array of length latentDim. */
export function fixedSigmaVector(cfg: ModelConfig): Float64Array | null {
  if (cfg.sigma.mode !== "fixed") return null;
  const g = cfg.sigma.gamma;
  return typeof g === "number" ? new Float64Array(cfg.latentDim).fill(g) : Float64Array.from(g);
}

/** The fixed σ vector of a fixed-σ configuration; a clear refusal for a learned or constrained one. */
export function requireFixedSigma(cfg: ModelConfig, what: string): Float64Array {
  const gamma = fixedSigmaVector(cfg);
  if (gamma === null) {
    throw new LipvaeError(`${what} needs a fixed-σ model, but this model's σ is ${cfg.sigma.mode} (config.sigma.mode); use Lemma 2 (per input) instead`);
  }
  return gamma;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const shown = (v: unknown): string => (typeof v === "string" ? `'${v}'` : Array.isArray(v) ? "an array" : isObject(v) ? "an object" : String(v));

/**
 * Checks a configuration field by field, types included, so that a hand-edited
 * or corrupt model.json or checkpoint fails here with the field's name rather
 * than as a TypeError later. Throws a LipvaeError "<where>: <field> ..." for
 * the first invalid field.
 */
export function validateConfig(raw: unknown, where = "invalid model configuration"): ModelConfig {
  const fail = (msg: string): never => {
    throw new LipvaeError(`${where}: ${oneLine(msg)}`); // values shown come from a file
  };
  if (!isObject(raw)) return fail(`the configuration must be an object (got ${shown(raw)})`);
  const cfg = raw as unknown as ModelConfig;
  const posInt = (v: unknown, name: string) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) fail(`${name} must be a positive integer (got ${shown(v)})`);
  };
  const object = (v: unknown, name: string) => {
    if (!isObject(v)) fail(`${name} must be an object (got ${shown(v)})`);
  };
  if (cfg.kind !== "lipschitz" && cfg.kind !== "standard") fail(`kind must be lipschitz or standard (got ${shown(cfg.kind)})`);
  posInt(cfg.inputDim, "inputDim");
  posInt(cfg.latentDim, "latentDim");
  if (!Array.isArray(cfg.hidden)) fail(`hidden must be a list of layer widths (got ${shown(cfg.hidden)})`);
  if (cfg.hidden.length === 0) fail("at least one hidden layer is needed");
  cfg.hidden.forEach((h, i) => posInt(h, `hidden[${i}]`));
  object(cfg.lipschitz, "lipschitz");
  for (const name of ["decoder", "encoderMean", "encoderStd"] as const) {
    const v = cfg.lipschitz[name];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) fail(`Lipschitz constant ${name} must be a positive number (got ${shown(v)})`);
  }
  posInt(cfg.groupSize, "groupSize");
  if (cfg.kind === "lipschitz") {
    cfg.hidden.forEach((h, i) => {
      if (h % cfg.groupSize !== 0) fail(`hidden[${i}] = ${h} is not a multiple of the GroupSort group size ${cfg.groupSize}`);
    });
  }
  if (typeof cfg.klBeta !== "number" || !(cfg.klBeta >= 0) || !Number.isFinite(cfg.klBeta)) fail(`klBeta must be a number >= 0 (got ${shown(cfg.klBeta)})`);
  object(cfg.bjorck, "bjorck");
  const beta = cfg.bjorck.beta;
  if (typeof beta !== "number" || !(beta > 0 && beta <= 0.5)) fail(`bjorck.beta must be in (0, 0.5] (got ${shown(beta)})`);
  posInt(cfg.bjorck.trainIters, "bjorck.trainIters");
  posInt(cfg.bjorck.finetuneIters, "bjorck.finetuneIters");
  const method = cfg.bjorck.method;
  if (method !== undefined && !BJORCK_METHODS.includes(method)) fail(`bjorck.method must be ${BJORCK_METHODS.join(" or ")} (got ${shown(method)})`);
  const tol = cfg.bjorck.tolerance;
  if (tol !== undefined && tol !== null && !(typeof tol === "number" && tol >= 0 && Number.isFinite(tol))) {
    fail(`bjorck.tolerance must be a number >= 0 or null (got ${shown(tol)})`);
  }
  object(cfg.sigma, "sigma");
  const s = cfg.sigma;
  if (s.mode === "constrained") {
    if (typeof s.maxNorm !== "number" || !(s.maxNorm > 0) || !Number.isFinite(s.maxNorm)) {
      fail(`constrained sigma needs maxNorm > 0 (got ${shown(s.maxNorm)}); raise --desired-radius or lower the decoder's M`);
    }
  } else if (s.mode === "fixed") {
    if (typeof s.gamma !== "number" && !Array.isArray(s.gamma)) fail(`fixed sigma.gamma must be a number or a list of numbers (got ${shown(s.gamma)})`);
    const g: unknown[] = typeof s.gamma === "number" ? [s.gamma] : s.gamma;
    if (typeof s.gamma !== "number" && g.length !== cfg.latentDim) {
      fail(`fixed sigma vector has ${g.length} entries for ${cfg.latentDim} latent dimensions`);
    }
    if (g.some((v) => typeof v !== "number" || !(v > 0) || !Number.isFinite(v))) fail("fixed sigma values must be positive numbers");
  } else if (s.mode !== "learned") {
    fail(`sigma mode must be learned, constrained or fixed (got ${shown((s as { mode: unknown }).mode)})`);
  }
  return cfg;
}

/**
 * Number of parameters (weights and biases) the configuration's networks hold,
 * so a loader can compare what a config asks to allocate with the file it loads.
 */
export function parameterCount(cfg: ModelConfig): number {
  const layers = (sizes: number[]) => sizes.slice(1).reduce((sum, out, l) => sum + out * (sizes[l] + 1), 0);
  const enc = layers([cfg.inputDim, ...cfg.hidden, cfg.latentDim]);
  const dec = layers([cfg.latentDim, ...[...cfg.hidden].reverse(), cfg.inputDim]);
  return enc * (cfg.sigma.mode === "fixed" ? 1 : 2) + dec;
}
