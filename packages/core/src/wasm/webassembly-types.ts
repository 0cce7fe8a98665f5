// The part of the WebAssembly JS API that lockstep's kernels use. Node 20 provides it at run time, but
// neither lib ES2022 nor @types/node 20 declares it, while TypeScript's DOM lib (a consumer's default)
// does: so lockstep declares its own names here instead of adding to the global `WebAssembly`, and
// its published types compile with and without the DOM lib. A real `WebAssembly.Memory` is a
// `WasmMemory` (the types are structural).

/** A compiled module (opaque). */
export interface WasmModule {}

export interface WasmInstanceObject {
  readonly exports: Record<string, unknown>;
}

export interface WasmMemory {
  /** A SharedArrayBuffer when the memory is shared. */
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, unknown>) => WasmInstanceObject;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** The runtime's `WebAssembly` object, typed by the declarations above. */
export const wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
