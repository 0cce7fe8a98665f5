import { writeWithBest } from './best-checkpoint.js';
import { folderOf, writeFileAtomic } from './files.js';

export interface SavedCheckpoint {
  readonly path: string;
  readonly step: number;
}

interface Kept extends SavedCheckpoint {
  readonly bytes: Uint8Array;
  /** Where writing this checkpoint committed a new best epoch: what best.lockstep held before (null: no file). */
  readonly replacedBest?: Uint8Array | null;
}

/**
 * The checkpoints a run can go on from. A step that fails on non-finite numbers fails again, bit for
 * bit, from the parameters it started with, so when the last checkpoint holds exactly those, the way
 * on is the one before it: its bytes are kept to put it back.
 */
export class SavedCheckpoints {
  private before: Kept | null = null;

  constructor(private last: Kept | null) {}

  get latest(): SavedCheckpoint | null {
    return this.last;
  }

  record(path: string, step: number, bytes: Uint8Array, replacedBest?: Uint8Array | null): void {
    if (this.last !== null && this.last.step !== step) this.before = this.last;
    this.last = { path, step, bytes, ...(replacedBest === undefined ? {} : { replacedBest }) };
  }

  /**
   * The latest checkpoint from which step `failedStep` can go on with other settings: the last one
   * when it is older than that step; else the one before it, written back to `path`, with the best
   * epoch's checkpoint it names where the last one had committed a new best; else null.
   */
  beforeFailure(failedStep: number, path: string): SavedCheckpoint | null {
    if (this.last === null || this.last.step < failedStep) return this.last;
    if (this.before === null) return null;
    const { bytes } = this.before;
    const { replacedBest } = this.last;
    if (replacedBest === undefined) writeFileAtomic(path, bytes);
    else writeWithBest(folderOf(path), replacedBest, () => writeFileAtomic(path, bytes));
    this.last = { path, step: this.before.step, bytes };
    this.before = null;
    return this.last;
  }
}
