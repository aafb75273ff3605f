// Theorem 3 turned around: which Lipschitz constant M and fixed σ guarantee a
// global (r, ε)-robustness margin ≥ m before training? The encoder mean is
// M-Lipschitz (b = M) and the decoder is a = f·M, with f = 1 as in the paper,
// or f = 1/4 when the decoder ends in a sigmoid (docs/certificates.md §2.6 and §3).
import { inglotUStar } from "./chi2.js";
import { growUntilFalse, lastTrue } from "./roots.js";
import { tightTheorem3Probability } from "./tight.js";

export interface DesignInput {
  r: number;
  eps: number;
  dz: number;
  /** The global margin to guarantee, m > 0. */
  margin: number;
  /** a = decoderFactor·M; default 1 (the paper). */
  decoderFactor?: number;
}

export interface DesignRow {
  M: number;
  a: number;
  b: number;
  /** Paper Theorem 3: the largest ‖σ‖ with max(m1, m2) ≥ m (any shape of σ); 0 if none. */
  paperSigmaNorm: number;
  /** The same as a per-dimension γ for σ = γ·1 (‖σ‖/√dz). */
  paperGamma: number;
  /** Tight Theorem 3 with σ = γ·1: the largest γ with margin ≥ m; 0 if none. */
  tightGamma: number;
  tightSigmaNorm: number;
}

export interface Design {
  /** Every M below this (strictly) admits some σ > 0. */
  maxM: number;
  rows: DesignRow[];
}

function constants(q: DesignInput, M: number) {
  const f = q.decoderFactor ?? 1;
  const a = f * M;
  const b = M;
  return { a, b, rho: q.r / a };
}

/**
 * Supremum of M for which some σ > 0 gives a margin ≥ m: r/(f·M) > M·m, the
 * m2 route with σ → 0 (for the paper with dz = 1, which has no m2, only M with
 * (1 − ε)(r/(f·M))² > (M·m)² work, and paperMaxSigmaNorm returns 0 above that).
 */
export function maxLipschitzConstant(q: DesignInput): number {
  return Math.sqrt(q.r / ((q.decoderFactor ?? 1) * q.margin));
}

/** Paper Theorem 3 solved for ‖σ‖: the largest ‖σ‖ with max(m1, m2) ≥ m at this M. */
export function paperMaxSigmaNorm(q: DesignInput, M: number): number {
  const { b, rho } = constants(q, M);
  const m = q.margin;
  const viaM1 = ((1 - q.eps) * rho * rho - b * b * m * m) / 4; // ‖σ‖² ≤ this
  let best = viaM1 > 0 ? Math.sqrt(viaM1) : 0;
  if (q.dz >= 2) best = Math.max(best, (rho - b * m) / (2 * Math.sqrt(inglotUStar(q.dz, q.eps))));
  return Math.max(0, best);
}

/**
 * Tight Theorem 3 solved for γ (σ = γ·1): the largest γ with tight margin ≥ m.
 * The Markov part gives 2·dz·γ² ≤ (1 − ε)(r/a)² − b²m²; the noncentral part is
 * monotone in γ while b·m < r/a (the failure probability of a ball around a
 * point inside it grows with the noise scale), and is searched by bisection.
 */
export function tightMaxGamma(q: DesignInput, M: number): number {
  const { a, b, rho } = constants(q, M);
  const m = q.margin;
  const viaM1 = ((1 - q.eps) * rho * rho - b * b * m * m) / (2 * q.dz);
  let best = viaM1 > 0 ? Math.sqrt(viaM1) : 0;
  if (b * m < rho) {
    const certified = (gamma: number) =>
      gamma === 0 ||
      tightTheorem3Probability({
        a, b, r: q.r, dz: q.dz, eps: q.eps, delta: m,
        sigmaNorm: gamma * Math.sqrt(q.dz), sigmaMax: gamma, isotropic: true,
      }).p2 <= 1 - q.eps;
    const hi = growUntilFalse(certified, rho - b * m);
    best = Math.max(best, lastTrue(certified, 0, hi, 1e-12));
  }
  return best;
}

function niceGrid(maxM: number): number[] {
  if (maxM <= 16) {
    const out: number[] = [];
    for (let M = 1; M < maxM; M++) out.push(M);
    if (out.length > 0) return out;
  }
  const round3 = (x: number) => Number(x.toPrecision(3));
  return [1, 2, 3, 4, 5, 6, 7].map((k) => round3((maxM * k) / 8));
}

/** The design table: for each M (default: a grid below maxM), the largest σ per form. */
export function designTable(q: DesignInput, Ms?: readonly number[]): Design {
  const maxM = maxLipschitzConstant(q);
  const rows = (Ms ?? niceGrid(maxM)).map((M) => {
    const { a, b } = constants(q, M);
    const paperSigmaNorm = paperMaxSigmaNorm(q, M);
    const tightGamma = tightMaxGamma(q, M);
    return {
      M, a, b,
      paperSigmaNorm,
      paperGamma: paperSigmaNorm / Math.sqrt(q.dz),
      tightGamma,
      tightSigmaNorm: tightGamma * Math.sqrt(q.dz),
    };
  });
  return { maxM, rows };
}
