// lipvae's tight bounds: each replaces a loose step of the paper's proofs by
// an exact one and stays valid for every encoder/decoder with the given
// Lipschitz constants. Proofs: docs/certificates.md §2. Each bound is checked
// by Monte Carlo against its worst case in test/bounds-montecarlo.test.ts.
//
// Write ρ = r/a, d = ‖δ‖, D = z_δ − z_¬δ = m + ξ with m = μ(x+δ) − μ(x),
// ‖m‖ ≤ b·d, and ξ ~ N(0, diag(σ(x+δ)² + σ(x)²)). Failure means ‖D‖ ≥ ρ.
import { LipvaeError } from "../errors.js";
import { chi2Quantile, chi2Survival } from "./chi2.js";
import { noncentralChi2Cdf, noncentralChi2Survival } from "./noncentral-chi2.js";
import { largestRootClamped } from "./paper.js";
import { growUntilFalse, lastTrue } from "./roots.js";
import {
  SIGMOID_SIGMA_CAP,
  type LearnedSigmaFacts,
  type Lemma2Input,
  type MarginBound,
  type ProbabilityBound,
  type Theorem1Input,
  type Theorem3Input,
} from "./types.js";

/**
 * Above this Poisson mean (λ/2) the exact noncentral sum would need more than
 * ~2·10⁴ terms per evaluation; the isotropic bound then uses the centred bound
 * instead, which is also valid, only looser.
 */
export const MAX_EXACT_POISSON_MEAN = 1e6;

// ---------------------------------------------------------------- learned σ

interface LearnedSigma {
  norm: number;
  max: number;
  cap: number;
}

/**
 * Relative slack on ‖σ‖ ≤ √dz·max_j σ_j ≤ √dz·cap: σ statistics measured on
 * f32 outputs (a clipped σ is rescaled in f32) can exceed the cap by a few f32
 * ulps, which must not turn a real model's certificate into an error.
 */
const SIGMA_NORM_SLACK = 1e-6;

function learnedSigma(q: { sigmaNorm: number; dz: number } & LearnedSigmaFacts): LearnedSigma {
  const cap = q.sigmaCap ?? SIGMOID_SIGMA_CAP;
  if (!(cap > 0)) throw new RangeError(`sigmaCap must be > 0, got ${cap}`);
  // Every bound below uses σ_j ≤ cap. A ‖σ‖ that no σ with entries ≤ cap can
  // have would be bounded with S = cap while the real σ is larger: refuse it.
  const capNorm = cap * Math.sqrt(q.dz);
  if (q.sigmaNorm > capNorm * (1 + SIGMA_NORM_SLACK)) {
    throw new LipvaeError(
      `sigmaNorm (${q.sigmaNorm}) exceeds sqrt(dz)·sigmaCap (${capNorm}), impossible when every σ_j ≤ sigmaCap ` +
        `(default 1, a sigmoid σ): give the real sigmaCap (null for none) or use the paper form`,
    );
  }
  const max = q.sigmaMax ?? Math.min(q.sigmaNorm, cap);
  if (!(max >= 0)) throw new RangeError(`sigmaMax must be ≥ 0, got ${max}`);
  if (max > q.sigmaNorm * (1 + 1e-12)) {
    throw new RangeError(`sigmaMax (${max}) cannot exceed sigmaNorm (${q.sigmaNorm})`);
  }
  if (max > cap) throw new RangeError(`sigmaMax (${max}) exceeds sigmaCap (${cap})`);
  // ‖σ‖ ≤ √dz·max_j σ_j: a smaller sigmaMax would understate the variance bound V.
  if (q.sigmaNorm > max * Math.sqrt(q.dz) * (1 + SIGMA_NORM_SLACK)) {
    throw new RangeError(`sigmaNorm (${q.sigmaNorm}) cannot exceed sqrt(dz)·sigmaMax (${max * Math.sqrt(q.dz)})`);
  }
  return { norm: q.sigmaNorm, max, cap };
}

/**
 * Bound on every per-dimension variance of ξ at ‖δ‖ = d:
 * σ_j(x+δ) ≤ min(cap, σ_j(x) + c·d), so Var ξ_j ≤ min(cap, S + c·d)² + S², S = max_j σ_j(x).
 */
export function learnedVarianceBound(sigmaMax: number, c: number, d: number, cap: number): number {
  const moved = Math.min(cap, sigmaMax + c * d);
  return moved * moved + sigmaMax * sigmaMax;
}

/** Bound on E‖ξ‖² = ‖σ(x+δ)‖² + ‖σ(x)‖² ≤ min(‖σ‖ + c·d, cap·√dz)² + ‖σ‖². */
function learnedTotalVarianceBound(sigma: LearnedSigma, c: number, d: number, dz: number): number {
  const moved = Math.min(sigma.norm + c * d, sigma.cap * Math.sqrt(dz));
  return moved * moved + sigma.norm * sigma.norm;
}

/** Tight p1 (Markov on E‖D‖² without the paper's factor-2 slack and with the σ cap). */
export function tightP1(q: Theorem1Input & LearnedSigmaFacts): number {
  const { a, b, c, r, dz, delta: d } = q;
  const rho = r / a;
  const mean = b * d;
  return Math.min(1, (mean * mean + learnedTotalVarianceBound(learnedSigma(q), c, d, dz)) / (rho * rho));
}

/** Tight p2: P[χ²_dz ≥ (r/a − b‖δ‖)²/V], V from learnedVarianceBound (triangle inequality, then a centred Gaussian). */
export function tightP2(q: Theorem1Input & LearnedSigmaFacts): number {
  const { a, b, c, r, dz, delta: d } = q;
  const sigma = learnedSigma(q);
  return centredTail(r / a - b * d, learnedVarianceBound(sigma.max, c, d, sigma.cap), dz);
}

/** Tight Theorem 1: certified probability 1 − min(p1, p2) with the tight p1, p2. */
export function tightTheorem1(q: Theorem1Input & LearnedSigmaFacts): ProbabilityBound {
  const p1 = tightP1(q);
  const p2 = tightP2(q);
  return { p1, p2, probability: 1 - Math.min(p1, p2) };
}

/** Tight Lemma 2 m1: sup{d : b²d² + min(‖σ‖ + c·d, cap·√dz)² + ‖σ‖² ≤ (1 − ε)(r/a)²}. */
export function tightLemma2M1(q: Lemma2Input & LearnedSigmaFacts): number {
  const { a, b, c, r, dz, eps } = q;
  const sigma = learnedSigma(q);
  const s = sigma.norm;
  const rho = r / a;
  const budget = (1 - eps) * rho * rho;
  const capNorm = sigma.cap * Math.sqrt(dz);
  const capped = () => Math.sqrt(Math.max(0, budget - capNorm * capNorm - s * s)) / b;
  if (s >= capNorm) return capped();
  const uncapped = largestRootClamped(b * b + c * c, 2 * c * s, 2 * s * s - budget);
  return s + c * uncapped <= capNorm ? uncapped : capped();
}

/** Tight Lemma 2 m2: sup{d ≤ r/(ab) : r/a − b·d ≥ sqrt(q*·V(d))}, q* the χ²_dz quantile at ε. */
export function tightLemma2M2(q: Lemma2Input & LearnedSigmaFacts): number {
  const { a, b, c, r, dz, eps } = q;
  const sigma = learnedSigma(q);
  const rho = r / a;
  const qStar = chi2Quantile(eps, dz);
  const certified = (d: number) =>
    rho - b * d >= Math.sqrt(qStar * learnedVarianceBound(sigma.max, c, d, sigma.cap));
  return lastTrue(certified, 0, rho / b);
}

/** Tight Lemma 2: R_(r,ε)(x) ≥ max(m1, m2). */
export function tightLemma2(q: Lemma2Input & LearnedSigmaFacts): MarginBound {
  const m1 = tightLemma2M1(q);
  const m2 = tightLemma2M2(q);
  return { m1, m2, margin: Math.max(m1, m2) };
}

// ---------------------------------------------------------------- fixed σ

interface FixedSigma {
  norm: number;
  /** max_j σ_j (= γ when isotropic). */
  max: number;
  isotropic: boolean;
}

function fixedSigma(q: Theorem3Input): FixedSigma {
  const { dz, sigmaNorm: norm } = q;
  const isotropic = q.isotropic === true;
  const max = q.sigmaMax ?? (isotropic ? norm / Math.sqrt(dz) : norm);
  if (!(max >= 0)) throw new RangeError(`sigmaMax must be ≥ 0, got ${max}`);
  if (max > norm * (1 + 1e-12)) throw new RangeError(`sigmaMax (${max}) cannot exceed sigmaNorm (${norm})`);
  if (norm > max * Math.sqrt(dz) * (1 + 1e-12)) {
    throw new RangeError(`sigmaNorm (${norm}) cannot exceed sqrt(dz)·sigmaMax (${max * Math.sqrt(dz)})`);
  }
  if (isotropic && Math.abs(norm - max * Math.sqrt(dz)) > 1e-9 * norm) {
    throw new RangeError(`isotropic σ needs sigmaNorm = sqrt(dz)·sigmaMax (${norm} ≠ ${max * Math.sqrt(dz)})`);
  }
  return { norm, max, isotropic };
}

/** Summary of a fixed σ vector for Theorem3Input: its norm, max and whether all entries are equal. */
export function summariseFixedSigma(sigma: readonly number[]): {
  sigmaNorm: number;
  sigmaMax: number;
  isotropic: boolean;
} {
  let max = 0;
  for (const v of sigma) max = Math.max(max, v);
  let sumSquares = 0; // scaled by max so huge or tiny entries neither overflow nor underflow
  if (max > 0) for (const v of sigma) sumSquares += (v / max) * (v / max);
  return {
    sigmaNorm: max * Math.sqrt(sumSquares),
    sigmaMax: max,
    isotropic: sigma.every((v) => v === sigma[0]),
  };
}

/** P[‖ξ‖ ≥ gap] ≤ P[χ²_dz ≥ gap²/V] for a centred ξ with every variance ≤ V (1 when gap ≤ 0). */
function centredTail(gap: number, maxVariance: number, dz: number): number {
  if (gap <= 0) return 1;
  if (maxVariance === 0) return 0;
  const ratio = gap / Math.sqrt(maxVariance);
  return chi2Survival(ratio * ratio, dz);
}

/**
 * Failure bound for a fixed σ at ‖δ‖ = d. Isotropic σ = γ·1: D ~ N(m, 2γ²I),
 * so ‖D‖²/(2γ²) is noncentral χ²_dz with λ = ‖m‖²/(2γ²) ≤ (b·d)²/(2γ²), and
 * the survival function rises with λ: the exact worst case. Otherwise the
 * centred bound with variance 2·max_j σ_j².
 */
function fixedFailure(sigma: FixedSigma, rho: number, b: number, d: number, dz: number, upper = true): number {
  const shift = b * d;
  if (sigma.isotropic) {
    if (sigma.max === 0) return (shift >= rho) === upper ? 1 : 0;
    const variance = 2 * sigma.max * sigma.max;
    const lambda = (shift * shift) / variance;
    if (lambda / 2 <= MAX_EXACT_POISSON_MEAN) {
      const x = (rho * rho) / variance;
      return upper ? noncentralChi2Survival(x, dz, lambda) : noncentralChi2Cdf(x, dz, lambda);
    }
  }
  const tail = centredTail(rho - shift, 2 * sigma.max * sigma.max, dz);
  return upper ? tail : 1 - tail;
}

/** Tight Theorem 3 probability bound at one ‖δ‖: p1 = Markov with 2‖σ‖², p2 = fixedFailure. */
export function tightTheorem3Probability(q: Theorem3Input & { delta: number }): ProbabilityBound {
  const { a, b, r, dz, delta: d } = q;
  const sigma = fixedSigma(q);
  const rho = r / a;
  const p1 = Math.min(1, (b * b * d * d + 2 * sigma.norm * sigma.norm) / (rho * rho));
  const p2 = fixedFailure(sigma, rho, b, d, dz);
  return { p1, p2, probability: 1 - Math.min(p1, p2) };
}

/** Tight Theorem 3 m1 = sqrt(max(0, (1 − ε)(r/a)² − 2‖σ‖²))/b. */
export function tightTheorem3M1(q: Theorem3Input): number {
  const { a, b, r, eps } = q;
  const s = fixedSigma(q).norm;
  const rho = r / a;
  return Math.sqrt(Math.max(0, (1 - eps) * rho * rho - 2 * s * s)) / b;
}

/** Tight Theorem 3 m2 = sup{d : failure bound at d ≤ 1 − ε}. */
export function tightTheorem3M2(q: Theorem3Input): number {
  const { a, b, r, dz, eps } = q;
  const sigma = fixedSigma(q);
  const rho = r / a;
  if (sigma.max === 0) return rho / b; // no noise: fails only once b·d reaches r/a
  if (!sigma.isotropic) {
    return Math.max(0, (rho - sigma.max * Math.sqrt(2 * chi2Quantile(eps, dz))) / b);
  }
  // Compare in the tail that is small, so that ε near 0 and near 1 both resolve.
  const certified = eps < 0.5
    ? (d: number) => fixedFailure(sigma, rho, b, d, dz, false) >= eps
    : (d: number) => fixedFailure(sigma, rho, b, d, dz, true) <= 1 - eps;
  const hi = growUntilFalse(certified, rho / b);
  return lastTrue(certified, 0, hi, 1e-13);
}

/** Tight Theorem 3: the global margin R_(r,ε) ≥ max(m1, m2). */
export function tightTheorem3(q: Theorem3Input): MarginBound {
  const m1 = tightTheorem3M1(q);
  const m2 = tightTheorem3M2(q);
  return { m1, m2, margin: Math.max(m1, m2) };
}
