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
 * comes from one e = exp(-|h|): sigmoid, softplus = max(h, 0) + log1p(e), and
 * |tanh(h/2)| = (1 - e)/(1 + e), with 1 - e taken as -expm1(-|h|) for small |h|.
 */
export function cbLogDensityAndGrad(hv: number, xv: number, d: Float64Array | null): number {
  const h = clampLogit(hv);
  const e = Math.exp(-Math.abs(h));
  const l = h >= 0 ? 1 / (1 + e) : e / (1 + e);
  const softplus = Math.max(h, 0) + Math.log1p(e);
  let logC: number, dLogC: number;
  if (inTaylorRegion(l)) {
    const t = (l - 0.5) ** 2;
    logC = Math.log(2) + (4 / 3 + (104 / 45) * t) * t;
    dLogC = (4 / 3 + (208 / 45) * t) * 2 * (l - 0.5) * l * (1 - l);
  } else {
    // 1 - e loses accuracy only for small |h|; expm1 is needed there alone.
    const oneMinusE = Math.abs(h) < 0.5 ? -Math.expm1(-Math.abs(h)) : 1 - e;
    const absTanh = oneMinusE / (1 + e);
    const th = h >= 0 ? absTanh : -absTanh;
    logC = Math.log(Math.abs(h) / absTanh);
    dLogC = 1 / h - (1 - th * th) / (2 * th);
  }
  if (d) d[0] = hv <= -CB_LOGIT_LIMIT || hv >= CB_LOGIT_LIMIT ? 0 : xv - l + dLogC;
  return xv * h - softplus + logC;
}

function clampLogit(h: number): number {
  return Math.min(CB_LOGIT_LIMIT, Math.max(-CB_LOGIT_LIMIT, h));
}

/** True where torch uses the Taylor form: lambda in (0.499, 0.501]. */
function inTaylorRegion(l: number): boolean {
  return l > 0.499 && l <= 0.501;
}
