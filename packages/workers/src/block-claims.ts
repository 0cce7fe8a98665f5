/**
 * Rows [0, rows) cut into blocks of `blockRows`, which workers claim one at a time from a shared
 * counter: one task per worker covers every block, and a worker that runs faster takes more blocks.
 * Each block's result lands in its own place, so which worker computed it changes nothing.
 */
export interface BlockClaims {
  /** One Int32: the next block to claim. */
  readonly claims: SharedArrayBuffer;
  readonly rows: number;
  readonly blockRows: number;
}

export function blockClaims(rows: number, blockRows: number): BlockClaims {
  return { claims: new SharedArrayBuffer(4), rows, blockRows };
}

export function blockCount(blocks: BlockClaims): number {
  return Math.ceil(blocks.rows / blocks.blockRows);
}

/** Runs `work` on each block this thread claims until none is left. */
export function forEachClaimedBlock(blocks: BlockClaims, work: (from: number, to: number, block: number) => void): void {
  const next = new Int32Array(blocks.claims);
  for (let block = Atomics.add(next, 0, 1); block < blockCount(blocks); block = Atomics.add(next, 0, 1)) {
    const from = block * blocks.blockRows;
    work(from, Math.min(from + blocks.blockRows, blocks.rows), block);
  }
}
