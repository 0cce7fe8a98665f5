import { setFlagsFromString } from 'node:v8';
import { checkChoice } from '../errors.js';
import { WASM_BASE64 as RELAXED_WASM } from './wasm/matmul-relaxed.generated.js';
import { WASM_BASE64 as STRICT_WASM } from './wasm/matmul.generated.js';
import { vectorFloats, WasmInstance } from './wasm-instance.js';

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

/**
 * The matrix-product kernels. 'strict' multiplies then adds, rounding twice, so it gives the same
 * bits on every CPU. 'relaxed' uses WebAssembly's relaxed fused multiply-add: faster, the same bits
 * run to run and thread to thread on one machine, but another CPU may round differently.
 */
export type KernelChoice = 'strict' | 'relaxed';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['strict', 'relaxed'];

/** The names checkpoints record: another kernel family may round differently. */
export const KERNEL_FAMILIES: Readonly<Record<KernelChoice, string>> = {
  strict: 'wasm-simd128-f32-mul-add',
  relaxed: 'wasm-simd128-f32-relaxed-madd',
};

const A_ROWS = 4;
/** The modes of wasm `finish`. */
const FINISH_STORE = 0;
const FINISH_BIAS = 1;
const FINISH_ADD = 2;
const B_COLUMNS = 8;

type KernelFunction = (...args: number[]) => void;

class SimdKernel {
  private readonly instance: WasmInstance;
  private readonly multiply: KernelFunction;
  private readonly packPanels: KernelFunction;
  private readonly finish: KernelFunction;

  constructor(binary: string) {
    this.instance = new WasmInstance(binary);
    this.multiply = this.instance.exports.matmul as KernelFunction;
    this.packPanels = this.instance.exports.pack as KernelFunction;
    this.finish = this.instance.exports.finish as KernelFunction;
  }

  /** Float offsets of consecutive regions of the given sizes, and the memory holding them. */
  private regions(sizes: number[]): { offsets: number[]; floats: Float32Array } {
    const offsets: number[] = [];
    let total = 0;
    for (const size of sizes) {
      offsets.push(total);
      total += vectorFloats(size);
    }
    return { offsets, floats: this.instance.floatsFor(total) };
  }

  /**
   * Copies both operands into the kernel's memory, packs them into panels there (wasm `pack`),
   * multiplies (wasm `matmul`), adds the bias or the previous output (wasm `finish`), and copies the
   * product out.
   */
  product(a: MatrixView, b: MatrixView, m: number, k: number, n: number, out: Float32Array, bias: Float32Array | null, accumulate: boolean): void {
    const mPadded = Math.ceil(m / A_ROWS) * A_ROWS;
    const nPadded = Math.ceil(n / B_COLUMNS) * B_COLUMNS;
    const {
      offsets: [rawA, rawB, packedA, packedB, c, result, biasAt],
      floats: f,
    } = this.regions([a.data.length, b.data.length, mPadded * k, nPadded * k, mPadded * nPadded, m * n, bias === null ? 0 : n]);
    f.set(a.data, rawA);
    f.set(b.data, rawB);
    this.packPanels(4 * rawA, m, k, A_ROWS, a.rowStride, a.colStride, 4 * packedA);
    this.packPanels(4 * rawB, n, k, B_COLUMNS, b.colStride, b.rowStride, 4 * packedB);
    this.multiply(4 * packedA, 4 * packedB, 4 * c, mPadded, k, nPadded);
    if (accumulate) f.set(out.subarray(0, m * n), result);
    if (bias !== null) f.set(bias.subarray(0, n), biasAt);
    const mode = accumulate ? FINISH_ADD : bias !== null ? FINISH_BIAS : FINISH_STORE;
    this.finish(4 * c, nPadded, m, n, 4 * result, 4 * biasAt, mode);
    out.set(f.subarray(result, result + m * n));
  }
}

let choice: KernelChoice = 'strict';
const kernels = new Map<KernelChoice, SimdKernel>();

/**
 * Selects the matrix-product kernel of the calling thread (default 'strict'). Every thread that
 * computes a model's numbers must use the same one: the trainers see to it for their threads.
 */
export function useKernel(kernel: KernelChoice): void {
  choice = checkChoice('kernel', kernel, KERNEL_CHOICES);
}

export function activeKernel(): KernelChoice {
  return choice;
}

function kernelOf(kernel: KernelChoice): SimdKernel {
  let instance = kernels.get(kernel);
  if (instance === undefined) {
    // Node 20 ships relaxed SIMD behind a flag; it must be on before the module compiles.
    if (kernel === 'relaxed') setFlagsFromString('--experimental-wasm-relaxed-simd');
    instance = new SimdKernel(kernel === 'relaxed' ? RELAXED_WASM : STRICT_WASM);
    kernels.set(kernel, instance);
  }
  return instance;
}

/**
 * out (m x n) = A (m x k) B (k x n) (+ bias), or out += A B with `accumulate`, on the thread's
 * selected kernel. One kernel instance per thread and family.
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
  kernelOf(choice).product(a, b, m, k, n, out, options.bias ?? null, options.accumulate ?? false);
}

let columnSums = new Float64Array(0);

/**
 * out[j] += sum_i g[i, j]: the bias gradient. Each column's sum runs over i in order in float64; the
 * rows are read one after another, so all columns are summed side by side.
 */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  if (columnSums.length < n) columnSums = new Float64Array(n);
  const sums = columnSums;
  sums.fill(0, 0, n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) sums[j] += g[row + j];
  }
  for (let j = 0; j < n; j++) out[j] += sums[j];
}
