import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { lockstep } from './helpers/lockstep.js';

// A scheduled run on the built-in data set (71 steps an epoch) trained 3 epochs, then resumed to 6:
// what --lr does to each schedule, and the schedules a resume cannot go on with.
const work = mkdtempSync(join(tmpdir(), 'lockstep-resume-schedule-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep([...args, '--workers', '2'], work);
const lrs = (out: string): number[] => readFileSync(join(work, out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { lr: number }).lr);
const notes = (stdout: string): string[] => stdout.split('\n').filter((line) => line.startsWith('note: '));

describe('train --resume --lr with a schedule', () => {
  it('plateau: --lr is the rate the schedule goes on from, as ReduceLROnPlateau goes on from a rate set on the optimizer', () => {
    // A 50% threshold makes every epoch after the first a bad one, so the rate halves after each.
    const schedule = ['--schedule', 'kind=plateau,patience=0,factor=0.5,threshold=0.5'];
    expect(run(['train', '--epochs', '3', ...schedule, '--out', 'plateau', '--quiet']).status).toBe(0);
    const resumed = run(['train', '--resume', 'plateau/checkpoint.lockstep', '--epochs', '6', '--lr', '0.01']);
    expect(resumed.stderr).toBe('');
    expect(notes(resumed.stdout)).toEqual([
      "note: lr changes from 0.05 to 0.01 at step 213 (the plateau schedule's rate was 0.0125; it goes on from 0.01); the run will not match an uninterrupted one",
    ]);
    expect(lrs('plateau')).toEqual([0.05, 0.05, 0.025, 0.01, 0.005, 0.0025]);
    expect(loadCheckpoint(join(work, 'plateau', 'checkpoint.lockstep')).state.schedule).toMatchObject({ lr: 0.00125 });
    expect(JSON.parse(readFileSync(join(work, 'plateau', 'config.json'), 'utf8'))).toMatchObject({ lr: 0.01 });
  });

  it('step: --lr is the base rate the schedule decays', () => {
    expect(run(['train', '--epochs', '3', '--schedule', 'kind=step,step_size=1,gamma=0.5', '--out', 'step', '--quiet']).status).toBe(0);
    const resumed = run(['train', '--resume', 'step/checkpoint.lockstep', '--epochs', '6', '--lr', '0.01']);
    expect(resumed.stderr).toBe('');
    expect(notes(resumed.stdout)).toEqual(['note: lr changes from 0.05 to 0.01 at step 213 (the base rate of the step schedule: the next step trains at 0.00125); the run will not match an uninterrupted one']);
    expect(lrs('step')).toEqual([0.05, 0.025, 0.0125, 0.00125, 0.000625, 0.0003125]);
  });

  it('one-cycle: refused, since max_lr shapes the whole cycle; nothing changes', () => {
    expect(run(['train', '--epochs', '3', '--schedule', 'kind=one-cycle,total_steps=2130', '--out', 'cycle', '--quiet']).status).toBe(0);
    const before = readFileSync(join(work, 'cycle', 'metrics.jsonl'), 'utf8');
    const resumed = run(['train', '--resume', 'cycle/checkpoint.lockstep', '--epochs', '6', '--lr', '0.01']);
    expect(resumed.stderr).toBe(
      'lockstep: --lr cannot change when resuming cycle/checkpoint.lockstep: its one-cycle schedule takes every rate from max_lr 0.05 and total_steps 2130, fixed when the run started, not from lr; ' +
        'leave out --lr, or start a new run with the max_lr you want (max_lr is lr unless given)\n',
    );
    expect(resumed.status).toBe(1);
    expect(readFileSync(join(work, 'cycle', 'metrics.jsonl'), 'utf8')).toBe(before);
    expect(JSON.parse(readFileSync(join(work, 'cycle', 'config.json'), 'utf8'))).toMatchObject({ lr: 0.05, epochs: 3 });
  });
});

describe('train --resume of a cosine run with more --epochs', () => {
  it('refuses a T_max filled in from the run\'s 3 epochs, which would train the new epochs at lr 0', () => {
    expect(run(['train', '--epochs', '3', '--schedule', 'kind=cosine', '--out', 'cosine', '--quiet']).status).toBe(0);
    expect(loadCheckpoint(join(work, 'cosine', 'checkpoint.lockstep')).scheduleFromRun).toEqual(['T_max']);
    const resumed = run(['train', '--resume', 'cosine/checkpoint.lockstep', '--epochs', '6']);
    expect(resumed.stderr).toBe(
      "lockstep: cosine/checkpoint.lockstep has a cosine schedule that ends after 3 epochs (T_max: filled in from the run's length when it started), and a run of 6 epochs goes past it, where the rate would stay at eta_min 0; " +
        'the schedule cannot change when resuming: resume with at most 3 epochs, or start a new run of 6 epochs (give T_max to leave room to resume further)\n',
    );
    expect(resumed.status).toBe(1);
    expect(lrs('cosine')).toEqual([0.05, 0.037500000000000006, 0.012500000000000006]);
  });

  it('goes past a T_max the user gave, at eta_min', () => {
    expect(run(['train', '--epochs', '3', '--schedule', 'kind=cosine,T_max=3,eta_min=0.01', '--out', 'given', '--quiet']).status).toBe(0);
    expect(loadCheckpoint(join(work, 'given', 'checkpoint.lockstep')).scheduleFromRun).toBeUndefined();
    const resumed = run(['train', '--resume', 'given/checkpoint.lockstep', '--epochs', '6', '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(lrs('given')).toEqual([0.05, 0.04, 0.020000000000000004, 0.01, 0.01, 0.01]);
  });
});
