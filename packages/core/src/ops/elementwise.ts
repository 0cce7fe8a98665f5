import { LockstepError } from '../errors.js';
import { currentKernelMemory, inKernelMemory, kernelMemoryVersion } from '../wasm/kernel-memory.js';
import { WASM_BASE64 as SHARED_WASM } from '../wasm/elementwise-shared.generated.js';
import { WASM_BASE64 } from '../wasm/elementwise.generated.js';
import { vectorFloats, WasmInstance } from '../wasm/instance.js';
import type { WasmMemory } from '../wasm/webassembly-types.js';

/**
 * The element-wise passes of ReLU and dropout, and the bias gradient's column sums, on the SIMD
 * kernels of wasm/elementwise.wat, one instance per thread. An operand or output in the thread's
 * kernel memory (`useKernelMemory`) is read or written where it is; any other is copied in or out.
 * Same bits as the scalar definitions in the comments. x's length is the number of values; y and out
 * may be longer.
 */
type Pass = (...addresses: number[]) => void;

class ElementwiseKernel {
  private readonly instance: WasmInstance;
  readonly relu: Pass;
  readonly reluBackward: Pass;
  readonly multiply: Pass;
  private readonly columnSums: Pass;
  private readonly runs: Pass;

  constructor(sharedMemory: WasmMemory | null) {
    this.instance = new WasmInstance(sharedMemory === null ? WASM_BASE64 : SHARED_WASM, 'an element-wise kernel scratch', sharedMemory);
    this.relu = this.instance.exports.relu as Pass;
    this.reluBackward = this.instance.exports.reluBackward as Pass;
    this.multiply = this.instance.exports.multiply as Pass;
    this.columnSums = this.instance.exports.addColumnSums as Pass;
    this.runs = this.instance.exports.multiplyRuns as Pass;
  }

  /**
   * Runs the pass over x (and y, of `yLength` values) into out, copying in and out what is not in the
   * kernel memory; `extra` is one more argument after the value count, for the passes that take one.
   */
  run(pass: Pass, out: Float32Array, x: Float32Array, y: Float32Array | null, yLength = x.length, extra?: number): void {
    const n = x.length;
    if (out.length < n || (y !== null && y.length < yLength)) {
      throw new LockstepError('E_SHAPE', `element-wise pass: ${n} values but an operand or the output holds fewer; give arrays of equal length`);
    }
    const xInPlace = inKernelMemory(x);
    const yInPlace = y === null || inKernelMemory(y);
    const outInPlace = inKernelMemory(out);
    // Float offsets within the scratch; a region is empty when its array is used in place.
    const yAt = xInPlace ? 0 : vectorFloats(n);
    const outAt = yAt + (yInPlace ? 0 : vectorFloats(yLength));
    const floats = this.instance.floatsFor(outAt + (outInPlace ? 0 : vectorFloats(n)));
    const at = this.instance.scratchStart;
    if (!xInPlace) floats.set(x, at);
    if (y !== null && !yInPlace) floats.set(y.length === yLength ? y : y.subarray(0, yLength), at + yAt);
    const xAddress = xInPlace ? x.byteOffset : 4 * at;
    const outAddress = outInPlace ? out.byteOffset : 4 * (at + outAt);
    if (y === null) pass(xAddress, outAddress, n);
    else if (extra === undefined) pass(xAddress, yInPlace ? y.byteOffset : 4 * (at + yAt), outAddress, n);
    else pass(xAddress, yInPlace ? y.byteOffset : 4 * (at + yAt), outAddress, n, extra);
    if (!outInPlace) out.set(floats.subarray(at + outAt, at + outAt + n));
  }

  multiplyRuns(x: Float32Array, multipliers: Float32Array, run: number, out: Float32Array): void {
    const n = x.length;
    const runs = n / run;
    if (!Number.isInteger(runs) || multipliers.length < runs || out.length < n) {
      throw new LockstepError('E_SHAPE', `run multiply: ${n} values in runs of ${run} need ${runs} multipliers and ${n} outputs, got ${multipliers.length} and ${out.length}`);
    }
    this.run(this.runs, out, x, multipliers, runs, run);
  }

  addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
    if (g.length < m * n || out.length < n) {
      throw new LockstepError('E_SHAPE', `column sums: a ${m} x ${n} gradient and ${n} sums, but an operand holds fewer values; give arrays of those lengths`);
    }
    const gInPlace = inKernelMemory(g);
    const outInPlace = inKernelMemory(out);
    // Float offsets within the scratch: g and out unless in place, then n float64 sums.
    const outAt = gInPlace ? 0 : vectorFloats(m * n);
    const sumsAt = outAt + (outInPlace ? 0 : vectorFloats(n));
    const floats = this.instance.floatsFor(sumsAt + 2 * n);
    const at = this.instance.scratchStart;
    if (!gInPlace) floats.set(g.subarray(0, m * n), at);
    if (!outInPlace) floats.set(out.subarray(0, n), at + outAt);
    this.columnSums(gInPlace ? g.byteOffset : 4 * at, m, n, 4 * (at + sumsAt), outInPlace ? out.byteOffset : 4 * (at + outAt));
    if (!outInPlace) out.set(floats.subarray(at + outAt, at + outAt + n));
  }
}

let kernel: { instance: ElementwiseKernel; memoryVersion: number } | null = null;

/** The thread's instance, in its current kernel memory. */
function elementwise(): ElementwiseKernel {
  if (kernel?.memoryVersion !== kernelMemoryVersion()) kernel = { instance: new ElementwiseKernel(currentKernelMemory()), memoryVersion: kernelMemoryVersion() };
  return kernel.instance;
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

/** out[i] = x[i] * multipliers[floor(i / run)] in float32: one multiplier per run of `run` values. */
export function multiplyRunsInto(x: Float32Array, multipliers: Float32Array, run: number, out: Float32Array): void {
  elementwise().multiplyRuns(x, multipliers, run, out);
}

/**
 * out[j] += sum_i g[i, j], the bias gradient of the m x n output gradient g: each column summed over
 * i in order in float64, then added to the float32 out[j].
 */
export function addColumnSums(g: Float32Array, m: number, n: number, out: Float32Array): void {
  elementwise().addColumnSums(g, m, n, out);
}
