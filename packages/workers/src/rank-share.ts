import type { RankGroup } from '@lockstep/core';
import type { RankExchangeTask } from './messages.js';
import type { RankGroupSpec } from './rank-groups.js';

// An eval-mode pass across ranks (docs/design.md, "Across ranks"): each rank computes a contiguous
// share of the pass's blocks, the ranks allgather their shares, and every rank then holds every
// block's results in their own places and combines them as one process does.

/** Where a trainer stands among the ranks of its run: rank `rank` of `size` (0 of 1 alone). */
export interface RankPlace {
  readonly rank: number;
  readonly size: number;
}

/** Blocks a rank computes at most: every rank's share is this long but for the last ones. */
export function blocksPerRank(blocks: number, ranks: number): number {
  return Math.ceil(blocks / ranks);
}

/** The blocks [first, end) of `place`'s rank: empty for ranks past the last block. */
export function rankShare(blocks: number, place: RankPlace): [first: number, end: number] {
  const per = blocksPerRank(blocks, place.size);
  return [Math.min(blocks, place.rank * per), Math.min(blocks, (place.rank + 1) * per)];
}

type Values = Float32Array | Float64Array;

/** The most bytes one allgather sends from a rank: a shared-memory group's slot, or 64 MiB under MPI. */
export function pieceBytes(spec: RankGroupSpec): number {
  return spec.kind === 'shared-memory' ? spec.slotBytes : 2 ** 26;
}

/**
 * Runs on one worker of each rank: packs this rank's units of every field (padded to `perRank`
 * units, as allgather takes equal counts), gathers every rank's, and writes the other ranks' units
 * into their places in `buffer`. Bytes are copied, never added, so the values are those their rank computed.
 */
export function exchangeShares(group: RankGroup, task: RankExchangeTask, maxBytes: number): void {
  const all: Values = task.float64 ? new Float64Array(task.buffer) : new Float32Array(task.buffer);
  const valuesPerUnit = task.fields.reduce((sum, field) => sum + field.width, 0);
  const segment = task.perRank * valuesPerUnit;
  const send = task.float64 ? new Float64Array(segment) : new Float32Array(segment);
  const receive = task.float64 ? new Float64Array(group.size * segment) : new Float32Array(group.size * segment);
  const unitsOf = (rank: number): [number, number] => [Math.min(task.units, rank * task.perRank), Math.min(task.units, (rank + 1) * task.perRank)];
  // Rank r's segment: field after field, perRank units of each.
  const [from, to] = unitsOf(group.rank);
  let at = 0;
  for (const { offset, width } of task.fields) {
    send.set(all.subarray(offset + from * width, offset + to * width), at);
    at += task.perRank * width;
  }
  allgatherInPieces(group, send, receive, Math.max(1, Math.floor(maxBytes / send.BYTES_PER_ELEMENT)));
  for (let rank = 0; rank < group.size; rank++) {
    if (rank === group.rank) continue;
    const [first, end] = unitsOf(rank);
    let at = rank * segment;
    for (const { offset, width } of task.fields) {
      all.set(receive.subarray(at, at + (end - first) * width), offset + first * width);
      at += task.perRank * width;
    }
  }
}

/** `group.allgather(send, receive)`, in pieces of at most `maxValues` a rank. */
export function allgatherInPieces(group: RankGroup, send: Values, receive: Values, maxValues: number): void {
  if (send.length <= maxValues) return group.allgather(send, receive);
  const gathered = send instanceof Float64Array ? new Float64Array(group.size * maxValues) : new Float32Array(group.size * maxValues);
  for (let at = 0; at < send.length; at += maxValues) {
    const piece = send.subarray(at, Math.min(send.length, at + maxValues));
    const pieces = gathered.subarray(0, group.size * piece.length);
    group.allgather(piece, pieces);
    for (let rank = 0; rank < group.size; rank++) receive.set(pieces.subarray(rank * piece.length, (rank + 1) * piece.length), rank * send.length + at);
  }
}
