// Model configuration: every hyperparameter of a VAE, immutable once built,
// saved verbatim in model.json. Defaults are the paper's (docs/reference-code.md,
// 'Architecture' and 'Constants at a glance').

import { LipvaeError } from "../errors.js";

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

/** Throws a LipvaeError naming the first invalid field. */
export function validateConfig(cfg: ModelConfig): ModelConfig {
  const fail = (msg: string): never => {
    throw new LipvaeError(`invalid model configuration: ${msg}`);
  };
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer (got ${v})`);
  };
  if (cfg.kind !== "lipschitz" && cfg.kind !== "standard") fail(`kind must be lipschitz or standard (got ${cfg.kind})`);
  posInt(cfg.inputDim, "inputDim");
  posInt(cfg.latentDim, "latentDim");
  if (cfg.hidden.length === 0) fail("at least one hidden layer is needed");
  cfg.hidden.forEach((h, i) => posInt(h, `hidden[${i}]`));
  for (const [name, v] of Object.entries(cfg.lipschitz)) {
    if (!(v > 0) || !Number.isFinite(v)) fail(`Lipschitz constant ${name} must be a positive number (got ${v})`);
  }
  posInt(cfg.groupSize, "groupSize");
  if (cfg.kind === "lipschitz") {
    cfg.hidden.forEach((h, i) => {
      if (h % cfg.groupSize !== 0) fail(`hidden[${i}] = ${h} is not a multiple of the GroupSort group size ${cfg.groupSize}`);
    });
  }
  if (!(cfg.klBeta >= 0)) fail(`klBeta must be >= 0 (got ${cfg.klBeta})`);
  if (!(cfg.bjorck.beta > 0 && cfg.bjorck.beta <= 0.5)) fail(`bjorck.beta must be in (0, 0.5] (got ${cfg.bjorck.beta})`);
  if (!Number.isInteger(cfg.bjorck.trainIters) || cfg.bjorck.trainIters < 1) fail("bjorck.trainIters must be >= 1");
  if (!Number.isInteger(cfg.bjorck.finetuneIters) || cfg.bjorck.finetuneIters < 1) fail("bjorck.finetuneIters must be >= 1");
  const method = cfg.bjorck.method;
  if (method !== undefined && !BJORCK_METHODS.includes(method)) fail(`bjorck.method must be ${BJORCK_METHODS.join(" or ")} (got ${method})`);
  const tol = cfg.bjorck.tolerance;
  if (tol !== undefined && tol !== null && !(typeof tol === "number" && tol >= 0 && Number.isFinite(tol))) {
    fail(`bjorck.tolerance must be a number >= 0 or null (got ${tol})`);
  }
  const s = cfg.sigma;
  if (s.mode === "constrained") {
    if (!(s.maxNorm > 0)) fail(`constrained sigma needs maxNorm > 0 (got ${s.maxNorm}); raise --desired-radius or lower the decoder's M`);
  } else if (s.mode === "fixed") {
    const g = typeof s.gamma === "number" ? [s.gamma] : s.gamma;
    if (typeof s.gamma !== "number" && g.length !== cfg.latentDim) {
      fail(`fixed sigma vector has ${g.length} entries for ${cfg.latentDim} latent dimensions`);
    }
    if (g.some((v) => !(v > 0) || !Number.isFinite(v))) fail("fixed sigma values must be positive numbers");
  } else if (s.mode !== "learned") {
    fail(`sigma mode must be learned, constrained or fixed`);
  }
  return cfg;
}
