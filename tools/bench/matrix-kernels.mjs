/**
 * Puts the calling thread's matrix products where the trainers put their workers' (@lockstep/native's
 * kernels unless LOCKSTEP_NATIVE_KERNELS=0, where they can run; WebAssembly SIMD otherwise), so a
 * bench's own threads measure what training runs. Returns the line that says which.
 */
import { useNativeKernels } from '../../packages/native/dist/index.js';
import { nativeKernelsByDefault } from '../../packages/workers/dist/modules/native-kernels.js';

export function useTrainersMatrixKernels() {
  const isa = nativeKernelsByDefault() ? useNativeKernels() : null;
  return isa === null ? 'matrix products: WebAssembly SIMD (128-bit)' : `matrix products: @lockstep/native (${isa}), the same bits as WebAssembly's`;
}
