// Symmetric results computed as one triangle (SYRK, gemm64's lower mode).

/**
 * Copy the strict lower triangle of the n x n row-major matrix C (T = f32 or
 * f64, ldc in elements) onto its upper triangle, in 16 x 16 tiles: a plain
 * column walk strides by ldc elements, and with a power-of-two row length
 * (512 floats: 2 KiB, 512 doubles: 4 KiB) every element of a column falls
 * into the same one or two L1 sets.
 */
export function mirrorLower<T>(n: i32, c: usize, ldc: i32): void {
  const T = 16;
  const size = <usize>sizeof<T>();
  for (let ib = 0; ib < n; ib += T) {
    const iEnd = min(n, ib + T);
    for (let jb = ib; jb < n; jb += T) {
      const jEnd = min(n, jb + T);
      for (let j = jb; j < jEnd; j++) {
        const src = c + <usize>j * <usize>ldc * size;
        for (let i = ib; i < min(iEnd, j); i++) store<T>(c + (<usize>i * <usize>ldc + <usize>j) * size, load<T>(src + <usize>i * size));
      }
    }
  }
}
