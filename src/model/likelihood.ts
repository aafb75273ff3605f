// The continuous-Bernoulli likelihood of the paper's section 3 (Loaiza-Ganem
// and Cunningham, 2019), as torch.distributions.ContinuousBernoulli computes
// it. Model maths: the engine differentiates it through ops.pointwise, from
// the scalar density and its derivative below. f32 tensors run the same maths
// in a threaded WASM kernel (assembly/likelihood.ts); the scalar function here
// is its definition, the f64 path and the oracle the kernel is tested against.

import * as ops from "../engine/ops.js";
import * as K from "../engine/kernels.js";
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
  return ops.pointwise("cbLogLik", h, x, cbLogDensityAndGrad, K.cbLogLik);
}

/**
 * log p(x | sigmoid(clamp(h))) and, into d[0] when d is given, its derivative
 * in h — zero outside the clamp, which is flat there (as torch). Everything
 * comes from one e = exp(-|h|) (through expm1 for |h| < 0.5, where 1 - e would
 * lose digits): sigmoid, and |tanh(h/2)| = (1 - e)/(1 + e). Away from λ = ½,
 * -softplus(h) + log C = -max(h, 0) - log(1 + e) + log(|h| (1 + e)/(1 - e))
 * = -max(h, 0) + log(|h|/(1 - e)): one logarithm, of a number in [1, 17].
 */
export function cbLogDensityAndGrad(hv: number, xv: number, d: Float64Array | null): number {
  const h = clampLogit(hv);
  const a = Math.abs(h);
  const m = a < 0.5 ? Math.expm1(-a) : 0;
  const e = a < 0.5 ? 1 + m : Math.exp(-a);
  const oneMinusE = a < 0.5 ? -m : 1 - e;
  const l = h >= 0 ? 1 / (1 + e) : e / (1 + e);
  let out: number, dLogC: number;
  if (inTaylorRegion(l)) {
    const t = (l - 0.5) ** 2;
    const logC = Math.log(2) + (4 / 3 + (104 / 45) * t) * t;
    dLogC = (4 / 3 + (208 / 45) * t) * 2 * (l - 0.5) * l * (1 - l);
    out = xv * h - (Math.max(h, 0) + Math.log1p(e)) + logC;
  } else {
    const absTanh = oneMinusE / (1 + e);
    const th = h >= 0 ? absTanh : -absTanh;
    dLogC = 1 / h - (1 - th * th) / (2 * th);
    out = xv * h - Math.max(h, 0) + Math.log(a / oneMinusE);
  }
  if (d) d[0] = hv <= -CB_LOGIT_LIMIT || hv >= CB_LOGIT_LIMIT ? 0 : xv - l + dLogC;
  return out;
}

function clampLogit(h: number): number {
  return Math.min(CB_LOGIT_LIMIT, Math.max(-CB_LOGIT_LIMIT, h));
}

/** True where torch uses the Taylor form: lambda in (0.499, 0.501]. */
function inTaylorRegion(l: number): boolean {
  return l > 0.499 && l <= 0.501;
}
