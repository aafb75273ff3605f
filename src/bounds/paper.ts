// The paper's bounds exactly as printed (Barrett et al., AISTATS 2022):
// Theorem 1 (p1, p2), Lemma 2 (m1, m2) and Theorem 3 (m1, m2), with the one
// documented correction that Lemma 2's Δ uses 4‖σ‖² (the proof's quadratic;
// the statement drops the square). ε is a parameter; margins are clamped at
// 0; m2 is solved in closed form through u* (docs/certificates.md §1).
import { inglotUStar, logInglotBound } from "./chi2.js";
import type { Lemma2Input, MarginBound, ProbabilityBound, Theorem1Input, Theorem3Input } from "./types.js";

/**
 * Inglot's bound as the paper uses it, with u = (gap/scale)²:
 * 1 when dz < 2, gap < 0 or u ≤ dz − 2 (u = 0 when gap = 0), 0 when u is
 * infinite (scale = 0 < gap), else min(1, C(dz)·u^(dz/2)·e^(−u/2)/(u − dz + 2)).
 */
export function inglotP2(gap: number, scale: number, dz: number): number {
  if (dz < 2 || gap < 0) return 1;
  if (gap === 0) return 1;
  if (scale === 0) return 0;
  const ratio = gap / scale;
  const u = ratio * ratio;
  if (u <= dz - 2) return 1;
  return Math.min(1, Math.exp(logInglotBound(u, dz)));
}

/** Theorem 1's p1 = min(1, a²(b²‖δ‖² + (c‖δ‖ + 2‖σ‖)²)/r²). */
export function paperP1(q: Theorem1Input): number {
  const { a, b, c, r, sigmaNorm: s, delta: d } = q;
  const spread = c * d + 2 * s;
  return Math.min(1, (a * a * (b * b * d * d + spread * spread)) / (r * r));
}

/** Theorem 1's p2, u = (r/a − b‖δ‖)²/(c‖δ‖ + 2‖σ‖)². */
export function paperP2(q: Theorem1Input): number {
  const { a, b, c, r, dz, sigmaNorm: s, delta: d } = q;
  return inglotP2(r / a - b * d, c * d + 2 * s, dz);
}

/** Theorem 1: P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] ≥ 1 − min(p1, p2). */
export function paperTheorem1(q: Theorem1Input): ProbabilityBound {
  const p1 = paperP1(q);
  const p2 = paperP2(q);
  return { p1, p2, probability: 1 - Math.min(p1, p2) };
}

/**
 * Largest root of A·d² + B·d + C0 = 0 with A > 0, B ≥ 0, clamped at 0: the
 * sup of {d ≥ 0 : A·d² + B·d + C0 ≤ 0}, or 0 when that set is empty. Written
 * as −2·C0/(B + √Δ) to avoid cancellation when C0 is small.
 */
export function largestRootClamped(A: number, B: number, C0: number): number {
  if (C0 >= 0) return 0;
  return (-2 * C0) / (B + Math.sqrt(B * B - 4 * A * C0));
}

/** Lemma 2's m1 (with the squared 4‖σ‖² of the proof). */
export function paperLemma2M1(q: Lemma2Input): number {
  const { a, b, c, r, eps, sigmaNorm: s } = q;
  const rho = r / a;
  return largestRootClamped(c * c + b * b, 4 * c * s, 4 * s * s - (1 - eps) * rho * rho);
}

/** Lemma 2's m2 = sup{‖δ‖ : p2 ≤ 1 − ε} = max(0, (r/a − 2‖σ‖√u*)/(b + c√u*)). */
export function paperLemma2M2(q: Lemma2Input): number {
  const { a, b, c, r, dz, eps, sigmaNorm: s } = q;
  if (dz < 2) return 0;
  const root = Math.sqrt(inglotUStar(dz, eps));
  return Math.max(0, (r / a - 2 * s * root) / (b + c * root));
}

/** Lemma 2: R_(r,ε)(x) ≥ max(m1, m2). */
export function paperLemma2(q: Lemma2Input): MarginBound {
  const m1 = paperLemma2M1(q);
  const m2 = paperLemma2M2(q);
  return { m1, m2, margin: Math.max(m1, m2) };
}

/** Theorem 3's m1 = sqrt(max(0, (1 − ε)(r/a)² − 4‖σ‖²))/b. */
export function paperTheorem3M1(q: Theorem3Input): number {
  const { a, b, r, eps, sigmaNorm: s } = q;
  const rho = r / a;
  return Math.sqrt(Math.max(0, (1 - eps) * rho * rho - 4 * s * s)) / b;
}

/** Theorem 3's m2 with u = (r/a − b‖δ‖)²/(4‖σ‖²): max(0, (r/a − 2‖σ‖√u*)/b). */
export function paperTheorem3M2(q: Theorem3Input): number {
  const { a, b, r, dz, eps, sigmaNorm: s } = q;
  if (dz < 2) return 0;
  const root = Math.sqrt(inglotUStar(dz, eps));
  return Math.max(0, (r / a - 2 * s * root) / b);
}

/** Theorem 3 (fixed σ): the global margin R_(r,ε) ≥ max(m1, m2). */
export function paperTheorem3(q: Theorem3Input): MarginBound {
  const m1 = paperTheorem3M1(q);
  const m2 = paperTheorem3M2(q);
  return { m1, m2, margin: Math.max(m1, m2) };
}

/** Theorem 3's probability bound at one ‖δ‖ (the proof's p1 and p2 for fixed σ). */
export function paperTheorem3Probability(q: Theorem3Input & { delta: number }): ProbabilityBound {
  const { a, b, r, dz, sigmaNorm: s, delta: d } = q;
  const p1 = Math.min(1, (a * a * (b * b * d * d + 4 * s * s)) / (r * r));
  const p2 = inglotP2(r / a - b * d, 2 * s, dz);
  return { p1, p2, probability: 1 - Math.min(p1, p2) };
}
