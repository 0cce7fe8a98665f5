import { UpdateWorkspace } from '../optim/update-workspace.js';

/**
 * Sums `chunks` gradient slots of `slotSize` values, end to end in `slots`, into slot 0 in the one
 * fixed order the trainers use (`UpdateKernel.sumSlots`: a pairwise tree over chunk index), on
 * copies in the update kernel's memory.
 */
export function reduceChunkSlots(slots: Float32Array, slotSize: number, chunks: number): void {
  const scratch = UpdateWorkspace.scratch(slotSize, 0, chunks);
  scratch.slots.set(slots.subarray(0, chunks * slotSize));
  scratch.kernel.sumSlots(scratch.at, chunks, 0, slotSize);
  slots.set(scratch.slots.subarray(0, slotSize));
}

/** The same tree over one float64 value per chunk (loss sums, correct counts). */
export function reduceChunkScalars(values: Float64Array, chunks: number): number {
  for (let stride = 1; stride < chunks; stride *= 2) {
    for (let c = 0; c + stride < chunks; c += 2 * stride) values[c] += values[c + stride];
  }
  return chunks > 0 ? values[0] : 0;
}
