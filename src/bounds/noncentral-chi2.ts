// Noncentral chi-square distribution: npm has no maintained implementation,
// so it is written here as the textbook Poisson mixture
//   P[χ²_k(λ) ≥ x] = Σ_j Pois(j; λ/2) · P[χ²_{k+2j} ≥ x],
// whose central terms come from @stdlib's regularised incomplete gamma.
//
// Accuracy. The Poisson weights are built by ratio recurrences outward from
// the mode (w_{j+1}/w_j = μ/(j+1)) and normalised by their own sum, which
// avoids the cancellation of −μ + j·ln μ − lnΓ(j+1) for large μ. The sum
// stops on each side once a geometric bound on everything left out is below
// TAIL times what has been summed, both for the weights and for the terms
// (the central tail P[χ²_{k+2j} ≥ x] rises with j, the CDF falls, which is
// what makes the bounds on the left-out terms rigorous). The CDF and the
// survival function are summed separately, each from its own small tail.
// Cost: about 20·sqrt(λ/2) + 40 incomplete-gamma calls.
import { gammaP, gammaQ } from "./gamma.js";

const TAIL = 1e-17;
const MAX_TERMS = 5_000_000;

/** P[χ²_dz(λ) ≥ x]: noncentral chi-square survival function. */
export function noncentralChi2Survival(x: number, dz: number, lambda: number): number {
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return poissonMixture(x, dz, lambda, true);
}

/** P[χ²_dz(λ) ≤ x]: noncentral chi-square CDF. */
export function noncentralChi2Cdf(x: number, dz: number, lambda: number): number {
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return poissonMixture(x, dz, lambda, false);
}

function tooLarge(lambda: number): RangeError {
  return new RangeError(`noncentral chi-square: λ = ${lambda} needs more than ${MAX_TERMS} terms`);
}

function poissonMixture(x: number, dz: number, lambda: number, upper: boolean): number {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    throw new RangeError(`noncentral chi-square: λ must be finite and ≥ 0, got ${lambda}`);
  }
  const y = x / 2;
  const shape = dz / 2;
  const central = upper ? (j: number) => gammaQ(shape + j, y) : (j: number) => gammaP(shape + j, y);
  if (lambda === 0) return central(0);

  const mu = lambda / 2;
  const mode = Math.floor(mu);
  let weightSum = 1; // weights relative to w_mode = 1
  let termSum = central(mode);
  let terms = 1;

  // Upward from the mode: weights fall by μ/(j+1) < 1 per step.
  // Upper tail: central term ≤ 1 (survival) or ≤ the current term (CDF).
  let w = 1;
  for (let j = mode + 1; ; j++) {
    w *= mu / j;
    const g = central(j);
    weightSum += w;
    termSum += w * g;
    terms++;
    const q = mu / (j + 1);
    const weightTail = (w * q) / (1 - q);
    const termTail = weightTail * (upper ? 1 : g);
    if (weightTail <= TAIL * weightSum && termTail <= TAIL * termSum) break;
    if (w === 0) break;
    if (terms > MAX_TERMS) throw tooLarge(lambda);
  }

  // Downward from the mode: weights fall by j/μ < 1 per step.
  // Lower tail: central term ≤ the current term (survival) or ≤ 1 (CDF).
  w = 1;
  for (let j = mode - 1; j >= 0; j--) {
    w *= (j + 1) / mu;
    const g = central(j);
    weightSum += w;
    termSum += w * g;
    terms++;
    const q = j / mu;
    const weightTail = (w * q) / (1 - q);
    const termTail = weightTail * (upper ? g : 1);
    if (weightTail <= TAIL * weightSum && termTail <= TAIL * termSum) break;
    if (w === 0) break;
    if (terms > MAX_TERMS) throw tooLarge(lambda);
  }
  return Math.min(1, Math.max(0, termSum / weightSum));
}
