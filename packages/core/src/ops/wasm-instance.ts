/**
 * A WebAssembly kernel module instantiated with its own memory, which the calling thread copies
 * operands into and results out of. The memory grows to the largest request and stays that size.
 */
export class WasmInstance {
  readonly exports: Record<string, unknown>;
  private readonly memory: WebAssembly.Memory;
  private floats: Float32Array;

  constructor(binaryBase64: string) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(binaryBase64, 'base64')), {});
    this.exports = instance.exports;
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.floats = new Float32Array(this.memory.buffer);
  }

  /** The memory as floats, at least `count` of them. */
  floatsFor(count: number): Float32Array {
    if (count > this.floats.length) {
      this.memory.grow(Math.ceil((count * 4 - this.memory.buffer.byteLength) / 65536));
      this.floats = new Float32Array(this.memory.buffer);
    }
    return this.floats;
  }
}

/** Floats rounded up to whole 16-byte vectors, so regions laid end to end stay aligned. */
export function vectorFloats(count: number): number {
  return Math.ceil(count / 4) * 4;
}
