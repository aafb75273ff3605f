// The continuous-Bernoulli log-density of the decoder's output, elementwise:
//
//   out[i] = log p(x[i] | sigmoid(clamp(h[i]))),  d[i] = its derivative in h[i]
//
// The same maths, branch for branch, as cbLogDensityAndGrad in
// src/model/likelihood.ts (the oracle the tests compare against): f64 from
// f32 inputs, rounded to f32 once at the end. Pairs of elements away from
// lambda = 1/2 run in f64x2 lanes with this file's own exp and log (Estrin
// polynomials, accurate to a few f64 ulps); the rest run the scalar code.
// It replaces a per-element JS closure on the decoder's whole output (784
// values per image), the largest non-GEMM cost of inference. Elements are
// independent, so large calls are cut into bands between the kernel threads
// (assembly/threads.ts) and the result never depends on the split.

import { F32 } from "./simd";
import { availableThreads, evenBand, JOB_CBLL, jobRecord, runJob } from "./threads";

/** log((1 - eps) / eps), eps = 2^-23: the logit clamp (CB_LOGIT_LIMIT in src/model/likelihood.ts). */
const LOGIT_LIMIT: f64 = Math.log((1.0 - 1.0 / 8388608.0) / (1.0 / 8388608.0));
const LOG2: f64 = Math.log(2.0);

// Below this many elements a worker's wake-up costs more than its share saves
// (an element is ~14 ns; a wake-up tens of microseconds).
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
    const job = jobRecord<CbLogLikJob>();
    job.n = n; job.h = h; job.x = x; job.out = out; job.d = d;
    runJob(JOB_CBLL, 0);
  } else {
    cbLogLikRange(h, x, out, d, 0, n);
  }
}

/** Share `tid` of `threads` of a posted cbLogLik job whose arguments are at args. */
export function cbLogLikShare(args: usize, tid: i32, threads: i32): void {
  const job = changetype<CbLogLikJob>(args);
  cbLogLikRange(job.h, job.x, job.out, job.d, evenBand(job.n, tid, threads, BAND_TILE), evenBand(job.n, tid + 1, threads, BAND_TILE));
}

/** The arguments of a JOB_CBLL job. */
@unmanaged class CbLogLikJob {
  n: i32; h: usize; x: usize; out: usize; d: usize;
}

// f64x2 constants of the vector path.
// @ts-ignore: decorator
@inline const LN2_HI: f64 = 6.93147180369123816490e-01; // ln 2's leading 32 bits (fdlibm): k * LN2_HI is exact
// @ts-ignore: decorator
@inline const LN2_LO: f64 = 1.90821492927058770002e-10;
// @ts-ignore: decorator
@inline const INV_LN2: f64 = 1.44269504088896338700e+00;
// @ts-ignore: decorator
@inline const SQRT2: f64 = 1.41421356237309514547;
// Below this |h| a pair of elements takes the scalar path: it covers torch's
// Taylor window around lambda = 1/2 (|h| < 0.004) with room to spare, so
// which formula an element gets never depends on the vector path's rounding.
// @ts-ignore: decorator
@inline const VECTOR_MIN_ABS_H: f64 = 0.01;

/** c0 + c1 t, lane-wise (plain multiply and add: both builds give the same bits). */
// @ts-ignore: decorator
@inline function lin(c0: f64, c1: f64, t: v128): v128 {
  return f64x2.add(f64x2.splat(c0), f64x2.mul(f64x2.splat(c1), t));
}

/** a + b t, lane-wise. */
// @ts-ignore: decorator
@inline function addMul(a: v128, b: v128, t: v128): v128 {
  return f64x2.add(a, f64x2.mul(b, t));
}

/**
 * expm1(r) for |r| <= ln(2)/2: r + r^2 q(r) with q its Taylor series to
 * degree 13 (first omitted term below 4e-18), evaluated by Estrin's scheme:
 * the dependency chain is 4 products deep instead of Horner's 12, which is
 * what bounds this loop.
 */
// @ts-ignore: decorator
@inline function expm1Reduced(r: v128): v128 {
  const r2 = f64x2.mul(r, r), r4 = f64x2.mul(r2, r2), r8 = f64x2.mul(r4, r4);
  const b0 = addMul(lin(1.0 / 2.0, 1.0 / 6.0, r), lin(1.0 / 24.0, 1.0 / 120.0, r), r2);
  const b1 = addMul(lin(1.0 / 720.0, 1.0 / 5040.0, r), lin(1.0 / 40320.0, 1.0 / 362880.0, r), r2);
  const b2 = addMul(lin(1.0 / 3628800.0, 1.0 / 39916800.0, r), lin(1.0 / 479001600.0, 1.0 / 6227020800.0, r), r2);
  const q = addMul(addMul(b0, b1, r4), b2, r8);
  return addMul(r, r2, q);
}

/**
 * log(y) for finite y >= 1 (here y <= 17): y = 2^j m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.1716, by its series in
 * z = s^2 to s^21 (first omitted term below 1e-18 relative), Estrin's scheme.
 */
// @ts-ignore: decorator
@inline function logAtLeastOne(y: v128): v128 {
  // Exponent field as a float: OR it into the mantissa of 2^52 and subtract 2^52.
  const field = v128.or(i64x2.shr_u(y, 52), i64x2.splat(0x4330000000000000));
  let j = f64x2.sub(f64x2.sub(field, f64x2.splat(4503599627370496.0)), f64x2.splat(1023.0));
  let m = v128.or(v128.and(y, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3ff0000000000000));
  const big = f64x2.gt(m, f64x2.splat(SQRT2));
  m = v128.bitselect(f64x2.mul(m, f64x2.splat(0.5)), m, big);
  j = v128.bitselect(f64x2.add(j, f64x2.splat(1.0)), j, big);
  const f = f64x2.sub(m, f64x2.splat(1.0));
  const s = f64x2.div(f, f64x2.add(f64x2.splat(2.0), f));
  const z = f64x2.mul(s, s), z2 = f64x2.mul(z, z), z4 = f64x2.mul(z2, z2), z8 = f64x2.mul(z4, z4);
  const b0 = addMul(lin(1.0 / 3.0, 1.0 / 5.0, z), lin(1.0 / 7.0, 1.0 / 9.0, z), z2);
  const b1 = addMul(lin(1.0 / 11.0, 1.0 / 13.0, z), lin(1.0 / 15.0, 1.0 / 17.0, z), z2);
  const q = addMul(addMul(b0, b1, z4), lin(1.0 / 19.0, 1.0 / 21.0, z), z8);
  // log m = 2s + 2s z q; j ln 2 in two parts so that its rounding stays below log m's.
  const twoS = f64x2.add(s, s);
  const logM = addMul(twoS, f64x2.mul(twoS, z), q);
  return f64x2.add(f64x2.mul(j, f64x2.splat(LN2_HI)), addMul(logM, j, f64x2.splat(LN2_LO)));
}

/**
 * Elements i0..i1-1: two at a time in f64x2 lanes (their own exp and log,
 * from e = expm1 of the reduced argument), the rest and every pair with a
 * lane near lambda = 1/2 or NaN by the scalar code, which is the oracle's maths.
 */
function cbLogLikRange(h: usize, x: usize, out: usize, d: usize, i0: i32, i1: i32): void {
  const limit = f64x2.splat(LOGIT_LIMIT), one = f64x2.splat(1.0), zero = f64x2.splat(0.0);
  let i = i0;
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i * F32;
    const hv = f64x2.promote_low_f32x4(v128.load64_zero(h + o));
    const xv = f64x2.promote_low_f32x4(v128.load64_zero(x + o));
    const hc = f64x2.min(limit, f64x2.max(f64x2.neg(limit), hv));
    const a = f64x2.abs(hc);
    if (!i64x2.all_true(f64x2.ge(a, f64x2.splat(VECTOR_MIN_ABS_H)))) {
      cbLogLikScalar(h, x, out, d, i);
      cbLogLikScalar(h, x, out, d, i + 1);
      continue;
    }
    // e = exp(-a) = 2^k (1 + p), p = expm1(r), -a = k ln 2 + r; 1 - e = (1 - 2^k) - 2^k p
    // (1 - 2^k is exact: k >= -23 since a <= 16).
    const xneg = f64x2.neg(a);
    const kf = f64x2.nearest(f64x2.mul(xneg, f64x2.splat(INV_LN2)));
    const r = f64x2.sub(f64x2.sub(xneg, f64x2.mul(kf, f64x2.splat(LN2_HI))), f64x2.mul(kf, f64x2.splat(LN2_LO)));
    const p = expm1Reduced(r);
    const twoK = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(kf)), i64x2.splat(1023)), 52);
    const twoKp = f64x2.mul(twoK, p);
    const e = f64x2.add(twoK, twoKp);
    const oneMinusE = f64x2.sub(f64x2.sub(one, twoK), twoKp);
    const onePlusE = f64x2.add(one, e);
    const pos = f64x2.ge(hc, zero);
    const l = f64x2.div(v128.bitselect(one, e, pos), onePlusE);
    const absTanh = f64x2.div(oneMinusE, onePlusE);
    const th = v128.bitselect(absTanh, f64x2.neg(absTanh), pos);
    const dLogC = f64x2.sub(f64x2.div(one, hc), f64x2.div(f64x2.sub(one, f64x2.mul(th, th)), f64x2.add(th, th)));
    const value = f64x2.add(f64x2.sub(f64x2.mul(xv, hc), f64x2.max(hc, zero)), logAtLeastOne(f64x2.div(a, oneMinusE)));
    v128.store64_lane(out + o, f32x4.demote_f64x2_zero(value), 0);
    if (d != 0) {
      const inside = f64x2.lt(f64x2.abs(hv), limit);
      const deriv = v128.and(f64x2.add(f64x2.sub(xv, l), dLogC), inside);
      v128.store64_lane(d + o, f32x4.demote_f64x2_zero(deriv), 0);
    }
  }
  for (; i < i1; i++) cbLogLikScalar(h, x, out, d, i);
}

/** Element i by the scalar maths of cbLogDensityAndGrad. */
function cbLogLikScalar(h: usize, x: usize, out: usize, d: usize, i: i32): void {
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
