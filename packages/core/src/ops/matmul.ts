import { WASM_BASE64 } from './wasm/matmul.generated.js';

/**
 * Matrix products for dense layers on a WebAssembly SIMD kernel (wasm/matmul.wat). Operands are
 * read through strides, so one call covers X W^T, G^T X and G W without transposing anything: the
 * packing into the kernel's panels does that. Float32 arithmetic, each output summed in one fixed
 * order: the same inputs give the same bits on every thread.
 */

/** Element (r, c) of a matrix is data[r * rowStride + c * colStride]. */
export interface MatrixView {
  readonly data: Float32Array;
  readonly rowStride: number;
  readonly colStride: number;
}

export function rowMajor(data: Float32Array, cols: number): MatrixView {
  return { data, rowStride: cols, colStride: 1 };
}

/** The transpose of a row-major matrix with `cols` columns, as a view. */
export function transposed(data: Float32Array, cols: number): MatrixView {
  return { data, rowStride: 1, colStride: cols };
}

/** The name checkpoints record: another kernel family may round differently. */
export const KERNEL_FAMILY = 'wasm-simd128-f32-mul-add';

const A_ROWS = 4;
const B_COLUMNS = 8;

class SimdKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly run: (a: number, b: number, c: number, m: number, k: number, n: number) => void;
  private floats: Float32Array;

  constructor() {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64')), {});
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.run = instance.exports.matmul as SimdKernel['run'];
    this.floats = new Float32Array(this.memory.buffer);
  }

  /** Float offsets of the packed A, packed B and C regions, growing the memory when needed. */
  private regions(aFloats: number, bFloats: number, cFloats: number): [number, number, number] {
    const total = aFloats + bFloats + cFloats;
    if (total > this.floats.length) {
      const pages = Math.ceil((total * 4 - this.memory.buffer.byteLength) / 65536);
      this.memory.grow(pages);
      this.floats = new Float32Array(this.memory.buffer);
    }
    return [0, aFloats, aFloats + bFloats];
  }

  product(a: MatrixView, b: MatrixView, m: number, k: number, n: number, out: Float32Array, bias: Float32Array | null, accumulate: boolean): void {
    const mPadded = Math.ceil(m / A_ROWS) * A_ROWS;
    const nPadded = Math.ceil(n / B_COLUMNS) * B_COLUMNS;
    const [aAt, bAt, cAt] = this.regions(mPadded * k, nPadded * k, mPadded * nPadded);
    const f = this.floats;
    pack(a, m, k, A_ROWS, f, aAt, true);
    pack(b, n, k, B_COLUMNS, f, bAt, false);
    this.run(4 * aAt, 4 * bAt, 4 * cAt, mPadded, k, nPadded);
    for (let i = 0; i < m; i++) {
      const from = cAt + i * nPadded;
      const to = i * n;
      if (accumulate) for (let j = 0; j < n; j++) out[to + j] += f[from + j];
      else if (bias !== null) for (let j = 0; j < n; j++) out[to + j] = f[from + j] + bias[j];
      else for (let j = 0; j < n; j++) out[to + j] = f[from + j];
    }
  }
}

/**
 * Packs `lines` rows of A (byRows) or columns of B into panels of `width` lines: panel q holds, for
 * each step p < k, the `width` values of lines q*width .. q*width + width - 1 at p (0 past the end).
 */
function pack(view: MatrixView, lines: number, k: number, width: number, out: Float32Array, at: number, byRows: boolean): void {
  const { data } = view;
  const lineStride = byRows ? view.rowStride : view.colStride;
  const stepStride = byRows ? view.colStride : view.rowStride;
  const padded = Math.ceil(lines / width) * width;
  for (let line = 0; line < padded; line++) {
    const panel = at + Math.floor(line / width) * width * k + (line % width);
    if (line >= lines) {
      for (let p = 0; p < k; p++) out[panel + p * width] = 0;
      continue;
    }
    const source = line * lineStride;
    for (let p = 0; p < k; p++) out[panel + p * width] = data[source + p * stepStride];
  }
}

let kernel: SimdKernel | null = null;

/**
 * out (m x n) = A (m x k) B (k x n) (+ bias), or out += A B with `accumulate`. One kernel instance
 * per thread.
 */
export function matmul(
  a: MatrixView,
  b: MatrixView,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
  options: { bias?: Float32Array | null; accumulate?: boolean } = {},
): void {
  kernel ??= new SimdKernel();
  kernel.product(a, b, m, k, n, out, options.bias ?? null, options.accumulate ?? false);
}

/** out[j] += sum_i g[i, j]: the bias gradient. */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += g[i * n + j];
    out[j] += sum;
  }
}
