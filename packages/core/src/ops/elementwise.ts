import { LockstepError } from '../errors.js';
import { WASM_BASE64 } from './wasm/elementwise.generated.js';
import { vectorFloats, WasmInstance } from './wasm-instance.js';

/**
 * The element-wise passes of ReLU and dropout on the SIMD kernels of wasm/elementwise.wat, one
 * instance per thread: operands are copied in, the result out. Same bits as the scalar definitions
 * in the comments. x's length is the number of values; y and out may be longer.
 */
type Pass = (...addresses: number[]) => void;

class ElementwiseKernel {
  private readonly instance = new WasmInstance(WASM_BASE64);
  readonly relu = this.instance.exports.relu as Pass;
  readonly reluBackward = this.instance.exports.reluBackward as Pass;
  readonly multiply = this.instance.exports.multiply as Pass;

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
