// Elementwise and reduction kernels that sit on hot paths (layers, Adam).
// Pointer-based, allocation-free; n counts f32 elements.

import { F32 } from "./simd";
import { availableThreads, evenBand, JOB_ADAM, jobRecord, runJob } from "./threads";

/** dst[i] = src[i]. */
export function copy(n: i32, src: usize, dst: usize): void {
  memory.copy(dst, src, <usize>n * F32);
}

/** dst[i] = alpha * src[i]: one pass where a copy and a scale would take two. */
export function scaleInto(n: i32, alpha: f32, src: usize, dst: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * F32;
    v128.store(dst + o, f32x4.mul(v128.load(src + o), va));
  }
  for (; i < n; i++) {
    const o = <usize>i * F32;
    store<f32>(dst + o, load<f32>(src + o) * alpha);
  }
}

/** x[i] *= alpha. */
export function scale(n: i32, alpha: f32, x: usize): void {
  scaleInto(n, alpha, x, x);
}

/** y[i] = alpha*x[i] + beta*y[i]. */
export function axpby(n: i32, alpha: f32, x: usize, beta: f32, y: usize): void {
  const va = f32x4.splat(alpha);
  const vb = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const px = x + <usize>i * F32;
    const py = y + <usize>i * F32;
    v128.store(py, f32x4.add(f32x4.mul(v128.load(px), va), f32x4.mul(v128.load(py), vb)));
  }
  for (; i < n; i++) {
    const py = y + <usize>i * F32;
    store<f32>(py, alpha * load<f32>(x + <usize>i * F32) + beta * load<f32>(py));
  }
}

/** out[i, j] = alpha * (x[i, j] + bias[j]) for an m x n row-major x. out may alias x. */
export function addRowBias(m: i32, n: i32, x: usize, bias: usize, alpha: f32, out: usize): void {
  const va = f32x4.splat(alpha);
  for (let i = 0; i < m; i++) {
    const rx = x + <usize>(i * n) * F32;
    const ro = out + <usize>(i * n) * F32;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j * F32;
      v128.store(ro + o, f32x4.mul(f32x4.add(v128.load(rx + o), v128.load(bias + o)), va));
    }
    for (; j < n; j++) {
      const o = <usize>j * F32;
      store<f32>(ro + o, alpha * (load<f32>(rx + o) + load<f32>(bias + o)));
    }
  }
}

/** out[j] = sum_i x[i, j] (column sums of an m x n matrix). */
export function columnSums(m: i32, n: i32, x: usize, out: usize): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < m; i++) acc = f32x4.add(acc, v128.load(x + <usize>(i * n + j) * F32));
    v128.store(out + <usize>j * F32, acc);
  }
  for (; j < n; j++) {
    let acc: f32 = 0;
    for (let i = 0; i < m; i++) acc += load<f32>(x + <usize>(i * n + j) * F32);
    store<f32>(out + <usize>j * F32, acc);
  }
}

/** y = 1 / (1 + exp(-x)), computed without overflow for either sign. */
export function sigmoid(n: i32, x: usize, y: usize): void {
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * F32;
    const v = v128.load(x + o);
    // e = exp(-|v|) in (0, 1]; sigmoid(v) = 1/(1 + e) for v >= 0, e/(1 + e) below.
    const e = expNonPositive(f32x4.neg(f32x4.abs(v)));
    const onePlusE = f32x4.add(one, e);
    v128.store(y + o, f32x4.div(v128.bitselect(one, e, f32x4.ge(v, zero)), onePlusE));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + <usize>i * F32);
    let s: f32;
    if (v >= 0) {
      s = 1 / (1 + Mathf.exp(-v));
    } else {
      const e = Mathf.exp(v);
      s = e / (1 + e);
    }
    store<f32>(y + <usize>i * F32, s);
  }
}

/**
 * exp(t) lane-wise for t <= 0 (NaN stays NaN): t = k ln 2 + r, |r| <= ln(2)/2,
 * exp(r) by its Taylor series to degree 7 (truncation below 5e-9, an f32 ulp
 * is 6e-8), times 2^k built in the exponent field. Below -87.3 (where 2^k
 * would leave the normal range) the result is 0; exp is below 1.2e-38 there.
 */
// @ts-ignore: decorator
@inline function expNonPositive(t: v128): v128 {
  const k = f32x4.nearest(f32x4.mul(t, f32x4.splat(1.44269504)));
  // ln 2 in two parts (Cephes): k * 0.693359375 is exact for |k| < 2^15.
  const r = f32x4.add(f32x4.sub(t, f32x4.mul(k, f32x4.splat(0.693359375))), f32x4.mul(k, f32x4.splat(2.12194440e-4)));
  let q = f32x4.splat(1.0 / 5040.0);
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.0 / 720.0));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.0 / 120.0));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.0 / 24.0));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(1.0 / 6.0));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(0.5));
  const expR = f32x4.add(f32x4.add(f32x4.splat(1), r), f32x4.mul(f32x4.mul(r, r), q));
  const twoK = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(expR, twoK), f32x4.lt(t, f32x4.splat(-87.3)));
}

/** y = log(1 + exp(x)), stable for large |x|. */
export function softplus(n: i32, x: usize, y: usize): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + <usize>i * F32);
    store<f32>(y + <usize>i * F32, max(v, <f32>0) + Mathf.log1p(Mathf.exp(-Mathf.abs(v))));
  }
}

/**
 * One Adam step (PyTorch semantics, no weight decay) on n parameters:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= stepSize * m / (sqrt(v) * vScale + eps)
 * with stepSize = lr / (1 - b1^t) and vScale = 1 / sqrt(1 - b2^t), as torch.optim.Adam.
 */
export function adamStep(n: i32, p: usize, g: usize, m: usize, v: usize, b1: f32, b2: f32, stepSize: f32, vScale: f32, eps: f32): void {
  // Memory-bound (seven 4-byte streams per parameter): large tensors are
  // split between the kernel threads. Bands start at multiples of 4, so every
  // element takes the same (SIMD or scalar-tail) path for any thread count.
  if (n >= ADAM_MIN_SPLIT && availableThreads() > 1) {
    const job = jobRecord<AdamJob>();
    job.n = n; job.p = p; job.g = g; job.m = m; job.v = v;
    job.b1 = b1; job.b2 = b2; job.stepSize = stepSize; job.vScale = vScale; job.eps = eps;
    runJob(JOB_ADAM, 0);
  } else {
    adamRange(0, n, p, g, m, v, b1, b2, stepSize, vScale, eps);
  }
}

// Below this many parameters one thread is faster than waking another.
// @ts-ignore: decorator
@inline const ADAM_MIN_SPLIT: i32 = 65536;

/** Share `tid` of `threads` of an Adam job whose arguments are at args (posted by adamStep). */
export function adamShare(args: usize, tid: i32, threads: i32): void {
  const job = changetype<AdamJob>(args);
  const i0 = evenBand(job.n, tid, threads, 4), i1 = evenBand(job.n, tid + 1, threads, 4);
  if (i1 <= i0) return;
  adamRange(i0, i1, job.p, job.g, job.m, job.v, job.b1, job.b2, job.stepSize, job.vScale, job.eps);
}

/** The arguments of a JOB_ADAM job. */
@unmanaged class AdamJob {
  n: i32; p: usize; g: usize; m: usize; v: usize;
  b1: f32; b2: f32; stepSize: f32; vScale: f32; eps: f32;
}

/** The Adam update of elements [i0, i1); i0 a multiple of 4. */
function adamRange(i0: i32, i1: i32, p: usize, g: usize, m: usize, v: usize, b1: f32, b2: f32, stepSize: f32, vScale: f32, eps: f32): void {
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(1 - b1);
  const vb2 = f32x4.splat(b2), vc2 = f32x4.splat(1 - b2);
  const vstep = f32x4.splat(stepSize), vvs = f32x4.splat(vScale), veps = f32x4.splat(eps);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i * F32;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, gi));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vc2, f32x4.mul(gi, gi)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), vvs), veps);
    v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.div(f32x4.mul(vstep, mi), denom)));
  }
  for (; i < i1; i++) {
    const o = <usize>i * F32;
    const gi = load<f32>(g + o);
    const mi = b1 * load<f32>(m + o) + (1 - b1) * gi;
    const vi = b2 * load<f32>(v + o) + (1 - b2) * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) - stepSize * mi / (Mathf.sqrt(vi) * vScale + eps));
  }
}

// Operation codes of binaryMap / unaryMap (mirrored in src/engine/kernels.ts).
// @ts-ignore: decorator
@inline const ADD: i32 = 0;
// @ts-ignore: decorator
@inline const SUB: i32 = 1;
// @ts-ignore: decorator
@inline const MUL: i32 = 2;
// @ts-ignore: decorator
@inline const RELU_GRAD: i32 = 3;
// @ts-ignore: decorator
@inline const AFFINE: i32 = 0;
// @ts-ignore: decorator
@inline const SQUARE: i32 = 1;
// @ts-ignore: decorator
@inline const RELU: i32 = 2;
// @ts-ignore: decorator
@inline const SCALE: i32 = 3;

// @ts-ignore: decorator
@inline function binaryLanes(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  // RELU_GRAD (a = upstream gradient, b = x): a where x > 0, 0 where x <= 0, NaN where x is NaN.
  const zero = f32x4.splat(0);
  const pos = f32x4.gt(b, zero), nonPos = f32x4.le(b, zero);
  const r = v128.bitselect(a, zero, pos);
  return v128.bitselect(r, f32x4.splat(NaN), v128.or(pos, nonPos));
}

// @ts-ignore: decorator
@inline function binaryScalar(op: i32, a: f32, b: f32): f32 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  return b > 0 ? a : b <= 0 ? <f32>0 : NaN;
}

/** out[i] = a[i] op b[i] for op in {add, sub, mul, reluGrad(g = a, x = b)}. out may alias a or b. */
export function binaryMap(op: i32, n: i32, a: usize, b: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * F32;
    v128.store(out + o, binaryLanes(op, v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * F32;
    store<f32>(out + o, binaryScalar(op, load<f32>(a + o), load<f32>(b + o)));
  }
}

/** out[i] = f(x[i]) for f in {alpha x + beta, x², relu(x) (NaN stays NaN), alpha x}. out may alias x. */
export function unaryMap(op: i32, n: i32, x: usize, alpha: f32, beta: f32, out: usize): void {
  const va = f32x4.splat(alpha), vb = f32x4.splat(beta), zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * F32;
    const v = v128.load(x + o);
    let r: v128;
    if (op == AFFINE) r = f32x4.add(f32x4.mul(v, va), vb);
    else if (op == SQUARE) r = f32x4.mul(v, v);
    else if (op == SCALE) r = f32x4.mul(v, va);
    else r = v128.bitselect(zero, v, f32x4.le(v, zero)); // relu: 0 where v <= 0, v otherwise (NaN too)
    v128.store(out + o, r);
  }
  for (; i < n; i++) {
    const o = <usize>i * F32;
    const v = load<f32>(x + o);
    store<f32>(out + o, op == AFFINE ? v * alpha + beta : op == SQUARE ? v * v : op == SCALE ? v * alpha : v <= 0 ? <f32>0 : v);
  }
}
