// Scalar coefficients of Björck orthonormalisation done through an
// eigendecomposition (docs/architecture.md, 'Spectral Björck').
//
// K order-1 steps map each singular value s to f_K(s), the K-fold composition
// of p(t) = (1+beta) t - beta t^3. f_K is odd, so f_K(s) = s q_K(s^2) with
//   q_0 = 1,  q_k(x) = q_{k-1}(x) r_{k-1}(x),  r_k(x) = (1+beta) - beta x q_k(x)^2,
// and on the Gram G = U diag(x) U^T:  W_K = U diag(q_K(x)) U^T W.
//
// The backward pass needs the divided differences q_K[x_i, x_j] (Daleckii-Krein).
// (q_i - q_j)/(x_i - x_j) loses every digit when eigenvalues nearly coincide,
// and they all coincide at an orthogonal initialisation. Instead the divided
// difference is carried through the recursion with the product rule
// (ab)[x, y] = a[x, y] b(y) + a(x) b[x, y]:
//   m_k = x q_k^2:      m_k[x, y] = q_k(y)^2 + x (q_k(x) + q_k(y)) q_k[x, y]
//   q_{k+1} = q_k r_k:  q_{k+1}[x, y] = q_k[x, y] r_k(y) - beta q_k(x) m_k[x, y]
// which is exact algebra, never divides, and at x = y gives q_K'(x).

import { madd64, nmadd64 } from "./simd";

/** Workspace bytes of bjorckSpectralCoeffs for n eigenvalues and K = iters. */
export function bjorckSpectralWorkspaceBytes(n: i32, iters: i32): i32 {
  return (2 * iters * n + n) * 8 + 64;
}

/**
 * q[i] = q_K(lam[i]) for i < n; when dd != 0 also dd (n x n, f64) with
 * dd[i][j] = q_K[lam_i, lam_j] (q_K'(lam_i) on the diagonal). Costs O(n K)
 * for q and O(n^2 K) for dd.
 */
export function bjorckSpectralCoeffs(n: i32, lam: usize, iters: i32, beta: f64, q: usize, dd: usize, work: usize): void {
  const nk = <usize>n * <usize>iters;
  const tq = work;                    // tq[k*n + i] = q_k(lam_i), k < iters
  const tr = tq + (nk << 3);          // tr[k*n + i] = r_k(lam_i)
  const dq = tr + (nk << 3);          // one row of q_k[lam_i, lam_j]
  const consts = dq + (<usize>n << 3); // loop constants, loaded rather than splatted in the loop
  for (let i = 0; i < n; i++) {
    const x = load<f64>(lam + (<usize>i << 3));
    let qk: f64 = 1;
    for (let k = 0; k < iters; k++) {
      const at = (<usize>k * <usize>n + <usize>i) << 3;
      store<f64>(tq + at, qk);
      const rk = (1 + beta) - beta * x * qk * qk;
      store<f64>(tr + at, rk);
      qk *= rk;
    }
    store<f64>(q + (<usize>i << 3), qk);
  }
  if (dd == 0) return;
  const ld = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const x = load<f64>(lam + (<usize>i << 3));
    for (let j = i; j < n; j++) store<f64>(dq + (<usize>j << 3), 0);
    store<f64>(consts, x);
    store<f64>(consts, x, 8);
    for (let k = 0; k < iters; k++) {
      const rowQ = tq + ((<usize>k * <usize>n) << 3), rowR = tr + ((<usize>k * <usize>n) << 3);
      const bqx = beta * load<f64>(rowQ + (<usize>i << 3));
      store<f64>(consts, load<f64>(rowQ + (<usize>i << 3)), 16);
      store<f64>(consts, load<f64>(rowQ + (<usize>i << 3)), 24);
      store<f64>(consts, bqx, 32);
      store<f64>(consts, bqx, 40);
      let j = i;
      for (; j + 2 <= n; j += 2) {
        const o = <usize>j << 3;
        const qy = v128.load(rowQ + o), ry = v128.load(rowR + o), d = v128.load(dq + o);
        const u = f64x2.mul(v128.load(consts), f64x2.add(v128.load(consts, 16), qy));
        const dm = madd64(u, d, f64x2.mul(qy, qy));
        v128.store(dq + o, nmadd64(v128.load(consts, 32), dm, f64x2.mul(d, ry)));
      }
      if (j < n) {
        // The last column alone, through the same lane arithmetic.
        const o = <usize>j << 3;
        const qy = v128.load64_splat(rowQ + o), ry = v128.load64_splat(rowR + o), d = v128.load64_splat(dq + o);
        const u = f64x2.mul(v128.load(consts), f64x2.add(v128.load(consts, 16), qy));
        const dm = madd64(u, d, f64x2.mul(qy, qy));
        store<f64>(dq + o, f64x2.extract_lane(nmadd64(v128.load(consts, 32), dm, f64x2.mul(d, ry)), 0));
      }
    }
    for (let j = i; j < n; j++) {
      const v = load<f64>(dq + (<usize>j << 3));
      store<f64>(dd + <usize>i * ld + (<usize>j << 3), v);
      store<f64>(dd + <usize>j * ld + (<usize>i << 3), v);
    }
  }
}
