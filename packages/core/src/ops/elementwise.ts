import { LockstepError } from '../errors.js';
import { WASM_BASE64 } from './wasm/elementwise.generated.js';
import { vectorFloats, WasmInstance } from './wasm-instance.js';

/**
 * The element-wise passes of ReLU and dropout, and the bias gradient's column sums, on the SIMD
 * kernels of wasm/elementwise.wat, one instance per thread: operands are copied in, the result out.
 * Same bits as the scalar definitions in the comments. x's length is the number of values; y and out
 * may be longer.
 */
type Pass = (...addresses: number[]) => void;

class ElementwiseKernel {
  private readonly instance = new WasmInstance(WASM_BASE64);
  readonly relu = this.instance.exports.relu as Pass;
  readonly reluBackward = this.instance.exports.reluBackward as Pass;
  readonly multiply = this.instance.exports.multiply as Pass;
  private readonly columnSums = this.instance.exports.addColumnSums as Pass;

  /** Copies x (and y) to the kernel's memory, runs the pass, copies its result to out. */
  run(pass: Pass, out: Float32Array, x: Float32Array, y: Float32Array | null): void {
    const n = x.length;
    if (out.length < n || (y !== null && y.length < n)) {
      throw new LockstepError('E_SHAPE', `element-wise pass: ${n} values but an operand or the output holds fewer; give arrays of equal length`);
    }
    const stride = vectorFloats(n);
    const floats = this.instance.floatsFor(3 * stride);
    floats.set(x, 0);
    if (y === null) pass(0, 4 * 2 * stride, n);
    else {
      floats.set(y.length === n ? y : y.subarray(0, n), stride);
      pass(0, 4 * stride, 4 * 2 * stride, n);
    }
    out.set(floats.subarray(2 * stride, 2 * stride + n));
  }

  addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
    if (g.length < m * n || out.length < n) {
      throw new LockstepError('E_SHAPE', `column sums: a ${m} x ${n} gradient and ${n} sums, but an operand holds fewer values; give arrays of those lengths`);
    }
    const outAt = vectorFloats(m * n);
    const sumsAt = outAt + vectorFloats(n);
    const floats = this.instance.floatsFor(sumsAt + 2 * n);
    floats.set(g.subarray(0, m * n), 0);
    floats.set(out.subarray(0, n), outAt);
    this.columnSums(0, m, n, 4 * sumsAt, 4 * outAt);
    out.set(floats.subarray(outAt, outAt + n));
  }
}

let kernel: ElementwiseKernel | null = null;

function elementwise(): ElementwiseKernel {
  kernel ??= new ElementwiseKernel();
  return kernel;
}

/** out[i] = x[i] < 0 ? 0 : x[i]; NaN passes through. */
export function reluInto(x: Float32Array, out: Float32Array): void {
  const k = elementwise();
  k.run(k.relu, out, x, null);
}

/** out[i] = x[i] > 0 ? gradOut[i] : 0. */
export function reluGradientInto(x: Float32Array, gradOut: Float32Array, out: Float32Array): void {
  const k = elementwise();
  k.run(k.reluBackward, out, x, gradOut);
}

/** out[i] = x[i] * y[i] in float32. */
export function multiplyInto(x: Float32Array, y: Float32Array, out: Float32Array): void {
  const k = elementwise();
  k.run(k.multiply, out, x, y);
}

/**
 * out[j] += sum_i g[i, j], the bias gradient of the m x n output gradient g: each column summed over
 * i in order in float64, then added to the float32 out[j].
 */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  elementwise().addColumnSums(g, m, n, out);
}
