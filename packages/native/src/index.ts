import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { useNativeMatmul, type NativeMatmul } from '@lockstep/core';

// The same path from src/ (tests) and dist/ (everything else): both sit beside native/.
const ADDON = fileURLToPath(new URL('../native/build/Release/lockstep_native.node', import.meta.url));

/** Why the native kernels cannot run here, or the kernels: the widest this CPU has, and every one it has. */
export type NativeKernels = { kernels: NativeMatmul; variants: readonly NativeMatmul[] } | { unavailable: string };

let loaded: NativeKernels | undefined;

/**
 * Loads the addon once per thread. A missing build, another CPU architecture, or a CPU without
 * AVX-512 or AVX2 with FMA is recorded as the reason, not thrown. `variants` lists the kernels of
 * every instruction set the CPU has, widest first (AVX-512, then AVX2), all with the same bits: for
 * tests and benchmarks that compare them.
 */
export function loadNativeKernels(): NativeKernels {
  if (loaded === undefined) {
    try {
      const { variants } = createRequire(import.meta.url)(ADDON) as { variants: NativeMatmul[] };
      loaded = variants.length === 0 ? { unavailable: 'this CPU has neither AVX-512 nor AVX2 with FMA' } : { kernels: variants[0], variants };
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
