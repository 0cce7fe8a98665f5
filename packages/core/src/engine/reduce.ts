import { LockstepError } from '../errors.js';
import { NORM_BLOCK, type UpdateAddresses, type UpdateKernel } from '../optim/update-kernel.js';
import { UpdateWorkspace } from '../optim/update-workspace.js';

/**
 * The reduce seam of a step: sums chunk gradient slots 0..chunks-1 into slot 0 over parameters
 * [from, to), in the one fixed order, a pairwise tree over chunk index (docs/design.md). A party of
 * one memory sums them there (`localReduce`); a transport across processes sums its own aligned
 * subtrees locally and combines their partial sums in the same tree.
 */
export interface ChunkReduce {
  sum(chunks: number, from: number, to: number): void;
}

/** Sums the slots where they lie, in the update kernel's memory. */
export function localReduce(kernel: UpdateKernel, at: UpdateAddresses): ChunkReduce {
  return { sum: (chunks, from, to) => kernel.sumSlots(at, chunks, from, to) };
}

/**
 * Reduces parameters [from, to), `from` on a norm block boundary, one norm block at a time, and
 * writes each block's sum of squares to `blockSquares`. Parties' ranges never share a block, so the
 * global norm (`gradientNorm`) has one value whatever the split; a block is squared while it is
 * still in the cache.
 */
export function reduceAndMeasure(
  reduce: ChunkReduce,
  kernel: UpdateKernel,
  at: UpdateAddresses,
  chunks: number,
  [from, to]: readonly [number, number],
  blockSquares: Float64Array,
): void {
  if (from % NORM_BLOCK !== 0) throw new LockstepError('E_OPTION', `reduceAndMeasure: range start ${from} is not a multiple of ${NORM_BLOCK}`);
  for (let start = from; start < to; start += NORM_BLOCK) {
    const end = Math.min(start + NORM_BLOCK, to);
    reduce.sum(chunks, start, end);
    blockSquares[start / NORM_BLOCK] = kernel.sumOfSquares(at, start, end);
  }
}

/**
 * Sums `chunks` gradient slots of `slotSize` values, end to end in `slots`, into slot 0 in the
 * trainers' order, on copies in the update kernel's memory.
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
