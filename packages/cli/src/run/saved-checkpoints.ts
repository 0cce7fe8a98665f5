import { writeFileAtomic } from './files.js';

export interface SavedCheckpoint {
  readonly path: string;
  readonly step: number;
}

interface Kept extends SavedCheckpoint {
  readonly bytes: Uint8Array;
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

  record(path: string, step: number, bytes: Uint8Array): void {
    if (this.last !== null && this.last.step !== step) this.before = this.last;
    this.last = { path, step, bytes };
  }

  /**
   * The latest checkpoint from which step `failedStep` can go on with other settings: the last one
   * when it is older than that step; else the one before it, written back to `path`; else null.
   */
  beforeFailure(failedStep: number, path: string): SavedCheckpoint | null {
    if (this.last === null || this.last.step < failedStep) return this.last;
    if (this.before === null) return null;
    writeFileAtomic(path, this.before.bytes);
    this.last = { ...this.before, path };
    this.before = null;
    return this.last;
  }
}
