import { LockstepError, type Party } from '@lockstep/core';
import { spinWhile } from './spin.js';

const ARRIVED = 0;
const ABORTED = 1;
const WAIT_SLICE_MS = 100;
const DEADLINE_MS = 60_000;
const SPIN_MS = 0.2;

/**
 * Blocks until `parties` threads have arrived at `barrier` (words: arrived count, abort flag) for the
 * `meeting`-th time since the coordinator reset it (1 for the first). The coordinator resets it before
 * each round and raises the abort flag when any task of the round failed, so a thread never waits
 * for a peer that died. Meanwhile the thread does the `idle` work it has, one piece at a time, looking
 * at the barrier between pieces.
 */
export function arriveAndWait(barrier: Int32Array, parties: number, meeting = 1, idle?: () => boolean): void {
  Atomics.add(barrier, ARRIVED, 1);
  Atomics.notify(barrier, ARRIVED);
  const everyone = parties * meeting;
  if (idle !== undefined) while (Atomics.load(barrier, ARRIVED) < everyone && !isAborted(barrier) && idle());
  spinWhile(() => Atomics.load(barrier, ARRIVED) < everyone, SPIN_MS);
  const deadline = Date.now() + DEADLINE_MS;
  for (let seen = Atomics.load(barrier, ARRIVED); seen < everyone; seen = Atomics.load(barrier, ARRIVED)) {
    if (isAborted(barrier)) throw new LockstepError('E_WORKER', 'another worker failed during this step');
    if (Date.now() > deadline) {
      throw new LockstepError('E_WORKER', `only ${seen - everyone + parties} of ${parties} workers reached the barrier within ${DEADLINE_MS / 1000} s`);
    }
    Atomics.wait(barrier, ARRIVED, seen, WAIT_SLICE_MS);
  }
}

export function resetBarrier(barrier: Int32Array): void {
  Atomics.store(barrier, ARRIVED, 0);
  Atomics.store(barrier, ABORTED, 0);
}

export function isAborted(barrier: Int32Array): boolean {
  return Atomics.load(barrier, ABORTED) !== 0;
}

export function abortBarrier(barrier: Int32Array): void {
  Atomics.store(barrier, ABORTED, 1);
  Atomics.notify(barrier, ARRIVED);
}

/** Party `index` of `count` worker threads, meeting at the step barrier: the n-th meeting of a step is the n-th arrival of each there. */
export function barrierParty(barrier: Int32Array, index: number, count: number): Party {
  return {
    index,
    count,
    meet: (_meeting, ordinal, idle) => {
      if (count > 1) arriveAndWait(barrier, count, ordinal, idle);
    },
  };
}
