// Inputs and outputs of the certificate maths. Plain numbers throughout, so
// the Lipschitz constants a, b, c and the σ statistics can be nominal (M, or
// M/4 for a sigmoid output), or measured on saved weights.
//
// Notation (docs/certificates.md): a, b, c are Lipschitz constants of the
// decoder g, the encoder mean μ and the encoder standard deviation σ; r is the
// reconstruction radius, dz the latent dimension, ε the robustness threshold,
// ‖δ‖ the input perturbation norm ("delta").

/** Theorem 1: a learned σ(x), one perturbation norm. */
export interface Theorem1Input {
  a: number;
  b: number;
  c: number;
  r: number;
  dz: number;
  /** ‖σ(x)‖₂ on the clean input. */
  sigmaNorm: number;
  /** ‖δ‖₂. */
  delta: number;
}

/** Lemma 2: a learned σ(x), the (r, ε)-robustness margin at x. */
export interface Lemma2Input {
  a: number;
  b: number;
  c: number;
  r: number;
  dz: number;
  eps: number;
  sigmaNorm: number;
}

/**
 * Extra facts the tight learned-σ bounds can use. Both optional: without
 * sigmaMax the tight form uses max_j σ_j(x) ≤ min(‖σ(x)‖, sigmaCap).
 */
export interface LearnedSigmaFacts {
  /** max_j σ_j(x) on the clean input, if known (e.g. measured). */
  sigmaMax?: number;
  /**
   * A bound on every σ_j(x') for every input x'. lipvae's σ network ends in
   * a sigmoid (and possibly a Clip), so 1 by default; Infinity drops the cap.
   */
  sigmaCap?: number;
}

/** Theorem 3: a fixed σ (a hyperparameter), the global margin. */
export interface Theorem3Input {
  a: number;
  b: number;
  r: number;
  dz: number;
  eps: number;
  /** ‖σ‖₂. */
  sigmaNorm: number;
  /**
   * max_j σ_j, if known. The tight form needs the shape of σ: without
   * sigmaMax it can only assume the worst shape, max_j σ_j = ‖σ‖.
   */
  sigmaMax?: number;
  /** True when every σ_j is equal (σ = γ·1); then the exact noncentral bound applies. */
  isotropic?: boolean;
}

/** Theorem 1's answer: two upper bounds on the failure probability and the certified probability. */
export interface ProbabilityBound {
  /** Markov-type bound on P[‖z_δ − z_¬δ‖ ≥ r/a]. */
  p1: number;
  /** Chi-square-type bound on the same probability. */
  p2: number;
  /** Certified lower bound on P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] = 1 − min(p1, p2). */
  probability: number;
}

/** A margin bound: the (r, ε)-robustness margin is at least max(m1, m2). */
export interface MarginBound {
  m1: number;
  m2: number;
  margin: number;
}

/** Default for LearnedSigmaFacts.sigmaCap: σ ends in a sigmoid. */
export const SIGMOID_SIGMA_CAP = 1;
