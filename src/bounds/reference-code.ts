// The authors' code's Theorem 3 (docs/reference-code.md, 'Bounds'): only m2, with
// u = (r/a − b‖δ‖)²/(2γ²) for σ = γ·1, found on a 200-point grid. Kept for
// parity checks against docs/reference-code.md, 'Test vectors'; lipvae's own answers use
// paper.ts and tight.ts.
import { inglotUStar, logInglotBound } from "./chi2.js";

export interface CodeTheorem3Input {
  a: number;
  b: number;
  r: number;
  dz: number;
  eps: number;
  /** Per-dimension standard deviation γ (σ = γ·1). */
  gamma: number;
}

/** The code's m2 solved exactly: max(0, (r/a − γ·sqrt(2u*))/b). */
export function codeTheorem3M2Exact(q: CodeTheorem3Input): number {
  const { a, b, r, dz, eps, gamma } = q;
  if (dz < 2) return 0;
  return Math.max(0, (r / a - gamma * Math.sqrt(2 * inglotUStar(dz, eps))) / b);
}

/** The code's m2 as it computes it: the largest of `points` grid points of [0, r/(ab)] that passes. */
export function codeTheorem3M2Grid(q: CodeTheorem3Input, points = 200): number {
  const { a, b, r, dz, eps, gamma } = q;
  const target = Math.log1p(-eps);
  const end = r / (a * b);
  let best = 0;
  for (let i = 0; i < points; i++) {
    const d = (end * i) / (points - 1);
    const gap = r / a - b * d;
    const u = (gap * gap) / (2 * gamma * gamma);
    if (u > dz - 2 && logInglotBound(u, dz) <= target) best = d; // p2 = +inf otherwise
  }
  return best;
}
