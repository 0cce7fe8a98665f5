import { LockstepError } from '@lockstep/core';
import { stepLayout } from './layout.js';

/** The 32-bit address space of a WebAssembly memory: a trainer's parameters, optimizer state, chunk gradients and workers' kernel buffers share one. */
export const MEMORY_LIMIT = 2 ** 32;

/** What a trainer's memory holds for a step of `batchSize`, as the step buffer's layout counts it. */
export interface StepSizes {
  readonly paramCount: number;
  readonly chunkSize: number;
  readonly parties: number;
  readonly ranks: number;
  /** Float64 values of one chunk's batch statistics (core's `Model.statisticsSize`). */
  readonly statisticsSize: number;
}

/** Whether a step region for `batchSize` still fits after the `used` bytes of the memory, checked before it grows. */
export function stepFits(used: number, sizes: StepSizes, batchSize: number): boolean {
  return used + stepLayout(sizes.paramCount, batchSize, sizes.chunkSize, sizes.parties, 0, sizes.ranks, sizes.statisticsSize).bytes <= MEMORY_LIMIT;
}

/** The one line for a model too large for a trainer's memory at `batchSize`, naming its size and the settings that would fit. */
export function modelTooLarge(sizes: StepSizes, batchSize: number): LockstepError {
  const chunks = Math.ceil(batchSize / sizes.chunkSize);
  const mib = Math.round((4 * sizes.paramCount) / 2 ** 20);
  const fewer = chunks > 1 ? ` or chunkSize ${batchSize} (one chunk gradient instead of ${chunks})` : '';
  return new LockstepError(
    'E_MEMORY',
    `the model has ${sizes.paramCount} parameters (${mib} MiB of float32), too many to train with batch ${batchSize}, chunkSize ${sizes.chunkSize} and ${sizes.parties} worker${sizes.parties > 1 ? 's' : ''}: ` +
      `its parameters, optimizer state, ${chunks} chunk gradient${chunks > 1 ? 's' : ''} and the workers' kernel buffers must fit in one 4 GiB WebAssembly memory; use smaller layers${fewer}`,
  );
}
