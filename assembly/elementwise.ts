// Elementwise and reduction kernels that sit on hot paths (layers, Adam).
// Pointer-based, allocation-free; n counts f32 elements.

import { F32 } from "./simd";

/** dst[i] = src[i]. */
export function copy(n: i32, src: usize, dst: usize): void {
  memory.copy(dst, src, <usize>n * F32);
}

/** x[i] *= alpha. */
export function scale(n: i32, alpha: f32, x: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + <usize>i * F32;
    v128.store(p, f32x4.mul(v128.load(p), va));
  }
  for (; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, load<f32>(p) * alpha);
  }
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
  for (let i = 0; i < n; i++) {
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
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(1 - b1);
  const vb2 = f32x4.splat(b2), vc2 = f32x4.splat(1 - b2);
  const vstep = f32x4.splat(stepSize), vvs = f32x4.splat(vScale), veps = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * F32;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, gi));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vc2, f32x4.mul(gi, gi)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), vvs), veps);
    v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.div(f32x4.mul(vstep, mi), denom)));
  }
  for (; i < n; i++) {
    const o = <usize>i * F32;
    const gi = load<f32>(g + o);
    const mi = b1 * load<f32>(m + o) + (1 - b1) * gi;
    const vi = b2 * load<f32>(v + o) + (1 - b2) * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) - stepSize * mi / (Mathf.sqrt(vi) * vScale + eps));
  }
}
