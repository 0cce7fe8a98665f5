import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// Messages name real values and the flag the user typed, and their advice, followed, works.
const work = mkdtempSync(join(tmpdir(), 'lockstep-messages-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[], env: Record<string, string> = {}) => lockstep(args, work, env);
let straight = '';
beforeAll(() => {
  straight = fingerprintOf(run(['train', '--epochs', '3', '--out', 'straight', '--quiet']).stdout);
  expect(run(['train', '--epochs', '2', '--out', 'two', '--quiet']).status).toBe(0);
});

describe('resuming', () => {
  it('says where it resumes, and accepts flags equal to the defaults the run was trained with', () => {
    const resumed = run(['train', '--resume', 'two/checkpoint.lockstep', '--epochs', '3', '--dropout', '0.5', '--kernel', 'strict']);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(resumed.stdout.split('\n')[1]).toBe('resuming after step 142 (epoch 3, batch 0) of 3 epochs from two/checkpoint.lockstep');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });

  it('rejects a flag that changes the model with the value trained and the flag to leave out', () => {
    const changed = run(['train', '--resume', 'straight/checkpoint.lockstep', '--epochs', '4', '--dropout', '0.2']);
    expect(changed.stderr).toBe('lockstep: --dropout cannot change when resuming: straight/checkpoint.lockstep was trained with dropout 0.5; leave out --dropout\n');
    expect(changed.status).toBe(1);
  });

  it('with --epochs below what the checkpoint did: one line, exit 1, config.json untouched; equal to it: a note that there is nothing to train', () => {
    const config = readFileSync(join(work, 'straight', 'config.json'), 'utf8');
    const fewer = run(['train', '--resume', 'straight/checkpoint.lockstep', '--epochs', '2']);
    expect(fewer.stderr).toBe('lockstep: --epochs 2 is fewer than straight/checkpoint.lockstep has already trained (3 epochs); give --epochs 4 or more to train on\n');
    expect(fewer.status).toBe(1);
    expect(fewer.stdout).toBe('');
    expect(readFileSync(join(work, 'straight', 'config.json'), 'utf8')).toBe(config);
    const done = run(['train', '--resume', 'straight/checkpoint.lockstep', '--json']);
    expect(done.status).toBe(0);
    const events = done.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events[1]).toEqual({
      event: 'info',
      message: 'note: straight/checkpoint.lockstep has trained all 3 epochs, so there is nothing to train; give --epochs above 3 to go on',
      resumedFrom: 'straight/checkpoint.lockstep',
      step: 213,
      epoch: 3,
      batch: 0,
    });
    expect(events.at(-1)).toMatchObject({ event: 'result', fingerprint: straight, steps: 213 });
  });
});

describe('a full disk', () => {
  it('names the disk and the checkpoint to resume from; resuming it ends on the uninterrupted bits', () => {
    const disk = { NODE_OPTIONS: `--import ${new URL('./fixtures/disk-full.mjs', import.meta.url).href}`, LOCKSTEP_TEST_DISK_FULL_AFTER: '1' };
    const full = run(['train', '--epochs', '3', '--out', 'full', '--quiet'], disk);
    expect(full.stderr).toBe(
      'lockstep: cannot write full/checkpoint.lockstep: ENOSPC; the disk is full, free some space; then resume from step 71 with: lockstep train --resume full/checkpoint.lockstep\n',
    );
    expect(full.status).toBe(1);
    expect(readdirSync(join(work, 'full')).filter((name) => name.includes('.tmp-'))).toEqual([]);
    const resumed = run(['train', '--resume', 'full/checkpoint.lockstep', '--quiet']);
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });
});

describe('eval --mc-samples with --out a file', () => {
  it('says the folder is a file before any pass, exit 1', () => {
    const result = run(['eval', '--checkpoint', 'two/checkpoint.lockstep', '--mc-samples', '3', '--out', 'two/config.json']);
    expect(result.stderr).toBe('lockstep: cannot create the output folder two/config.json: it is a file; choose another --out\n');
    expect(result.status).toBe(1);
  });
});

describe('a diverging run that saves every 2 steps', () => {
  it('points at the last checkpoint whose parameters ran a step, with flags; followed as printed, the run trains to the end', () => {
    const diverged = run(['train', '--lr', '10', '--epochs', '1', '--checkpoint-every', '2', '--out', 'every2']);
    // The checkpoint of step 6 holds the parameters step 6 failed on: resuming it would fail again, whatever --lr.
    expect(diverged.stderr).toBe(
      'lockstep: fit failed at step 6 (epoch 1, batch 7 of 71): the loss is NaN, first from the output of layer 3 (Linear) (-Infinity); ' +
        'check the scale of the input data, or resume from step 4 with a lower learning rate or gradient clipping: ' +
        'lockstep train --resume every2/checkpoint.lockstep --lr 1 --clip-norm 1\n',
    );
    expect(diverged.status).toBe(1);
    expect(loadCheckpoint(join(work, 'every2', 'checkpoint.lockstep')).state.step).toBe(4);
    const advice = diverged.stderr.split(': lockstep ')[1]!.trim().split(' ');
    const followed = run([...advice, '--quiet']);
    expect(followed.stderr).toBe('');
    expect(followed.status).toBe(0);
    expect(loadCheckpoint(join(work, 'every2', 'checkpoint.lockstep')).state).toMatchObject({ epoch: 1, step: 71 });
  });

  it('with no checkpoint yet, names the flags to start again with', () => {
    const diverged = run(['train', '--lr', '10', '--epochs', '1', '--out', 'none']);
    expect(diverged.stderr).toBe(
      'lockstep: fit failed at step 6 (epoch 1, batch 7 of 71): the loss is NaN, first from the output of layer 3 (Linear) (-Infinity); ' +
        'no checkpoint was saved yet: check the scale of the input data, or start the run again with a lower learning rate or gradient clipping, e.g. --lr 1 --clip-norm 1\n',
    );
    expect(readdirSync(join(work, 'none'))).toEqual([]);
    expect(run(['train', '--epochs', '1', '--out', 'none', '--quiet']).status).toBe(0);
  });
});
