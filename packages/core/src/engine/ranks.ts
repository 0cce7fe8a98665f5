import type { Range } from './party.js';

/**
 * The processes of a run (ranks), as a cross-process transport joins them: the one collective a step
 * needs. `allgather` is blocking and takes every rank's `send`, in rank order, into `receive`
 * (ranks x send.length values). An MPI world is one (@lockstep/mpi); so are several trainers of one
 * process joined in shared memory.
 */
export interface RankGroup {
  readonly rank: number;
  readonly size: number;
  allgather(send: Float32Array | Float64Array, receive: Float32Array | Float64Array): void;
}

/**
 * The chunks of a block, a power of two: the smallest that gives every rank at most one block. A
 * block starting at a multiple of its size is a subtree of the pairwise tree over chunk index, so its
 * rank's partial sum is a node of that tree, whatever the number of ranks (docs/design.md).
 */
export function chunksPerBlock(chunks: number, ranks: number): number {
  let size = 1;
  while (size * ranks < chunks) size *= 2;
  return size;
}

/** Blocks holding chunks: ranks past them have none in this step. */
export function blockCount(chunks: number, ranks: number): number {
  return Math.ceil(chunks / chunksPerBlock(chunks, ranks));
}

/** The chunks [from, to) of rank `rank`'s block; empty for a rank without one. */
export function rankBlock(chunks: number, rank: number, ranks: number): Range {
  const size = chunksPerBlock(chunks, ranks);
  return [Math.min(chunks, rank * size), Math.min(chunks, (rank + 1) * size)];
}
