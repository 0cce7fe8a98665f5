import { LockstepError } from '../errors.js';
import { appendRegion } from './memory.js';
import type { WasmMemory } from './webassembly-types.js';

// The calling thread's kernel memory: a shared WebAssembly memory (a trainer's) that its matrix and
// element-wise kernels work inside, reading and writing views of it in place. Without one, each
// kernel has a memory of its own and copies operands in and results out.

let memory: WasmMemory | null = null;
/** Buffers whose views are views of `memory`, so their byte offsets are kernel addresses. */
let buffers = new WeakSet<ArrayBufferLike>();
/** Counts the changes of `memory`: a kernel instantiated before the last one works in the wrong memory. */
let version = 0;

export function currentKernelMemory(): WasmMemory | null {
  return memory;
}

export function kernelMemoryVersion(): number {
  return version;
}

export function inKernelMemory(array: Float32Array): boolean {
  return buffers.has(array.buffer);
}

/**
 * Makes the calling thread's kernels work inside `shared`, a shared WebAssembly memory (a
 * trainer's), with scratch regions they append to it; `sharedBuffers` are the SharedArrayBuffers of
 * that memory whose views (parameters, gradient slots) the kernels then read and write in place
 * instead of copying. More buffers of the same memory can be added later with `addKernelBuffer`.
 * `null` gives the kernels their own memories again.
 */
export function useKernelMemory(shared: WasmMemory | null, sharedBuffers: readonly ArrayBufferLike[] = []): void {
  if (memory !== shared) {
    memory = shared;
    buffers = new WeakSet();
    version++;
  }
  sharedBuffers.forEach(addKernelBuffer);
}

/** Another SharedArrayBuffer of the memory given to `useKernelMemory` (one received in a message, say). */
export function addKernelBuffer(buffer: ArrayBufferLike): void {
  if (memory === null) throw new LockstepError('E_OPTION', 'addKernelBuffer: call useKernelMemory first, with the memory this buffer belongs to');
  buffers.add(buffer);
}

/**
 * `length` zeroed floats where the calling thread's kernels read and write them in place: a new
 * region of the kernel memory when `useKernelMemory` gave one, else an ordinary array.
 */
export function kernelFloats(length: number): Float32Array {
  if (memory === null) return new Float32Array(length);
  const at = appendRegion(memory, 4 * length, 'a layer buffer');
  const floats = new Float32Array(memory.buffer, at, length);
  buffers.add(floats.buffer);
  return floats;
}
