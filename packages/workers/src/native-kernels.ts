/**
 * Runs the calling thread's matrix products on @lockstep/native's kernels where that optional peer is
 * installed and can run here, and returns their instruction set; null, changing nothing, elsewhere.
 * The bits are the WebAssembly kernels' either way, so a worker that cannot load them still agrees.
 */
export async function useNativeKernelsIfInstalled(): Promise<string | null> {
  try {
    const { useNativeKernels } = await import('@lockstep/native');
    return useNativeKernels();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes("'@lockstep/native'")) return null;
    throw error;
  }
}

/** Whether trainers use the native kernels unless told (`nativeKernels`): yes, unless LOCKSTEP_NATIVE_KERNELS=0. */
export function nativeKernelsByDefault(): boolean {
  return process.env.LOCKSTEP_NATIVE_KERNELS !== '0';
}
