import { setFlagsFromString } from 'node:v8';
import { checkChoice, LockstepError } from '../errors.js';
import { WASM_BASE64 as RELAXED_SHARED_WASM } from '../wasm/matmul-relaxed-shared.generated.js';
import { WASM_BASE64 as RELAXED_WASM } from '../wasm/matmul-relaxed.generated.js';
import { WASM_BASE64 as STRICT_SHARED_WASM } from '../wasm/matmul-shared.generated.js';
import { WASM_BASE64 as STRICT_WASM } from '../wasm/matmul.generated.js';
import { currentKernelMemory, inKernelMemory, kernelMemoryVersion } from '../wasm/kernel-memory.js';
import { vectorFloats, WasmInstance } from '../wasm/instance.js';
import type { WasmMemory } from '../wasm/webassembly-types.js';

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

/**
 * A matrix-product kernel outside WebAssembly with the same bits (@lockstep/native's, on x86-64
 * vector units): `pack` and `matmul` take the WebAssembly kernel's own arguments (byte offsets,
 * sizes, strides) after `memory`, the whole kernel memory as floats; `matmul` with `fused` sums
 * as the relaxed kernel does, and with `carry` goes on from the sums C holds.
 */
export interface NativeMatmul {
  /** The instruction set it runs on, for reports ('avx512', 'avx2'). */
  readonly isa: string;
  matmul(memory: Float32Array, a: number, b: number, c: number, m: number, k: number, n: number, fused: boolean, carry: boolean): void;
  pack(memory: Float32Array, src: number, lines: number, k: number, width: number, lineStride: number, stepStride: number, dst: number): void;
}

let native: NativeMatmul | null = null;

/**
 * Runs the calling thread's matrix products on `kernel` instead of the WebAssembly one (null: back to
 * WebAssembly). The bits are the same, so threads may differ in this; @lockstep/native's
 * `useNativeKernels` calls it.
 */
export function useNativeMatmul(kernel: NativeMatmul | null): void {
  native = kernel;
}

/** The instruction set of the calling thread's native matrix kernel, or null when it runs WebAssembly's. */
export function nativeMatmulIsa(): string | null {
  return native?.isa ?? null;
}

const A_ROWS = 4;
/** The modes of wasm `finish`. */
const FINISH_STORE = 0;
const FINISH_BIAS = 1;
const FINISH_ADD = 2;
const B_COLUMNS = 8;

/** `size` rounded up to a multiple of the kernel's `block` (its rows or columns). */
const padded = (size: number, block: number): number => Math.ceil(size / block) * block;

type KernelFunction = (...args: number[]) => void;

class SimdKernel {
  private readonly instance: WasmInstance;
  private readonly multiply: KernelFunction;
  private readonly packPanels: KernelFunction;
  private readonly finish: KernelFunction;
  /** Parameters packed while they are fixed: per buffer, per view and shape, their panels' float offset from the scratch's start. */
  private keptPanels = new WeakMap<ArrayBufferLike, Map<string, number>>();
  /** Floats the kept panels take at the scratch's start, and where the scratch started when they were packed. */
  private keptFloats = 0;
  private keptAt = -1;

  private readonly fused: boolean;

  constructor(kernel: KernelChoice, sharedMemory: WasmMemory | null) {
    this.instance = new WasmInstance(BINARIES[kernel][sharedMemory === null ? 'own' : 'shared'], 'a matrix kernel scratch', sharedMemory);
    this.fused = kernel === 'relaxed';
    this.multiply = this.instance.exports.matmul as KernelFunction;
    this.packPanels = this.instance.exports.pack as KernelFunction;
    this.finish = this.instance.exports.finish as KernelFunction;
  }

  /**
   * Packs both operands into panels in the kernel's scratch (wasm `pack`), multiplies (wasm
   * `matmul`), and adds the bias or the previous output (wasm `finish`). An operand or output in
   * the kernel's shared memory (`useKernelMemory`) is read or written where it is; any other is
   * copied in or out of the scratch. With `keepB`, B's panels stay at the scratch's start for the
   * next product with the same B, until `forgetKeptPanels`. With `running`, `out` holds running sums
   * (`runningProduct`), which the kernel starts ('first') or goes on from ('carried').
   */
  product(
    a: MatrixView,
    b: MatrixView,
    m: number,
    k: number,
    n: number,
    out: Float32Array,
    bias: Float32Array | null,
    accumulate: boolean,
    keepB: boolean,
    running: 'first' | 'carried' | null,
  ): void {
    const mPadded = padded(m, A_ROWS);
    const nPadded = padded(n, B_COLUMNS);
    const aInPlace = inKernelMemory(a.data);
    const bInPlace = inKernelMemory(b.data);
    const outInPlace = inKernelMemory(out);
    const biasInPlace = bias !== null && inKernelMemory(bias);
    const bKey = keepB ? `${b.data.byteOffset} ${b.data.length} ${b.rowStride} ${b.colStride} ${n} ${k}` : null;
    const keptB = bKey === null ? undefined : this.keptPanels.get(b.data.buffer)?.get(bKey);
    const bPanelFloats = vectorFloats(nPadded * k);
    // Float offsets within the scratch, laid end to end after the kept panels (B's own, when it is
    // kept for the first time); a region is empty when its array is used in place or its panels are kept.
    const rawA = this.keptFloats + (bKey !== null && keptB === undefined ? bPanelFloats : 0);
    const rawB = rawA + (aInPlace ? 0 : vectorFloats(a.data.length));
    const packedA = rawB + (bInPlace || keptB !== undefined ? 0 : vectorFloats(b.data.length));
    const packedB = packedA + vectorFloats(mPadded * k);
    // A product that is stored as it is, with no padding, goes straight into an output in place, as
    // running sums (padded already) do.
    const direct = outInPlace && (running !== null || (!accumulate && bias === null && m === mPadded && n === nPadded));
    const c = packedB + (bKey === null ? bPanelFloats : 0);
    const result = c + (direct ? 0 : vectorFloats(mPadded * nPadded));
    const biasOffset = result + (outInPlace ? 0 : vectorFloats(m * n));
    const f = this.instance.floatsFor(biasOffset + (bias === null || biasInPlace ? 0 : vectorFloats(n)));
    const at = this.instance.scratchStart;
    if (at !== this.keptAt) {
      // A shared memory gave the scratch a larger region elsewhere; the kept panels stayed behind.
      this.keptAt = at;
      if (this.keptFloats > 0) {
        this.forgetKeptPanels();
        this.product(a, b, m, k, n, out, bias, accumulate, keepB, running);
        return;
      }
    }
    if (!aInPlace) f.set(a.data, at + rawA);
    this.pack(aInPlace ? a.data.byteOffset : 4 * (at + rawA), m, k, A_ROWS, a.rowStride, a.colStride, 4 * (at + packedA));
    let bPanels = at + (keptB ?? packedB);
    if (keptB === undefined) {
      if (bKey !== null) {
        bPanels = at + this.keptFloats;
        this.keepPanels(b.data.buffer, bKey, bPanelFloats);
      }
      if (!bInPlace) f.set(b.data, at + rawB);
      this.pack(bInPlace ? b.data.byteOffset : 4 * (at + rawB), n, k, B_COLUMNS, b.colStride, b.rowStride, 4 * bPanels);
    }
    const carry = running === 'carried';
    if (direct) {
      this.multiplyPanels(4 * (at + packedA), 4 * bPanels, out.byteOffset, mPadded, k, nPadded, carry);
      return;
    }
    const sums = mPadded * nPadded;
    if (carry) f.set(out.subarray(0, sums), at + c);
    this.multiplyPanels(4 * (at + packedA), 4 * bPanels, 4 * (at + c), mPadded, k, nPadded, carry);
    if (running !== null) {
      out.set(f.subarray(at + c, at + c + sums));
      return;
    }
    if (accumulate && !outInPlace) f.set(out.subarray(0, m * n), at + result);
    if (bias !== null && !biasInPlace) f.set(bias.subarray(0, n), at + biasOffset);
    const mode = accumulate ? FINISH_ADD : bias !== null ? FINISH_BIAS : FINISH_STORE;
    const biasAt = bias === null ? 0 : biasInPlace ? bias.byteOffset : 4 * (at + biasOffset);
    this.finish(4 * (at + c), nPadded, m, n, outInPlace ? out.byteOffset : 4 * (at + result), biasAt, mode);
    if (!outInPlace) out.set(f.subarray(at + result, at + result + m * n));
  }

  private pack(src: number, lines: number, k: number, width: number, lineStride: number, stepStride: number, dst: number): void {
    if (native === null) this.packPanels(src, lines, k, width, lineStride, stepStride, dst);
    else native.pack(this.instance.wholeMemory(), src, lines, k, width, lineStride, stepStride, dst);
  }

  private multiplyPanels(a: number, b: number, c: number, m: number, k: number, n: number, carry: boolean): void {
    if (native === null) this.multiply(a, b, c, m, k, n, carry ? 1 : 0);
    else native.matmul(this.instance.wholeMemory(), a, b, c, m, k, n, this.fused, carry);
  }

  forgetKeptPanels(): void {
    this.keptPanels = new WeakMap();
    this.keptFloats = 0;
  }

  private keepPanels(buffer: ArrayBufferLike, key: string, floats: number): void {
    let kept = this.keptPanels.get(buffer);
    if (kept === undefined) {
      kept = new Map();
      this.keptPanels.set(buffer, kept);
    }
    kept.set(key, this.keptFloats);
    this.keptFloats += floats;
  }
}

/** Each kernel family with its own memory, and working in an imported shared memory. */
const BINARIES: Readonly<Record<KernelChoice, { own: string; shared: string }>> = {
  strict: { own: STRICT_WASM, shared: STRICT_SHARED_WASM },
  relaxed: { own: RELAXED_WASM, shared: RELAXED_SHARED_WASM },
};

let choice: KernelChoice = 'strict';
/** The thread's kernel instances, in the kernel memory of version `kernelsVersion`. */
const kernels = new Map<KernelChoice, SimdKernel>();
let kernelsVersion = kernelMemoryVersion();

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

let parametersFixed = 0;

/**
 * Runs `work` with the model parameters fixed: nothing changes them until it returns (evaluate,
 * predict, Monte Carlo dropout). Meanwhile a product whose B is a parameter (`bIsParameter`) packs it
 * into the kernel's panels once, not once per batch. The bits are the same: packing only moves values.
 */
export function withParametersFixed<T>(work: () => T): T {
  parametersFixed++;
  try {
    return work();
  } finally {
    if (--parametersFixed === 0) for (const kernel of kernels.values()) kernel.forgetKeptPanels();
  }
}

function kernelOf(kernel: KernelChoice): SimdKernel {
  if (kernelsVersion !== kernelMemoryVersion()) {
    kernels.clear();
    kernelsVersion = kernelMemoryVersion();
  }
  let instance = kernels.get(kernel);
  if (instance === undefined) {
    // Node 20 ships relaxed SIMD behind a flag; it must be on before the module compiles.
    if (kernel === 'relaxed') setFlagsFromString('--experimental-wasm-relaxed-simd');
    instance = new SimdKernel(kernel, currentKernelMemory());
    kernels.set(kernel, instance);
  }
  return instance;
}

/**
 * out (m x n) = A (m x k) B (k x n) (+ bias), or out += A B with `accumulate`, on the thread's
 * selected kernel. One kernel instance per thread and family. `bIsParameter` says B is a view of the
 * model's parameters, whose panels `withParametersFixed` lets the kernel keep.
 */
export function matmul(
  a: MatrixView,
  b: MatrixView,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
  options: { bias?: Float32Array | null; accumulate?: boolean; bIsParameter?: boolean } = {},
): void {
  const keepB = parametersFixed > 0 && options.bIsParameter === true;
  kernelOf(choice).product(a, b, m, k, n, out, options.bias ?? null, options.accumulate ?? false, keepB, null);
}

/** The floats that the running sums of an m x n product take: its rows and columns padded to the kernel's blocks. */
export function runningSumsLength(m: number, n: number): number {
  return padded(m, A_ROWS) * padded(n, B_COLUMNS);
}

/**
 * A product summed over its k steps in parts: sums += A B over the next range of steps, with A
 * (m x k) and B (k x n) that range's columns and rows. Every element's float32 sum goes on in the
 * kernel's own order, so that the parts, taken in order, give the bits of one product over all the
 * steps. `first` starts the sums at zero. `sums` holds `runningSumsLength(m, n)` floats, its rows
 * padded; `addRunningSums` adds them into an output as `matmul` with `accumulate` adds a product.
 */
export function runningProduct(a: MatrixView, b: MatrixView, m: number, k: number, n: number, sums: Float32Array, first: boolean): void {
  if (sums.length < runningSumsLength(m, n)) {
    throw new LockstepError('E_SHAPE', `running product: ${m} x ${n} sums take ${runningSumsLength(m, n)} floats, got ${sums.length}; size them with runningSumsLength`);
  }
  kernelOf(choice).product(a, b, m, k, n, sums, null, false, false, first ? 'first' : 'carried');
}

/** out (m x n) += the running sums of a product (`runningProduct`), each element in float32. */
export function addRunningSums(sums: Float32Array, m: number, n: number, out: Float32Array): void {
  const width = padded(n, B_COLUMNS);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = Math.fround(out[i * n + j] + sums[i * width + j]);
  }
}
