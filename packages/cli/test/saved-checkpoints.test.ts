import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BEST_FILE, committedBest, writeWithBest } from '../src/run/best-checkpoint.js';
import { SavedCheckpoints } from '../src/run/saved-checkpoints.js';
import { CHECKPOINT_FILE } from '../src/run/training.js';

// A step that fails on non-finite numbers right after the epoch that committed a new best puts the
// checkpoint before that epoch back. best.lockstep then held the new best, newer than the checkpoint
// put back names, and a resume with restoreBestWeights refused the folder. SavedCheckpoints treats
// bytes as opaque, so plain bytes stand for the checkpoints here.

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'lockstep-saved-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

const checkpointPath = (): string => join(folder, CHECKPOINT_FILE);
const bytes = (text: string): Buffer => Buffer.from(text);
const read = (name: string): string | null => (existsSync(join(folder, name)) ? readFileSync(join(folder, name), 'utf8') : null);

/** Saves a checkpoint of `step` as training.ts does at an epoch's end, committing it as the best when `best`. */
function saveEpoch(saved: SavedCheckpoints, step: number, text: string, best: boolean): void {
  const written = bytes(text);
  if (!best) {
    writeFileSync(checkpointPath(), written);
    saved.record(checkpointPath(), step, written);
    return;
  }
  const replaced = committedBest(folder);
  writeWithBest(folder, written, () => {
    writeFileSync(checkpointPath(), written);
    saved.record(checkpointPath(), step, written, replaced);
  });
}

describe('a non-finite step right after a checkpoint', () => {
  it('that committed a new best: the checkpoint before it is put back with the best it names', () => {
    const saved = new SavedCheckpoints(null);
    saveEpoch(saved, 10, 'epoch 1, best 1', true);
    saveEpoch(saved, 20, 'epoch 2, best 1', false);
    saveEpoch(saved, 30, 'epoch 3, best 3', true);
    expect(read(BEST_FILE)).toBe('epoch 3, best 3');
    expect(saved.beforeFailure(30, checkpointPath())).toMatchObject({ path: checkpointPath(), step: 20 });
    expect(read(CHECKPOINT_FILE)).toBe('epoch 2, best 1');
    expect(read(BEST_FILE)).toBe('epoch 1, best 1');
    expect(readdirSync(folder).sort()).toEqual([BEST_FILE, CHECKPOINT_FILE]);
  });

  it('that committed the first best: the checkpoint before it names none, and best.lockstep goes', () => {
    const saved = new SavedCheckpoints(null);
    saveEpoch(saved, 5, 'step 5, no epoch yet', false);
    saveEpoch(saved, 10, 'epoch 1, best 1', true);
    expect(saved.beforeFailure(10, checkpointPath())).toMatchObject({ path: checkpointPath(), step: 5 });
    expect(read(CHECKPOINT_FILE)).toBe('step 5, no epoch yet');
    expect(read(BEST_FILE)).toBeNull();
  });

  it('that committed no new best: only the checkpoint is put back', () => {
    const saved = new SavedCheckpoints(null);
    saveEpoch(saved, 10, 'epoch 1, best 1', true);
    saveEpoch(saved, 20, 'epoch 2, best 1', false);
    expect(saved.beforeFailure(20, checkpointPath())).toMatchObject({ path: checkpointPath(), step: 10 });
    expect(read(CHECKPOINT_FILE)).toBe('epoch 1, best 1');
    expect(read(BEST_FILE)).toBe('epoch 1, best 1');
  });

  it('older than the failed step: nothing is written', () => {
    const saved = new SavedCheckpoints(null);
    saveEpoch(saved, 10, 'epoch 1, best 1', true);
    saveEpoch(saved, 20, 'epoch 2, best 2', true);
    expect(saved.beforeFailure(25, checkpointPath())).toMatchObject({ path: checkpointPath(), step: 20 });
    expect(read(CHECKPOINT_FILE)).toBe('epoch 2, best 2');
    expect(read(BEST_FILE)).toBe('epoch 2, best 2');
  });
});
