import { LockstepError } from '../errors.js';
import { currentKernelMemory, inKernelMemory, kernelMemoryVersion } from '../wasm/kernel-memory.js';
import { WASM_BASE64 as SHARED_WASM } from '../wasm/patches-shared.generated.js';
import { WASM_BASE64 } from '../wasm/patches.generated.js';
import { vectorFloats, WasmInstance } from '../wasm/instance.js';
import type { WasmMemory } from '../wasm/webassembly-types.js';

/**
 * The thread's instance of wasm/patches.wat: im2col and col2im, the transposes between NCHW planes
 * and a product's rows, and max pooling. An array in the thread's kernel memory (`useKernelMemory`)
 * is read or written where it is; any other is copied into the kernel's scratch and, when the kernel
 * writes it, back out.
 */
type Pass = (...args: number[]) => void;

/** What a pass does with an array: reads it, writes it, or both (adds into it). */
export type Use = 'read' | 'write' | 'update';

class PatchKernel {
  private readonly instance: WasmInstance;
  private readonly passes: Record<string, Pass>;

  constructor(sharedMemory: WasmMemory | null) {
    this.instance = new WasmInstance(sharedMemory === null ? WASM_BASE64 : SHARED_WASM, 'a patch kernel scratch', sharedMemory);
    this.passes = this.instance.exports as Record<string, Pass>;
  }

  /** Runs pass `name` with the byte addresses of `arrays` (in order), then `sizes`. */
  run(name: string, arrays: ReadonlyArray<readonly [Float32Array, Use]>, sizes: readonly number[]): void {
    // Float offsets within the scratch; an array used in place takes none.
    const offsets: number[] = [];
    let floats = 0;
    for (const [array] of arrays) {
      offsets.push(floats);
      if (!inKernelMemory(array)) floats += vectorFloats(array.length);
    }
    const memory = this.instance.floatsFor(floats);
    const at = this.instance.scratchStart;
    const addresses = arrays.map(([array, use], i) => {
      if (inKernelMemory(array)) return array.byteOffset;
      if (use !== 'write') memory.set(array, at + offsets[i]!);
      return 4 * (at + offsets[i]!);
    });
    const pass = this.passes[name];
    if (pass === undefined) throw new LockstepError('E_SHAPE', `patch kernel: no pass named ${name}`);
    pass(...addresses, ...sizes);
    arrays.forEach(([array, use], i) => {
      if (use !== 'read' && !inKernelMemory(array)) array.set(memory.subarray(at + offsets[i]!, at + offsets[i]! + array.length));
    });
  }
}

let kernel: { instance: PatchKernel; memoryVersion: number } | null = null;

/** Runs a pass of the thread's patch kernel, in its current kernel memory. */
export function runPatchPass(name: string, arrays: ReadonlyArray<readonly [Float32Array, Use]>, sizes: readonly number[]): void {
  if (kernel?.memoryVersion !== kernelMemoryVersion()) kernel = { instance: new PatchKernel(currentKernelMemory()), memoryVersion: kernelMemoryVersion() };
  kernel.instance.run(name, arrays, sizes);
}
