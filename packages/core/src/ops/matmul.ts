/**
 * Matrix products for dense layers, row-major over Float32Array storage with float64 accumulation.
 * All three products of a layer (X W^T, G^T X, G W) run through one dot-product kernel over
 * transposed copies: contiguous inner loops are what V8 compiles well. Each output element is summed
 * in one fixed order, so the same inputs give the same bits on every thread.
 */

/**
 * out[i, j] (+)= sum_p a[i, p] * b[j, p] (+ bias[j]): a is m x k, b is n x k, out is m x n.
 * With `accumulate`, the sum is added to what `out` holds instead of replacing it.
 */
export function matmulTransposedB(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
  bias: Float32Array | null = null,
  accumulate = false,
): void {
  const evenN = n & ~1;
  for (let i = 0; i + 1 < m; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    const o0 = i * n;
    const o1 = o0 + n;
    for (let j = 0; j < evenN; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0; s01 += x0 * y1; s10 += x1 * y0; s11 += x1 * y1;
      }
      store(out, o0 + j, s00, bias, j, accumulate);
      store(out, o0 + j + 1, s01, bias, j + 1, accumulate);
      store(out, o1 + j, s10, bias, j, accumulate);
      store(out, o1 + j + 1, s11, bias, j + 1, accumulate);
    }
    for (let j = evenN; j < n; j++) {
      store(out, o0 + j, dot(a, a0, b, j * k, k), bias, j, accumulate);
      store(out, o1 + j, dot(a, a1, b, j * k, k), bias, j, accumulate);
    }
  }
  if (m & 1) {
    const i = m - 1;
    for (let j = 0; j < n; j++) store(out, i * n + j, dot(a, i * k, b, j * k, k), bias, j, accumulate);
  }
}

function store(out: Float32Array, at: number, sum: number, bias: Float32Array | null, j: number, accumulate: boolean): void {
  const value = bias === null ? sum : sum + bias[j];
  out[at] = accumulate ? out[at] + value : value;
}

function dot(a: Float32Array, aAt: number, b: Float32Array, bAt: number, k: number): number {
  let sum = 0;
  for (let p = 0; p < k; p++) sum += a[aAt + p] * b[bAt + p];
  return sum;
}

/** out (cols x rows) = the transpose of src (rows x cols). */
export function transpose(src: Float32Array, rows: number, cols: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[at + c];
  }
  return out;
}

/** out[j] += sum_i g[i, j]: the bias gradient. */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += g[i * n + j];
    out[j] += sum;
  }
}
