// Parameter initialisation as the reference code (docs/reference-code.md, 'Architecture'):
// torch.nn.init.orthogonal_ with gain 1/sqrt(in) for weights, U(-1/sqrt(in), 1/sqrt(in)) for biases.

import type { Random } from "../engine/random.js";
import { pollInterrupt } from "../engine/interrupt.js";

/**
 * A rows x cols matrix with orthonormal rows or columns (whichever are fewer), times gain.
 * As torch's orthogonal_: QR of a Gaussian matrix (transposed when wide), columns of Q
 * sign-corrected by diag(R) so the distribution is Haar.
 */
export function orthogonal(rows: number, cols: number, gain: number, rand: Random): Float32Array {
  return Float32Array.from(orthogonalF64(rows, cols, gain, rand));
}

/** orthogonal() in full f64 precision. */
export function orthogonalF64(rows: number, cols: number, gain: number, rand: Random): Float64Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols, m = tall ? cols : rows; // Q is n x m with orthonormal columns, n >= m
  // Gram-Schmidt on the m columns of a Gaussian n x m matrix, stored as m contiguous
  // rows of length n so that every inner loop runs over adjacent memory.
  const v = new Float64Array(m * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) v[j * n + i] = rand.normal();
  for (let j = 0; j < m; j++) {
    // Seconds for wide layers, with no op in between: let a Ctrl-C be seen here too.
    pollInterrupt();
    const vj = v.subarray(j * n, (j + 1) * n);
    // Modified Gram-Schmidt: a Gaussian matrix is well conditioned, so one pass
    // is orthogonal to rounding level in f64.
    for (let k = 0; k < j; k++) {
      const vk = v.subarray(k * n, (k + 1) * n);
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vk[i] * vj[i];
      for (let i = 0; i < n; i++) vj[i] -= dot * vk[i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += vj[i] * vj[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) vj[i] /= norm;
  }
  // Gram-Schmidt leaves diag(R) positive, which is torch's sign correction, so Q is Haar.
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      const val = gain * v[j * n + i];
      if (tall) out[i * cols + j] = val;
      else out[j * cols + i] = val;
    }
  }
  return out;
}

/** U(-bound, bound). */
export function uniformVector(n: number, bound: number, rand: Random): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand.uniform() - 1) * bound;
  return out;
}
