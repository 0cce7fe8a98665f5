/**
 * The three matrix products of a dense layer, row-major, over Float32Array storage with float64
 * accumulation. Each output element is summed in one fixed order, so the same inputs give the same
 * bits on every thread.
 */

/** out[i, j] = sum_p a[i, p] * b[j, p] (+ bias[j]): a is m x k, b is n x k, out is m x n. */
export function matmulTransposedB(
  a: Float32Array,
  b: Float32Array,
  bias: Float32Array | null,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
): void {
  const evenM = m & ~1;
  const evenN = n & ~1;
  for (let i = 0; i < evenM; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    for (let j = 0; j < evenN; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
      }
      const c0 = bias === null ? 0 : bias[j];
      const c1 = bias === null ? 0 : bias[j + 1];
      out[i * n + j] = s00 + c0; out[i * n + j + 1] = s01 + c1;
      out[(i + 1) * n + j] = s10 + c0; out[(i + 1) * n + j + 1] = s11 + c1;
    }
    for (let j = evenN; j < n; j++) {
      out[i * n + j] = dot(a, a0, b, j * k, k) + (bias === null ? 0 : bias[j]);
      out[(i + 1) * n + j] = dot(a, a1, b, j * k, k) + (bias === null ? 0 : bias[j]);
    }
  }
  for (let i = evenM; i < m; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = dot(a, i * k, b, j * k, k) + (bias === null ? 0 : bias[j]);
  }
}

function dot(a: Float32Array, aAt: number, b: Float32Array, bAt: number, k: number): number {
  let sum = 0;
  for (let p = 0; p < k; p++) sum += a[aAt + p] * b[bAt + p];
  return sum;
}

/** out[i, p] = sum_j g[i, j] * w[j, p]: g is m x n, w is n x k, out is m x k. */
export function matmul(g: Float32Array, w: Float32Array, m: number, n: number, k: number, out: Float32Array, row: Float64Array): void {
  for (let i = 0; i < m; i++) {
    row.fill(0, 0, k);
    for (let j = 0; j < n; j++) {
      const gij = g[i * n + j];
      const wAt = j * k;
      for (let p = 0; p < k; p++) row[p] += gij * w[wAt + p];
    }
    const outAt = i * k;
    for (let p = 0; p < k; p++) out[outAt + p] = row[p];
  }
}

/** out[j, p] += sum_i g[i, j] * x[i, p]: g is m x n, x is m x k, out is n x k. */
export function addMatmulTransposedA(
  g: Float32Array,
  x: Float32Array,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
  row: Float64Array,
): void {
  for (let j = 0; j < n; j++) {
    row.fill(0, 0, k);
    for (let i = 0; i < m; i++) {
      const gij = g[i * n + j];
      const xAt = i * k;
      for (let p = 0; p < k; p++) row[p] += gij * x[xAt + p];
    }
    const outAt = j * k;
    for (let p = 0; p < k; p++) out[outAt + p] += row[p];
  }
}

/** out[j] += sum_i g[i, j]: the bias gradient. */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += g[i * n + j];
    out[j] += sum;
  }
}
