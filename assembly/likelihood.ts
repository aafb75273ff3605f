// The continuous-Bernoulli log-density of the decoder's output, elementwise:
//
//   out[i] = log p(x[i] | sigmoid(clamp(h[i]))),  d[i] = its derivative in h[i]
//
// The same maths, branch for branch, as cbLogDensityAndGrad in
// src/model/likelihood.ts (the oracle the tests compare against): f64 from
// f32 inputs, rounded to f32 once at the end. It replaces a per-element JS
// closure on the decoder's whole output (784 values per image), the largest
// non-GEMM cost of inference. Elements are independent, so large calls are
// cut into bands between the kernel threads (assembly/threads.ts) and the
// result never depends on the split.

import { F32 } from "./simd";
import { availableThreads, evenBand, JOB_CBLL, runJob5 } from "./threads";

/** log((1 - eps) / eps), eps = 2^-23: the logit clamp (CB_LOGIT_LIMIT in src/model/likelihood.ts). */
const LOGIT_LIMIT: f64 = Math.log((1.0 - 1.0 / 8388608.0) / (1.0 / 8388608.0));
const LOG2: f64 = Math.log(2.0);

// Below this many elements a worker's wake-up costs more than its share saves
// (an element is ~15 ns of exp and log; a wake-up tens of microseconds).
// @ts-ignore: decorator
@inline const MIN_SPLIT_ELEMENTS: i32 = 16384;
// Bands start on 64-byte lines of the f32 outputs (no false sharing).
// @ts-ignore: decorator
@inline const BAND_TILE: i32 = 16;

/**
 * out[i] = log p(x[i] | sigmoid(clamp(h[i]))) for i < n and, when d != 0,
 * d[i] = the derivative in h[i] (zero outside the clamp).
 */
export function cbLogLik(n: i32, h: usize, x: usize, out: usize, d: usize): void {
  const threads = n >= MIN_SPLIT_ELEMENTS ? availableThreads() : 1;
  if (threads > 1) {
    runJob5(JOB_CBLL, 0, n, <i32>h, <i32>x, <i32>out, <i32>d);
  } else {
    cbLogLikRange(h, x, out, d, 0, n);
  }
}

/** Share `tid` of `threads` of a posted cbLogLik job whose arguments are at args. */
export function cbLogLikShare(args: usize, tid: i32, threads: i32): void {
  const n = load<i32>(args);
  cbLogLikRange(<usize>load<u32>(args, 4), <usize>load<u32>(args, 8), <usize>load<u32>(args, 12),
    <usize>load<u32>(args, 16), evenBand(n, tid, threads, BAND_TILE), evenBand(n, tid + 1, threads, BAND_TILE));
}

function cbLogLikRange(h: usize, x: usize, out: usize, d: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i * F32;
    const hv = <f64>load<f32>(h + o), xv = <f64>load<f32>(x + o);
    const hc = min(LOGIT_LIMIT, max(-LOGIT_LIMIT, hv));
    const a = abs(hc);
    // Everything comes from one e = exp(-|h|) (through expm1 below 0.5, where
    // 1 - e loses digits): sigmoid and |tanh(h/2)|; away from 1/2,
    // -softplus + log C = -max(h, 0) + log(|h| / (1 - e)), one logarithm.
    let e: f64, oneMinusE: f64;
    if (a < 0.5) {
      const m = Math.expm1(-a);
      e = 1 + m;
      oneMinusE = -m;
    } else {
      e = Math.exp(-a);
      oneMinusE = 1 - e;
    }
    const l = hc >= 0 ? 1 / (1 + e) : e / (1 + e);
    let value: f64, dLogC: f64;
    if (l > 0.499 && l <= 0.501) {
      // torch's Taylor form of log C near lambda = 1/2.
      const c = l - 0.5;
      const t = c * c;
      const logC = LOG2 + (4.0 / 3.0 + (104.0 / 45.0) * t) * t;
      dLogC = (4.0 / 3.0 + (208.0 / 45.0) * t) * 2 * c * l * (1 - l);
      value = xv * hc - (max(hc, 0) + Math.log1p(e)) + logC;
    } else {
      const absTanh = oneMinusE / (1 + e);
      const th = hc >= 0 ? absTanh : -absTanh;
      dLogC = 1 / hc - (1 - th * th) / (2 * th);
      value = xv * hc - max(hc, 0) + Math.log(a / oneMinusE);
    }
    store<f32>(out + o, <f32>value);
    if (d != 0) store<f32>(d + o, hv <= -LOGIT_LIMIT || hv >= LOGIT_LIMIT ? 0 : <f32>(xv - l + dLogC));
  }
}
