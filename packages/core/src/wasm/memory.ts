import { LockstepError } from '../errors.js';
import { wasm, type WasmMemory } from './webassembly-types.js';

// Every kernel works inside a WebAssembly memory: one of its own, or a shared one (a trainer's) that
// holds the parameters, optimizer state and gradient slots, with the threads' kernel scratch and layer
// buffers appended as regions. An overflow error names the region that did not fit.

const PAGE = 65536;
/** WebAssembly memories use 32-bit addresses. */
const MAX_PAGES = 65536;

const pages = (bytes: number): number => Math.max(1, Math.ceil(bytes / PAGE));

/**
 * A shared memory of at least `bytes`, able to grow to `maximumBytes` (default: no growth). `region`
 * says what it holds ('the parameters, optimizer state and chunk gradients'), for the overflow error.
 */
export function kernelMemory(bytes: number, region: string, maximumBytes = bytes): WasmMemory {
  if (pages(bytes) > MAX_PAGES) throw memoryTooSmall(region, bytes);
  return new wasm.Memory({ initial: pages(bytes), maximum: Math.min(MAX_PAGES, pages(maximumBytes)), shared: true });
}

/**
 * Grows `memory` by a new region of at least `bytes` and returns the region's byte address; `region`
 * says what it holds ('a matrix kernel scratch'), for the overflow error. A grow is atomic, so threads
 * that append regions to one shared memory never get overlapping ones.
 */
export function appendRegion(memory: WasmMemory, bytes: number, region: string): number {
  try {
    return memory.grow(pages(bytes)) * PAGE;
  } catch {
    throw memoryTooSmall(region, memory.buffer.byteLength + bytes);
  }
}

function memoryTooSmall(region: string, bytes: number): LockstepError {
  return new LockstepError(
    'E_MEMORY',
    `no room for ${region}: the WebAssembly memory would need ${(bytes / 2 ** 30).toFixed(1)} GiB, more than it can hold (4 GiB at most); ` +
      'use a larger chunkSize (fewer gradient slots) or a smaller model',
  );
}
