import { checkInteger, describeValue, LockstepError, type RankGroup } from '@lockstep/core';
import { spinWhile } from './spin.js';

/**
 * Ranks that are trainers of one process, joined in shared memory: the same collective an MPI world
 * gives, for runs and tests on one machine without MPI. Rank r's `allgather` runs on a worker thread
 * of trainer r; the buffer holds a barrier (arrivals, generation), the byte count each rank sent, and
 * one slot of `slotBytes` per rank.
 */
export interface SharedMemoryRanks {
  readonly kind: 'shared-memory';
  readonly buffer: SharedArrayBuffer;
  readonly slotBytes: number;
  readonly rank: number;
  readonly size: number;
}

const HEADER_BYTES = 64;
const ARRIVED = 0;
const GENERATION = 1;
/** After the header, each rank's count of bytes sent, an Int32: ranks that sent different amounts are refused rather than mixed. */
const COUNT_BYTES = 4;
const DEADLINE_MS = 60_000;
const SPIN_MS = 0.2;

/** One group of `size` ranks whose every exchange is at most `slotBytes` per rank: the spec of each rank. */
export function sharedMemoryRanks(size: number, slotBytes: number): SharedMemoryRanks[] {
  const buffer = new SharedArrayBuffer(groupBytes(size, slotBytes));
  return Array.from({ length: size }, (_, rank) => ({ kind: 'shared-memory', buffer, slotBytes, rank, size }));
}

/** Throws E_OPTION unless `spec`'s buffer holds the slots of its `size` ranks, as `sharedMemoryRanks` makes it. */
export function checkSharedMemoryRanks(spec: SharedMemoryRanks): void {
  const slotBytes = checkInteger('ranks.slotBytes', spec.slotBytes, 0);
  const needed = groupBytes(spec.size, slotBytes);
  if (!(spec.buffer instanceof SharedArrayBuffer) || spec.buffer.byteLength < needed) {
    const given = spec.buffer instanceof SharedArrayBuffer ? `a buffer of ${spec.buffer.byteLength} bytes` : describeValue(spec.buffer);
    throw new LockstepError('E_OPTION', `ranks.buffer must be a SharedArrayBuffer of at least ${needed} bytes for ${spec.size} ranks of ${slotBytes} bytes, got ${given}; make every rank's spec with sharedMemoryRanks(size, slotBytes)`);
  }
}

function groupBytes(size: number, slotBytes: number): number {
  return HEADER_BYTES + size * (COUNT_BYTES + slotBytes);
}

export class SharedMemoryGroup implements RankGroup {
  readonly rank: number;
  readonly size: number;
  private readonly spec: SharedMemoryRanks;
  private readonly words: Int32Array;
  private readonly sentBytes: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(spec: SharedMemoryRanks) {
    this.spec = spec;
    this.rank = spec.rank;
    this.size = spec.size;
    this.words = new Int32Array(spec.buffer, 0, 2);
    this.sentBytes = new Int32Array(spec.buffer, HEADER_BYTES, spec.size);
    this.bytes = new Uint8Array(spec.buffer, HEADER_BYTES + COUNT_BYTES * spec.size);
  }

  allgather(send: Float32Array | Float64Array, receive: Float32Array | Float64Array): void {
    const { slotBytes } = this.spec;
    if (send.byteLength > slotBytes || receive.byteLength !== this.size * send.byteLength) {
      throw new LockstepError('E_WORKER', `allgather on rank ${this.rank} of ${this.size}: ${send.byteLength} bytes to send into ${receive.byteLength}, with slots of ${slotBytes} bytes`);
    }
    const sent = new Uint8Array(send.buffer, send.byteOffset, send.byteLength);
    const received = new Uint8Array(receive.buffer, receive.byteOffset, receive.byteLength);
    this.bytes.set(sent, this.rank * slotBytes);
    Atomics.store(this.sentBytes, this.rank, sent.length);
    this.arrive();
    // Every rank reads the same counts, so every rank throws here, and none waits at the next barrier.
    for (let rank = 0; rank < this.size; rank++) if (this.sentBytes[rank] !== sent.length) throw this.unequalAmounts();
    for (let rank = 0; rank < this.size; rank++) received.set(this.bytes.subarray(rank * slotBytes, rank * slotBytes + sent.length), rank * sent.length);
    // No rank writes its next contribution before every rank has read this one.
    this.arrive();
  }

  /** Built only when the amounts differ: allgather runs every step. */
  private unequalAmounts(): LockstepError {
    const counts = Array.from(this.sentBytes, (count, rank) => `rank ${rank} ${count} bytes`).join(', ');
    return new LockstepError('E_WORKER', `allgather on rank ${this.rank} of ${this.size}: the ranks sent different amounts (${counts}); every rank must send the same`);
  }

  private arrive(): void {
    const generation = Atomics.load(this.words, GENERATION);
    if (Atomics.add(this.words, ARRIVED, 1) + 1 === this.size) {
      Atomics.store(this.words, ARRIVED, 0);
      Atomics.add(this.words, GENERATION, 1);
      Atomics.notify(this.words, GENERATION);
      return;
    }
    spinWhile(() => Atomics.load(this.words, GENERATION) === generation, SPIN_MS);
    const deadline = Date.now() + DEADLINE_MS;
    while (Atomics.load(this.words, GENERATION) === generation) {
      if (Date.now() > deadline) throw new LockstepError('E_WORKER', `rank ${this.rank} of ${this.size} waited ${DEADLINE_MS / 1000} s for the other ranks`);
      Atomics.wait(this.words, GENERATION, generation, 100);
    }
  }
}
