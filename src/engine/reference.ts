// Plain TypeScript versions of every WASM kernel. They are the oracles the
// kernel tests compare against, and the f64 backend that gradient checks run
// on. Written for clarity, not speed. Same argument conventions as the
// kernels: row-major, leading dimensions in elements.

type Arr = Float32Array | Float64Array | number[];

/** C = alpha op(A) op(B) + beta C. */
export function refGemm(
  transA: number, transB: number, m: number, n: number, k: number, alpha: number,
  a: Arr, lda: number, b: Arr, ldb: number, beta: number, c: Arr, ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i] : a[i * lda + p];
        const bv = transB ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      const idx = i * ldc + j;
      c[idx] = alpha * s + (beta === 0 ? 0 : beta * c[idx]);
    }
  }
}

/** C = alpha X X^T + beta C, X = op(A) (n x k); full C. */
export function refSyrk(trans: number, n: number, k: number, alpha: number, a: Arr, lda: number, beta: number, c: Arr, ldc: number): void {
  refGemm(trans, trans ^ 1, n, n, k, alpha, a, lda, a, lda, beta, c, ldc);
}

/** One Björck step on the smaller Gram (see assembly/bjorck.ts). Returns [Y, P]. */
export function refBjorckStep(r: number, c: number, beta: number, a: Float64Array): [Float64Array, Float64Array] {
  const s = Math.min(r, c);
  const p = new Float64Array(s * s);
  const y = a.map((v) => (1 + beta) * v);
  if (r <= c) {
    refSyrk(0, r, c, 1, a, c, 0, p, r);
    refGemm(0, 0, r, c, r, -beta, p, r, a, c, 1, y, c);
  } else {
    refSyrk(1, c, r, 1, a, c, 0, p, c);
    refGemm(0, 0, r, c, c, -beta, a, c, p, c, 1, y, c);
  }
  return [y, p];
}

/** K Björck steps; saves [A_k, P_k] for every k. */
export function refBjorckForward(r: number, c: number, iters: number, beta: number, w: ArrayLike<number>) {
  let a: Float64Array = Float64Array.from(w);
  const saved: { a: Float64Array; p: Float64Array }[] = [];
  for (let k = 0; k < iters; k++) {
    const [y, p] = refBjorckStep(r, c, beta, a);
    saved.push({ a, p });
    a = y;
  }
  return { out: a, saved };
}

/** Backward through the saved iterations (3 products per step). */
export function refBjorckBackward(
  r: number, c: number, beta: number, saved: { a: Float64Array; p: Float64Array }[], gOut: ArrayLike<number>,
): Float64Array {
  const s = Math.min(r, c);
  let g = Float64Array.from(gOut);
  for (let k = saved.length - 1; k >= 0; k--) {
    const { a, p } = saved[k];
    const d = new Float64Array(s * s);
    const gNew = g.map((v) => (1 + beta) * v);
    if (r <= c) {
      refGemm(0, 1, r, r, c, -beta, g, c, a, c, 0, d, r);
      symmetrise(s, d);
      refGemm(0, 0, r, c, r, -beta, p, r, g, c, 1, gNew, c);
      refGemm(0, 0, r, c, r, 1, d, r, a, c, 1, gNew, c);
    } else {
      refGemm(1, 0, c, c, r, -beta, a, c, g, c, 0, d, c);
      symmetrise(s, d);
      refGemm(0, 0, r, c, c, -beta, g, c, p, c, 1, gNew, c);
      refGemm(0, 0, r, c, c, 1, a, c, d, c, 1, gNew, c);
    }
    g = gNew;
  }
  return g;
}

function symmetrise(n: number, d: Float64Array): void {
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = d[i * n + j] + d[j * n + i];
      d[i * n + j] = v;
      d[j * n + i] = v;
    }
  }
}

/** Stable ascending sort of each contiguous group of g values. */
export function refGroupsortForward(g: number, x: ArrayLike<number>, y: Arr): void {
  for (let base = 0; base < x.length; base += g) {
    const order = stableOrder(g, x, base);
    for (let rank = 0; rank < g; rank++) y[base + rank] = x[base + order[rank]];
  }
}

/** dx = P^T dy for the same (stable) permutation. */
export function refGroupsortBackward(g: number, x: ArrayLike<number>, dy: ArrayLike<number>, dx: Arr): void {
  for (let base = 0; base < x.length; base += g) {
    const order = stableOrder(g, x, base);
    for (let rank = 0; rank < g; rank++) dx[base + order[rank]] = dy[base + rank];
  }
}

function stableOrder(g: number, x: ArrayLike<number>, base: number): number[] {
  const idx = Array.from({ length: g }, (_, i) => i);
  // Array.prototype.sort is stable; NaN compares as "not less", like the kernel.
  return idx.sort((i, j) => (x[base + j] < x[base + i] ? 1 : x[base + i] < x[base + j] ? -1 : 0));
}

export function refSigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

export function refSoftplus(v: number): number {
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}

/** Adam (torch.optim.Adam's formula) in place: the oracle for the adamStep kernel and the f64 path. */
export function refAdamStep(p: Arr, g: ArrayLike<number>, m: Arr, v: Arr,
  b1: number, b2: number, stepSize: number, vScale: number, eps: number): void {
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) * vScale + eps);
  }
}

export type BinaryOp = "add" | "sub" | "mul" | "reluGrad";
export type UnaryOp = "affine" | "square" | "relu" | "scale";

/** out = a op b elementwise; reluGrad(g = a, x = b) is g where x > 0, 0 where x <= 0, NaN where x is NaN. */
export function refBinary(op: BinaryOp, a: ArrayLike<number>, b: ArrayLike<number>, out: Arr): void {
  for (let i = 0; i < out.length; i++) {
    const u = a[i], v = b[i];
    out[i] = op === "add" ? u + v : op === "sub" ? u - v : op === "mul" ? u * v : v > 0 ? u : v <= 0 ? 0 : NaN;
  }
}

/**
 * out = alpha x + beta (affine), x² (square), relu(x) with NaN kept (relu), alpha x (scale).
 * `round` rounds the intermediate alpha x (Math.fround mirrors the f32 kernel's two roundings).
 */
export function refUnary(op: UnaryOp, x: ArrayLike<number>, alpha: number, beta: number, out: Arr,
  round: (v: number) => number = (v) => v): void {
  for (let i = 0; i < out.length; i++) {
    const v = x[i];
    out[i] = op === "affine" ? round(v * alpha) + beta : op === "square" ? v * v : op === "scale" ? v * alpha : v <= 0 ? 0 : v;
  }
}
