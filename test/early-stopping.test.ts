import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, loadCheckpoint } from '@lockstep/cli';
import { mpiAvailable } from '@lockstep/mpi';
import { MPIRUN_ENV, MPIRUN_OPTIONS } from '../packages/mpi/test/mpirun.js';
import { BIN, fingerprintOf, lockstep, numericMetrics, startLockstep } from './helpers/lockstep.js';

// The default MLP on the built-in data set, without dropout, overfits: its validation loss is lowest
// after a few epochs and then rises, so early stopping ends a 40-epoch run long before its end.
const work = mkdtempSync(join(tmpdir(), 'lockstep-early-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const train = ['train', '--dropout', '0', '--epochs', '40', '--early-stopping', 'patience=3,restoreBestWeights', '--workers', '2'];
const STOPPED = /^stopped early at epoch (\d+) of 40 \(best epoch (\d+), val_loss [0-9.]+; val_loss did not improve for 3 epochs\); .*best\.lockstep holds the best epoch's parameters, and the run ends with them$/m;

let straight = '';
let stoppedEpoch = 0;
let bestEpoch = 0;
beforeAll(() => {
  const run = lockstep([...train, '--out', 'straight'], work);
  expect(run.stderr).toBe('');
  straight = fingerprintOf(run.stdout);
  const match = run.stdout.match(STOPPED);
  expect(match, run.stdout).not.toBeNull();
  [stoppedEpoch, bestEpoch] = [Number(match![1]), Number(match![2])];
  console.log(`early stopping: stopped at epoch ${stoppedEpoch}, best epoch ${bestEpoch}, fingerprint ${straight}`);
});

describe('early stopping on an overfitting run (the default MLP without dropout, 40 epochs)', () => {
  it('stops before the end, 3 epochs after the lowest validation loss; metrics.jsonl logs each epoch\'s learning rate', () => {
    expect(stoppedEpoch).toBeLessThan(40);
    expect(stoppedEpoch).toBe(bestEpoch + 3);
    const lines = readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { valLoss: number; lr: number });
    expect(lines).toHaveLength(stoppedEpoch);
    const losses = lines.map((m) => m.valLoss);
    expect(losses.indexOf(Math.min(...losses)) + 1).toBe(bestEpoch);
    expect(new Set(lines.map((m) => m.lr))).toEqual(new Set([0.05]));
    expect(readFileSync(join(work, 'straight', 'curves.svg'), 'utf8')).toContain('learning rate');
    expect(loadCheckpoint(join(work, 'straight', 'checkpoint.lockstep')).state).toMatchObject({ epoch: stoppedEpoch, earlyStopping: { stoppedEpoch, bestEpoch } });
  });

  it('best.lockstep holds the best epoch\'s parameters: the run\'s fingerprint, and its eval on the validation split is that epoch\'s metrics line', () => {
    const best = loadCheckpoint(join(work, 'straight', 'best.lockstep'));
    expect(best.state.epoch).toBe(bestEpoch);
    expect(fingerprint(best.params, best.buffers ?? new Float32Array(0))).toBe(straight);
    const line = JSON.parse(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8').trim().split('\n')[bestEpoch - 1]!) as { valLoss: number; valAccuracy: number };
    const evaluated = lockstep(['eval', '--checkpoint', 'straight/best.lockstep', '--split', 'validation', '--workers', '2', '--json'], work);
    expect(evaluated.stderr).toBe('');
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ set: 'validation split', loss: line.valLoss, accuracy: line.valAccuracy });
  });

  it('stopped by SIGTERM after epoch 2 and resumed: stops at the same epoch with the same fingerprint and metrics', async () => {
    const run = startLockstep([...train, '--out', 'half', '--json'], work);
    let epochs = 0;
    run.child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.includes('"event":"epoch"') && ++epochs === 2) run.child.kill('SIGTERM');
    });
    expect(await run.exited).toEqual({ code: 143, signal: null });
    const saved = loadCheckpoint(join(work, 'half', 'checkpoint.lockstep')).state;
    expect(saved.epoch).toBeGreaterThanOrEqual(2);
    expect(saved.epoch).toBeLessThan(stoppedEpoch);
    const resumed = lockstep(['train', '--resume', 'half/checkpoint.lockstep', '--workers', '1'], work);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout.match(STOPPED)?.slice(1, 3)).toEqual([String(stoppedEpoch), String(bestEpoch)]);
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
    const metrics = (out: string): unknown => numericMetrics(readFileSync(join(work, out, 'metrics.jsonl'), 'utf8'));
    expect(metrics('half')).toEqual(metrics('straight'));
  });

  it('--resume of the run early stopping ended trains nothing, says how to train on, and ends with its fingerprint', () => {
    const metrics = readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8');
    const resumed = lockstep(['train', '--resume', 'straight/checkpoint.lockstep', '--epochs', '45', '--workers', '1'], work);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout.split('\n').filter((line) => line.startsWith('note: '))).toEqual([
      `note: early stopping ended straight/checkpoint.lockstep at epoch ${stoppedEpoch}, so there is nothing to train; to train on from where it ended, ` +
        'lockstep export --checkpoint straight/best.lockstep --format safetensors --out ended.safetensors, then start a new run with --init-from ended.safetensors',
    ]);
    expect(resumed.stdout.match(new RegExp(STOPPED.source.replace('of 40', 'of 45'), 'm'))?.slice(1, 3)).toEqual([String(stoppedEpoch), String(bestEpoch)]);
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
    expect(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8')).toBe(metrics);
  });

  it.skipIf(!mpiAvailable())('mpirun -np 2: every rank stops at the same epoch, with the fingerprint of one process', () => {
    const command = [...MPIRUN_OPTIONS, '-np', '2', process.execPath, BIN, ...train.filter((arg, i, all) => arg !== '--workers' && all[i - 1] !== '--workers'), '--workers', '1', '--out', 'mpi-2'];
    const run = spawnSync('mpirun', command, { cwd: work, env: { ...process.env, ...MPIRUN_ENV }, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.match(STOPPED)?.slice(1, 3)).toEqual([String(stoppedEpoch), String(bestEpoch)]);
    expect(fingerprintOf(run.stdout)).toBe(straight);
  });

  it('--overwrite of a run with early stopping deletes its best.lockstep with its checkpoint', () => {
    expect(existsSync(join(work, 'half', 'best.lockstep'))).toBe(true);
    const run = lockstep(['train', '--epochs', '1', '--workers', '1', '--out', 'half', '--overwrite'], work);
    expect(run.status).toBe(0);
    expect(existsSync(join(work, 'half', 'best.lockstep'))).toBe(false);
  });
});

describe('restoreBestWeights in a run that trains all its epochs (the default MLP, 6 epochs, best epoch 4)', () => {
  const lasting = ['--early-stopping', 'patience=10,restoreBestWeights', '--workers', '2'];
  const printOf = (path: string): string => {
    const saved = loadCheckpoint(join(work, path));
    return fingerprint(saved.params, saved.buffers ?? new Float32Array(0));
  };

  it('ends with the best epoch\'s parameters and says so; checkpoint.lockstep keeps the last epoch\'s; --epochs 3 resumed to 6 ends the same, bit for bit', () => {
    const six = lockstep(['train', '--epochs', '6', ...lasting, '--out', 'all-6'], work);
    expect(six.stderr).toBe('');
    expect(six.stdout).toContain("\ntrained all 6 epochs (best epoch 4, val_loss 0.4014); all-6/best.lockstep holds the best epoch's parameters, and the run ends with them\n");
    const four = fingerprintOf(lockstep(['train', '--epochs', '4', '--workers', '2', '--out', 'plain-4', '--quiet'], work).stdout);
    expect(fingerprintOf(six.stdout)).toBe(four);
    expect(printOf('all-6/best.lockstep')).toBe(four);
    expect(printOf('all-6/checkpoint.lockstep')).toBe(fingerprintOf(lockstep(['train', '--epochs', '6', '--workers', '2', '--out', 'plain-6', '--quiet'], work).stdout));

    expect(lockstep(['train', '--epochs', '3', ...lasting, '--out', 'all-3', '--quiet'], work).status).toBe(0);
    const resumed = lockstep(['train', '--resume', 'all-3/checkpoint.lockstep', '--epochs', '6', '--workers', '2'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(four);
    const metrics = (out: string): unknown => numericMetrics(readFileSync(join(work, out, 'metrics.jsonl'), 'utf8'));
    expect(metrics('all-3')).toEqual(metrics('all-6'));

    // With nothing left to train it ends as it did: with the best epoch's parameters.
    const again = lockstep(['train', '--resume', 'all-6/checkpoint.lockstep', '--workers', '1'], work);
    expect(again.stderr).toBe('');
    expect(fingerprintOf(again.stdout)).toBe(four);
  });
});

describe('reduce-on-plateau with early stopping in the CLI', () => {
  const plateau = ['train', '--dropout', '0', '--early-stopping', 'patience=4', '--schedule', 'kind=plateau,patience=0,factor=0.5'];
  const lrs = (out: string): number[] => readFileSync(join(work, out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { lr: number }).lr);

  it('workers 1 and 2, and 5 epochs resumed to 40 at 2, give the same bits; the rate halves after each epoch without a new best', () => {
    const one = lockstep([...plateau, '--epochs', '40', '--workers', '1', '--out', 'plateau-1'], work);
    expect(one.stderr).toBe('');
    const print = fingerprintOf(one.stdout);
    expect(one.stdout).toMatch(/^stopped early at epoch \d+ of 40/m);
    expect(fingerprintOf(lockstep([...plateau, '--epochs', '40', '--workers', '2', '--out', 'plateau-2'], work).stdout)).toBe(print);
    expect(lockstep([...plateau, '--epochs', '5', '--workers', '2', '--out', 'plateau-r'], work).status).toBe(0);
    const resumed = lockstep(['train', '--resume', 'plateau-r/checkpoint.lockstep', '--epochs', '40', '--workers', '2'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(print);
    expect(lrs('plateau-r')).toEqual(lrs('plateau-1'));
    const rates = lrs('plateau-1');
    console.log(`reduce-on-plateau: ${rates.length} epochs at rates ${rates.join(', ')}; fingerprint ${print}`);
    expect(rates[0]).toBe(0.05);
    expect(Math.min(...rates)).toBeLessThan(0.05);
  });
});

describe('schedules and early stopping: bad input is one line, before anything is written', () => {
  writeFileSync(join(work, 'no-validation.json'), JSON.stringify({ validationSplit: 0, earlyStopping: { patience: 2 } }));
  writeFileSync(join(work, 'plateau-no-validation.json'), JSON.stringify({ validationSplit: 0, schedule: { kind: 'plateau' } }));
  writeFileSync(join(work, 'no-step-size.json'), JSON.stringify({ schedule: { kind: 'step', gamma: 0.5 } }));
  const cases: Array<[string, string[], string]> = [
    ['a warm-up as long as the run', ['--epochs', '8', '--schedule', 'kind=warmup-cosine,total_iters=8'], "--schedule total_iters 8 is not shorter than the run's 8 epochs; shorten the warm-up or train longer"],
    [
      'one-cycle shorter than the run',
      ['--epochs', '2', '--schedule', 'kind=one-cycle,total_steps=100'],
      "--schedule total_steps 100 is shorter than the run's 142 steps; one-cycle has no learning rate past its last step",
    ],
    ['early stopping on val_loss without a validation split', ['--config', 'no-validation.json'], 'no-validation.json: "earlyStopping.monitor": val_loss is not computed: the run has no validation data; monitor loss or accuracy, or set validationSplit above 0'],
    ['reduce-on-plateau on val_loss without a validation split', ['--config', 'plateau-no-validation.json'], 'plateau-no-validation.json: "schedule.monitor": val_loss is not computed: the run has no validation data; monitor loss or accuracy, or set validationSplit above 0'],
    ['a negative patience', ['--early-stopping', 'patience=-1'], '--early-stopping patience must be an integer >= 0, got -1'],
    ['an empty --early-stopping (an unset shell variable), not patience 0', ['--early-stopping', ''], '--early-stopping is empty; give its settings, e.g. patience=3,restoreBestWeights'],
    ['a monitor lockstep does not compute', ['--early-stopping', 'monitor=val_f1'], "--early-stopping monitor must be one of 'val_loss', 'val_accuracy', 'loss', 'accuracy', got \"val_f1\""],
    ['a step schedule without step_size', ['--config', 'no-step-size.json'], 'no-step-size.json: "schedule.step_size" is required for a step schedule'],
    ['a field of another scheduler', ['--schedule', 'kind=cosine,step_size=3'], '--schedule step_size is not a setting of a cosine schedule; it takes T_max, eta_min, interval'],
    ['an unknown kind', ['--schedule', 'kind=exponential'], '--schedule kind must be one of step, cosine, warmup-cosine, one-cycle, plateau, got "exponential"'],
    ['a plateau factor of 1', ['--schedule', 'kind=plateau,factor=1'], '--schedule factor must be > 0 and < 1, got 1'],
    ['a warm-up start_factor above 1', ['--schedule', 'kind=warmup-cosine,start_factor=2'], '--schedule start_factor must be a finite number in [0, 1], got 2'],
  ];
  it.each(cases)('%s', (_, args, message) => {
    const out = `refused-${args.join('-').replace(/[^a-z0-9]+/gi, '-')}`;
    const run = lockstep(['train', ...args, '--workers', '1', '--out', out], work);
    expect(run.stderr).toBe(`lockstep: ${message}\n`);
    expect(run.status).not.toBe(0);
    expect(existsSync(join(work, out))).toBe(false);
  });
});
