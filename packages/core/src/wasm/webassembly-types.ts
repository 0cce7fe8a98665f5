// The part of the WebAssembly JS API that lockstep's kernels use. Node 20 provides it at run time, but
// neither lib ES2022 nor @types/node 20 declares it.
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports: Record<string, unknown>);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
      /** A SharedArrayBuffer when the memory is shared. */
      readonly buffer: ArrayBuffer;
      grow(pages: number): number;
    }
  }
}

export {};
