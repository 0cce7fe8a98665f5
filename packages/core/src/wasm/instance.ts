import { appendRegion } from './memory.js';
import { wasm, type WasmMemory } from './webassembly-types.js';

/**
 * A WebAssembly kernel module and the scratch space the calling thread copies operands into and
 * results out of. With its own memory, the scratch starts at 0 and the memory grows to the largest
 * request. With an imported shared memory (a trainer's), the scratch is a region this thread appends
 * to that memory, replaced by a larger one when a request does not fit.
 */
export class WasmInstance {
  readonly exports: Record<string, unknown>;
  private readonly memory: WasmMemory;
  private readonly shared: boolean;
  private readonly scratch: string;
  private floats: Float32Array;
  private start = 0;
  private capacity: number;

  /** `scratch` says whose scratch it is ('a matrix kernel scratch'), for the error when it does not fit. */
  constructor(binaryBase64: string, scratch: string, sharedMemory: WasmMemory | null = null) {
    const imports = sharedMemory === null ? {} : { env: { memory: sharedMemory } };
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(binaryBase64, 'base64')), imports);
    this.exports = instance.exports;
    this.shared = sharedMemory !== null;
    this.scratch = scratch;
    this.memory = sharedMemory ?? (instance.exports.memory as WasmMemory);
    this.floats = new Float32Array(this.memory.buffer);
    this.capacity = this.shared ? 0 : this.floats.length;
  }

  /** The float index where this thread's scratch starts; valid until the next `floatsFor`. */
  get scratchStart(): number {
    return this.start;
  }

  /**
   * The whole memory as floats, as it is now: another thread may have grown a shared memory since
   * `floatsFor` last looked, and an operand in place may lie in the part it added.
   */
  wholeMemory(): Float32Array {
    if (this.floats.byteLength !== this.memory.buffer.byteLength) this.floats = new Float32Array(this.memory.buffer);
    return this.floats;
  }

  /** The memory as floats, with at least `count` of them from `scratchStart` on. */
  floatsFor(count: number): Float32Array {
    if (count > this.capacity) {
      if (this.shared) {
        // Twice the request, so a few growing requests do not each leave a region behind.
        const bytes = 8 * count;
        this.start = appendRegion(this.memory, bytes, this.scratch) / 4;
        this.capacity = bytes / 4;
      } else {
        this.memory.grow(Math.ceil((count * 4 - this.memory.buffer.byteLength) / 65536));
        this.capacity = this.memory.buffer.byteLength / 4;
      }
      this.floats = new Float32Array(this.memory.buffer);
    }
    return this.floats;
  }
}

/** Floats rounded up to whole 16-byte vectors, so regions laid end to end stay aligned. */
export function vectorFloats(count: number): number {
  return Math.ceil(count / 4) * 4;
}
