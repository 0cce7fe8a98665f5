import { EVAL_BATCH_SIZE } from '@lockstep/core';
/**
 * Rows of an eval-mode block (inference.ts): evaluate, predict and Monte Carlo dropout claim this many
 * at a time. The reference's batches are as large by default, so batch statistics agree too.
 */
export const INFERENCE_BLOCK = EVAL_BATCH_SIZE;

/**
 * Rows [0, rows) cut into blocks of `blockRows`, which workers claim one at a time from a shared
 * counter: one task per worker covers every block of the share, and a worker that runs faster takes
 * more blocks. Each block's result lands in its own place, so which worker computed it changes nothing.
 */
export interface BlockClaims {
  /** One Int32: the next block to claim, counted from `first`. */
  readonly claims: SharedArrayBuffer;
  readonly rows: number;
  readonly blockRows: number;
  /** The blocks [first, end) this trainer computes: all of them, or its rank's share (rank-share.ts). */
  readonly first: number;
  readonly end: number;
}

export function blockClaims(rows: number, blockRows: number, share?: readonly [first: number, end: number]): BlockClaims {
  const [first, end] = share ?? [0, Math.ceil(rows / blockRows)];
  return { claims: new SharedArrayBuffer(4), rows, blockRows, first, end };
}

/** Blocks this trainer claims. */
export function claimableBlocks(blocks: BlockClaims): number {
  return blocks.end - blocks.first;
}

/** Runs `work` on each block this thread claims until none is left. */
export function forEachClaimedBlock(blocks: BlockClaims, work: (from: number, to: number, block: number) => void): void {
  const next = new Int32Array(blocks.claims);
  for (let block = blocks.first + Atomics.add(next, 0, 1); block < blocks.end; block = blocks.first + Atomics.add(next, 0, 1)) {
    const from = block * blocks.blockRows;
    work(from, Math.min(from + blocks.blockRows, blocks.rows), block);
  }
}
