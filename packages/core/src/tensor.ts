import { LockstepError } from './errors.js';
import { kernelFloats } from './wasm/kernel-memory.js';

/**
 * A batch of values: `shape[0]` is the batch size, the rest is the per-sample shape.
 * `data` is row-major and may be a view into a larger buffer owned by a layer; a layer's output is
 * valid until that layer's next `forward`.
 */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new LockstepError(
      'E_SHAPE',
      `tensor: shape [${shape.join(',')}] holds ${sizeOf(shape)} values but the data has ${data.length}`,
    );
  }
  return { data, shape };
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * A growable scratch buffer: layers reuse their output and gradient storage from step to step
 * instead of allocating per batch. In a thread with a kernel memory it lies there, so the kernels
 * read and write it in place.
 */
export class Scratch {
  private buffer: Float32Array = new Float32Array(0);

  take(length: number): Float32Array {
    if (this.buffer.length < length) this.buffer = kernelFloats(length);
    return this.buffer.subarray(0, length);
  }
}
