import { checkInteger, LockstepError } from '../errors.js';
import { foldIn, foldInString, permutation, rootKey } from '../random/key.js';

export interface BatchPlan {
  /** Sample indices of the batch, in order. */
  readonly samples: Uint32Array;
  /** Chunk c covers samples [c * chunkSize, min((c + 1) * chunkSize, samples.length)). */
  readonly chunks: number;
}

/** `lowerChunkSize` ends the message about a chunk larger than the batch: where the caller sets chunkSize. */
export function checkBatching(batchSize: unknown, chunkSize: unknown, lowerChunkSize = 'lower chunkSize'): { batchSize: number; chunkSize: number } {
  const batch = checkInteger('batchSize', batchSize, 1);
  const chunk = checkInteger('chunkSize', chunkSize, 1);
  if (chunk > batch) {
    throw new LockstepError('E_OPTION', `chunkSize (${chunk}) must not exceed batchSize (${batch}); ${lowerChunkSize}`);
  }
  return { batchSize: batch, chunkSize: chunk };
}

/** The keyed order of one epoch's samples: a permutation of (seed, epoch), or 0..n-1 without shuffling. */
export function epochOrder(seed: number, epoch: number, size: number, shuffle: boolean): Uint32Array {
  if (!shuffle) return Uint32Array.from({ length: size }, (_, i) => i);
  return permutation(foldIn(foldInString(rootKey(seed), 'shuffle'), epoch), size);
}

/** Batches of one epoch; the last one is smaller when batchSize does not divide the data. */
export function epochBatches(order: Uint32Array, batchSize: number, chunkSize: number): BatchPlan[] {
  const plans: BatchPlan[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const samples = order.subarray(start, Math.min(start + batchSize, order.length));
    plans.push({ samples, chunks: Math.ceil(samples.length / chunkSize) });
  }
  return plans;
}
