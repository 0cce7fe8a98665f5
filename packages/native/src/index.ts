import { createRequire } from 'node:module';
import { useNativeMatmul, type NativeMatmul } from '@lockstep/core';

// The same path from src/ (tests) and dist/ (everything else): both sit beside native/.
const ADDON = new URL('../native/build/Release/lockstep_native.node', import.meta.url).pathname;

/** Why the native kernels cannot run here, or the kernels. */
export type NativeKernels = { kernels: NativeMatmul } | { unavailable: string };

let loaded: NativeKernels | undefined;

/**
 * Loads the addon once per thread. A missing build, another CPU architecture, or a CPU without
 * AVX-512 or AVX2 with FMA is recorded as the reason, not thrown.
 */
export function loadNativeKernels(): NativeKernels {
  if (loaded === undefined) {
    try {
      const addon = createRequire(import.meta.url)(ADDON) as NativeMatmul;
      loaded = addon.isa === 'none' ? { unavailable: 'this CPU has neither AVX-512 nor AVX2 with FMA' } : { kernels: addon };
    } catch (error) {
      loaded = { unavailable: `the addon is not built or does not load here (${String((error as Error).message).split('\n')[0]})` };
    }
  }
  return loaded;
}

/**
 * Runs the calling thread's matrix products on the native kernels where they can run, and returns
 * their instruction set ('avx512', 'avx2'); returns null, changing nothing, where they cannot. The
 * bits are those of the WebAssembly kernels either way.
 */
export function useNativeKernels(): string | null {
  const native = loadNativeKernels();
  if (!('kernels' in native)) return null;
  useNativeMatmul(native.kernels);
  return native.kernels.isa;
}
