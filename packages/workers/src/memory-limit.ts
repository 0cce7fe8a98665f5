import { LockstepError, stateSlots, type Model, type OptimizerConfig } from '@lockstep/core';
import { modelLayout, stepLayout } from './layout.js';

/** The 32-bit address space of a WebAssembly memory: a trainer's parameters, optimizer state, chunk gradients and workers' kernel buffers share one. */
export const MEMORY_LIMIT = 2 ** 32;

/** A WebAssembly memory is a whole number of these pages. */
const WASM_PAGE_BYTES = 65536;

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

/** How a trainer of `model` counts its step buffer: its model's sizes, and how many threads and ranks share each step. */
export function stepSizesOf(model: Model, trainer: { chunkSize: number; workers: number; ranks: number }): StepSizes {
  return { paramCount: model.size, chunkSize: trainer.chunkSize, parties: trainer.workers, ranks: trainer.ranks, statisticsSize: model.statisticsSize };
}

/**
 * The memory a trainer of `model` needs for its first fit, checked before any trainer exists: the
 * parameters and optimizer state, a step region for `batchSize`, and at least one packed copy of the
 * largest parameter tensor per worker (each worker packs a layer's weights into its own matrix-kernel
 * scratch to multiply by them). A caller makes it before it writes what a model too large would leave.
 */
export function checkTrainerMemory(model: Model, trainer: { optimizer: OptimizerConfig; chunkSize: number; workers: number; ranks: number }, batchSize: number): void {
  const sizes = stepSizesOf(model, trainer);
  const modelBytes = modelLayout(model.size, stateSlots(trainer.optimizer), model.buffers.length).bytes;
  const memoryBytes = Math.max(1, Math.ceil(modelBytes / WASM_PAGE_BYTES)) * WASM_PAGE_BYTES;
  const largestTensor = model.entries.reduce((largest, entry) => Math.max(largest, entry.length), 0);
  if (!stepFits(memoryBytes + trainer.workers * 4 * largestTensor, sizes, batchSize)) throw modelTooLarge(sizes, batchSize);
}
