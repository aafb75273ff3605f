// Plain TypeScript versions of every WASM kernel. They are the oracles the
// kernel tests compare against, and the f64 backend that gradient checks run
// on. Written for clarity, not speed. Same argument conventions as the
// kernels: row-major, leading dimensions in elements.

type Arr = Float32Array | Float64Array | number[];

/** C = alpha op(A) op(B) + beta C. */
export function refGemm(
  transA: number, transB: number, m: number, n: number, k: number, alpha: number,
  a: ArrayLike<number>, lda: number, b: ArrayLike<number>, ldb: number, beta: number, c: Arr, ldc: number,
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

/**
 * K Björck steps; saves [A_k, P_k] for every step done. With tol >= 0, stops
 * before step k when ||P_k - I||_F <= tol (bjorckForwardTol's rule).
 */
export function refBjorckForward(r: number, c: number, iters: number, beta: number, w: ArrayLike<number>, tol = -1) {
  let a: Float64Array = Float64Array.from(w);
  const saved: { a: Float64Array; p: Float64Array }[] = [];
  for (let k = 0; k < iters; k++) {
    const [y, p] = refBjorckStep(r, c, beta, a);
    if (tol >= 0 && gramDeviation(p) <= tol) break;
    saved.push({ a, p });
    a = y;
  }
  return { out: a, saved };
}

/** ||P - I||_F of a square Gram. */
export function gramDeviation(p: ArrayLike<number>): number {
  const s = Math.round(Math.sqrt(p.length));
  let acc = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) acc += (p[i * s + j] - (i === j ? 1 : 0)) ** 2;
  return Math.sqrt(acc);
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

/**
 * Symmetric eigendecomposition in f64, the oracle of the eigSym kernel:
 * EISPACK's tred2 + tql2 as in JAMA, written plainly (the Householder
 * reduction runs from the last row up, the kernel's from the first row down;
 * both accumulate and use the same QL iteration). Returns the eigenvalues
 * ascending and the eigenvectors as ROWS of `vectors` (row j belongs to
 * values[j]), the kernel's layout. Reads the lower triangle of a (n x n, lda).
 */
export function refEigSym(n: number, a: ArrayLike<number>, lda = n): { values: Float64Array; vectors: Float64Array; converged: boolean } {
  const V: Float64Array[] = Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(n);
    for (let j = 0; j < n; j++) row[j] = i >= j ? a[i * lda + j] : a[j * lda + i];
    return row;
  });
  const d = new Float64Array(n), e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: new Float64Array(0), converged: true };
  // tred2: Householder reduction to tridiagonal form, accumulating in V.
  for (let j = 0; j < n; j++) d[j] = V[n - 1][j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1][j];
        V[i][j] = 0;
        V[j][i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j][i] = f;
        g = e[j] + V[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k][j] * d[k];
          e[k] += V[k][j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k][j] -= f * e[k] + g * d[k];
        d[j] = V[i - 1][j];
        V[i][j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[n - 1][i] = V[i][i];
    V[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k][i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k][i + 1] * V[k][j];
        for (let k = 0; k <= i; k++) V[k][j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k][i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1][j];
    V[n - 1][j] = 0;
  }
  V[n - 1][n - 1] = 1;
  e[0] = 0;
  // tql2: implicit QL on the tridiagonal matrix, rotations applied to V's columns.
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0, converged = true;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && !(Math.abs(e[m]) <= eps * tst1)) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) {
          converged = false;
          break;
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            h = V[k][i + 1];
            V[k][i + 1] = s * V[k][i] + c * h;
            V[k][i] = c * V[k][i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  // Ascending, eigenvectors as rows.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[i] - d[j]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = V[k][col];
  });
  return { values, vectors, converged };
}

/**
 * The spectral Björck's scalar coefficients (oracle of bjorckSpectralCoeffs):
 * q[i] = q_K(lam_i) with K steps mapping s to s q_K(s^2), and dd[i][j] =
 * q_K[lam_i, lam_j], the divided difference carried through the recursion
 * (assembly/spectral.ts has the derivation), q_K'(lam_i) on the diagonal.
 */
export function refSpectralCoeffs(lam: ArrayLike<number>, iters: number, beta: number): { q: Float64Array; dd: Float64Array } {
  const n = lam.length;
  const q = new Float64Array(n), dd = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let qk = 1;
    for (let k = 0; k < iters; k++) qk *= 1 + beta - beta * lam[i] * qk * qk;
    q[i] = qk;
  }
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const x = lam[i], y = lam[j];
      let qx = 1, qy = 1, d = 0;
      for (let k = 0; k < iters; k++) {
        const dm = qy * qy + x * (qx + qy) * d;
        const rx = 1 + beta - beta * x * qx * qx, ry = 1 + beta - beta * y * qy * qy;
        d = d * ry - beta * qx * dm;
        qx *= rx;
        qy *= ry;
      }
      dd[i * n + j] = dd[j * n + i] = d;
    }
  }
  return { q, dd };
}

/**
 * Squared row norms of V = U^T X: the eigenvalues the spectral Björck uses.
 * They equal the Gram's up to rounding, but are consistent with V: the
 * eigensolver's lam_i carries an absolute error ~eps ||X||^2, the row norm of
 * V_i one of ~eps ||X|| s_i, and the backward cancels terms of size q_K(lam_i)
 * that only agree when lam_i = ||V_i||^2.
 */
export function rowSquares(v: ArrayLike<number>, s: number, l: number): Float64Array {
  const out = new Float64Array(s);
  for (let i = 0; i < s; i++) {
    let acc = 0;
    for (let j = i * l; j < (i + 1) * l; j++) acc += v[j] * v[j];
    out[i] = acc;
  }
  return out;
}

/** What the spectral Björck's f64 forward keeps for its backward. */
export interface RefSpectralSaved {
  /** Eigenvectors of the smaller Gram as rows (s x s), i.e. U^T. */
  zt: Float64Array;
  /** U^T X (s x l), X = W for a wide W, W^T for a tall one. */
  v: Float64Array;
  lam: Float64Array;
  q: Float64Array;
}

/**
 * K Björck steps as one matrix function of the smaller Gram, in f64:
 * wide (r <= c): G = W W^T = U diag(lam) U^T, W_K = U diag(q_K(lam)) U^T W;
 * tall: the same with W^T. Equal to refBjorckForward's K iterations up to rounding.
 */
/**
 * The steps K iterations with tolerance tol do, from the eigenvalues alone:
 * step k's Gram has eigenvalues m_k(lam_i) = lam_i q_k(lam_i)^2, so
 * ||P_k - I||_F^2 = sum_i (m_k(lam_i) - 1)^2; the first k where that is <= tol^2
 * (bjorckForwardTol's rule, evaluated exactly instead of on a rounded Gram), else K.
 */
export function spectralSteps(lam: ArrayLike<number>, iters: number, beta: number, tol: number): number {
  if (!(tol >= 0)) return iters;
  const q = new Float64Array(lam.length).fill(1);
  for (let k = 0; k < iters; k++) {
    let acc = 0;
    for (let i = 0; i < lam.length; i++) acc += (lam[i] * q[i] * q[i] - 1) ** 2;
    if (Math.sqrt(acc) <= tol) return k;
    for (let i = 0; i < lam.length; i++) q[i] *= 1 + beta - beta * lam[i] * q[i] * q[i];
  }
  return iters;
}

export function refBjorckSpectralForward(r: number, c: number, iters: number, beta: number, w: ArrayLike<number>, tol = -1) {
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  const g = new Float64Array(s * s);
  if (wide) refGemm(0, 1, s, s, c, 1, w, c, w, c, 0, g, s);
  else refGemm(1, 0, s, s, r, 1, w, c, w, c, 0, g, s);
  const { vectors: zt, converged } = refEigSym(s, g);
  if (!converged) throw new Error("spectral Björck: the eigensolver did not converge");
  const v = new Float64Array(s * l);
  if (wide) refGemm(0, 0, s, c, s, 1, zt, s, w, c, 0, v, c);
  else refGemm(0, 1, s, r, s, 1, zt, s, w, c, 0, v, r);
  const lam = rowSquares(v, s, l);
  const steps = spectralSteps(lam, iters, beta, tol);
  const { q } = refSpectralCoeffs(lam, steps, beta);
  const y = v.map((val, idx) => q[Math.floor(idx / l)] * val);
  const out = new Float64Array(r * c);
  if (wide) refGemm(1, 0, r, c, s, 1, zt, s, y, l, 0, out, c);
  else refGemm(1, 0, r, c, s, 1, y, l, zt, s, 0, out, c);
  return { out, steps, saved: { zt, v, lam, q } as RefSpectralSaved };
}

/**
 * Backward of refBjorckSpectralForward. With X = W (wide) or W^T (tall),
 * Out_X = F X and F = U diag(q) U^T a function of G = X X^T:
 *   dX = F dOut_X + U (D o (M + M^T)) U^T X,  M = (U^T dOut_X)(U^T X)^T,
 * D the divided differences of q_K at the eigenvalues (Daleckii-Krein; the
 * symmetric part M + M^T because G's perturbations dX X^T + X dX^T are).
 */
export function refBjorckSpectralBackward(r: number, c: number, iters: number, beta: number,
  saved: RefSpectralSaved, gOut: ArrayLike<number>): Float64Array {
  const wide = r <= c, s = Math.min(r, c), l = Math.max(r, c);
  const { zt, v, lam, q } = saved;
  const { dd } = refSpectralCoeffs(lam, iters, beta);
  const a = new Float64Array(s * l);
  if (wide) refGemm(0, 0, s, l, s, 1, zt, s, gOut, c, 0, a, l);
  else refGemm(0, 1, s, l, s, 1, zt, s, gOut, c, 0, a, l);
  const m = new Float64Array(s * s);
  refGemm(0, 1, s, s, l, 1, a, l, v, l, 0, m, s);
  const sm = new Float64Array(s * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) sm[i * s + j] = dd[i * s + j] * (m[i * s + j] + m[j * s + i]);
  const t = new Float64Array(s * l);
  refGemm(0, 0, s, l, s, 1, sm, s, v, l, 0, t, l);
  for (let i = 0; i < s; i++) for (let j = 0; j < l; j++) t[i * l + j] += q[i] * a[i * l + j];
  const dw = new Float64Array(r * c);
  if (wide) refGemm(1, 0, r, c, s, 1, zt, s, t, l, 0, dw, c);
  else refGemm(1, 0, r, c, s, 1, t, l, zt, s, 0, dw, c);
  return dw;
}
