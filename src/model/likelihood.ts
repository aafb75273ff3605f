// The continuous-Bernoulli likelihood of the paper's section 3 (Loaiza-Ganem
// and Cunningham, 2019), as torch.distributions.ContinuousBernoulli computes
// it. Model maths: the engine differentiates it through ops.pointwise, from
// the scalar density and its derivative below.

import * as ops from "../engine/ops.js";
import type { Tensor } from "../engine/tensor.js";

/** Decoder logits are clamped so that lambda = sigmoid(h) stays in [eps, 1-eps], eps = 2^-23 (torch's float32 eps). */
export const CB_LOGIT_LIMIT = Math.log((1 - 2 ** -23) / 2 ** -23);

/**
 * Elementwise continuous-Bernoulli log-density log p(x | lambda) with
 * lambda = sigmoid(clamp(h)), as torch.distributions.ContinuousBernoulli:
 *   x h - softplus(h) + log C(lambda),
 *   log C = log|log(1-l) - log(l)| - log|1-2l| away from 1/2, and the Taylor form
 *   log 2 + 4/3 t + 104/45 t^2 (t = (l-1/2)^2) for l in [0.499, 0.501].
 */
export function cbLogLik(h: Tensor, x: Tensor): Tensor {
  return ops.pointwise("cbLogLik", h, x,
    (hv, xv) => {
      const hc = clampLogit(hv);
      return xv * hc - softplusScalar(hc) + cbLogNorm(hc);
    },
    // The clamp is flat outside the limit: no gradient there (as torch).
    (hv, xv) => (hv <= -CB_LOGIT_LIMIT || hv >= CB_LOGIT_LIMIT ? 0 : xv - sigmoidScalar(hv) + cbLogNormGrad(hv)));
}

function clampLogit(h: number): number {
  return Math.min(CB_LOGIT_LIMIT, Math.max(-CB_LOGIT_LIMIT, h));
}

export function sigmoidScalar(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

export function softplusScalar(v: number): number {
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}

/** True where torch uses the Taylor form: lambda in (0.499, 0.501]. */
function inTaylorRegion(l: number): boolean {
  return l > 0.499 && l <= 0.501;
}

/**
 * log C(lambda) as a function of the logit h (lambda = sigmoid(h)).
 * Away from 1/2: log|log(1-l) - log l| - log|1-2l| = log|h| - log|tanh(h/2)|,
 * since log((1-l)/l) = -h and 1-2l = -tanh(h/2) exactly.
 */
export function cbLogNorm(h: number): number {
  const l = sigmoidScalar(h);
  if (inTaylorRegion(l)) {
    const t = (l - 0.5) ** 2;
    return Math.log(2) + (4 / 3 + (104 / 45) * t) * t;
  }
  return Math.log(Math.abs(h)) - Math.log(Math.abs(Math.tanh(h / 2)));
}

/** d/dh of cbLogNorm(h). */
export function cbLogNormGrad(h: number): number {
  const l = sigmoidScalar(h);
  if (inTaylorRegion(l)) {
    const t = (l - 0.5) ** 2;
    const dt = 2 * (l - 0.5) * l * (1 - l);
    return (4 / 3 + (208 / 45) * t) * dt;
  }
  const th = Math.tanh(h / 2);
  return 1 / h - (1 - th * th) / (2 * th);
}

// ===========================================================================
