import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { lockstep, numericMetrics } from './helpers/lockstep.js';

// Flags that contradict each other, or say nothing, are refused with one line naming the flag and the fix.
const work = mkdtempSync(join(tmpdir(), 'lockstep-odd-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep(args, work);
const small = join(tmpdir(), `lockstep-odd-flags-small-${process.pid}.json`);
writeFileSync(small, JSON.stringify({ hidden: [32] }));
afterAll(() => rmSync(small, { force: true }));
const train = ['train', '--config', small, '--workers', '1'];

describe('an empty path', () => {
  it.each([
    [['train', '--out', ''], '--out must not be empty; give a folder name'],
    [['train', '--config', ''], '--config must not be empty; give a file name'],
    [['train', '--resume', ''], '--resume must not be empty; give a checkpoint file'],
    [['train', '--init-from', ''], '--init-from must not be empty; give a file name'],
    [['data', '--out', ''], '--out must not be empty; give a file name'],
    [['data', '--config', ''], '--config must not be empty; give a file name'],
    [['compare', '--out', ''], '--out must not be empty; give a folder name'],
    [['compare', '--config', ''], '--config must not be empty; give a file name'],
    [['eval', '--checkpoint', ''], '--checkpoint must not be empty; give a file name'],
    [['eval', '--checkpoint', 'a.lockstep', '--mc-samples', '2', '--out', ''], '--out must not be empty; give a folder name'],
    [['export', '--checkpoint', '', '--format', 'onnx', '--out', 'a.onnx'], '--checkpoint must not be empty; give a file name'],
    [['export', '--checkpoint', 'a.lockstep', '--format', 'onnx', '--out', ''], '--out must not be empty; give a file name'],
    [['predict', '--checkpoint', '', '--input', 'rows.csv'], '--checkpoint must not be empty; give a file name'],
    [['predict', '--checkpoint', 'a.lockstep', '--input', ''], '--input must not be empty; give a file name'],
  ])('%j is refused by name, before anything is read or written', (args, message) => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const { status, stdout, stderr } = lockstep(args, empty);
    expect(stderr).toBe(`lockstep: ${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('--quiet with --json', () => {
  it('prints the result alone, as its JSON object: no info or epoch events', () => {
    const { status, stdout, stderr } = run([...train, '--epochs', '2', '--out', 'quiet-json', '--quiet', '--json']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ event: 'result', fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), epochs: 2, steps: 142, out: 'quiet-json' });
  });
});

describe('--resume with --overwrite', () => {
  it('into the checkpoint\'s own folder is refused with one line, and the run is untouched', () => {
    expect(run([...train, '--epochs', '1', '--out', 'kept', '--quiet']).status).toBe(0);
    const before = readFileSync(join(work, 'kept', 'checkpoint.lockstep'));
    for (const out of [[], ['--out', 'kept'], ['--out', './kept/']]) {
      const { status, stdout, stderr } = run(['train', '--resume', 'kept/checkpoint.lockstep', '--epochs', '2', '--overwrite', ...out]);
      expect(stderr).toBe('lockstep: --resume continues the run in kept, and --overwrite would delete that run first; leave out --overwrite\n');
      expect(status).toBe(1);
      expect(stdout).toBe('');
    }
    expect(readFileSync(join(work, 'kept', 'checkpoint.lockstep'))).toEqual(before);
  });

  it('into another folder replaces the run there with the continued one', () => {
    expect(run([...train, '--epochs', '3', '--out', 'replaced', '--quiet']).status).toBe(0);
    const { status, stderr } = run(['train', '--resume', 'kept/checkpoint.lockstep', '--epochs', '2', '--out', 'replaced', '--overwrite', '--quiet']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(loadCheckpoint(join(work, 'replaced', 'checkpoint.lockstep')).state.epoch).toBe(2);
  });
});

describe('--resume into another --out: a branch of the run', () => {
  it('starts with the earlier epochs\' metrics, so metrics.jsonl and the curves are whole, and ends on the uninterrupted bits', () => {
    const straight = run([...train, '--epochs', '2', '--out', 'straight', '--quiet']);
    expect(run([...train, '--epochs', '1', '--out', 'trunk', '--quiet']).status).toBe(0);
    const branch = run(['train', '--resume', 'trunk/checkpoint.lockstep', '--epochs', '2', '--out', 'branch', '--quiet']);
    expect(branch.stderr).toBe('');
    expect(branch.stdout).toBe(straight.stdout);
    const metrics = (folder: string) => readFileSync(join(work, folder, 'metrics.jsonl'), 'utf8');
    expect(metrics('branch').split('\n')[0]).toBe(metrics('trunk').split('\n')[0]);
    expect(numericMetrics(metrics('branch'))).toEqual(numericMetrics(metrics('straight')));
    const curves = (folder: string) => readFileSync(join(work, folder, 'curves.svg'), 'utf8').replaceAll(`lockstep run ${folder}`, 'lockstep run');
    expect(curves('branch')).toBe(curves('straight'));
  });

  it('with nothing left to train writes nothing there: the run stays in the checkpoint\'s folder', () => {
    expect(run([...train, '--epochs', '1', '--out', 'done', '--quiet']).status).toBe(0);
    const { status, stdout, stderr } = run(['train', '--resume', 'done/checkpoint.lockstep', '--out', 'nothing', '--json']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ event: 'info', out: 'done' });
    expect(events[1]).toMatchObject({ message: 'note: done/checkpoint.lockstep has trained all 1 epochs, so there is nothing to train; give --epochs above 1 to go on' });
    expect(events.at(-1)).toMatchObject({ event: 'result', out: 'done' });
    expect(existsSync(join(work, 'nothing'))).toBe(false);
  });

  it('starts with the best epoch\'s checkpoint that early stopping names, which its messages and a later resume find there', () => {
    // At lr 0.5 this model's validation accuracy peaks at epoch 2 and falls at epoch 3.
    const stopping = ['--early-stopping', 'patience=0,restoreBestWeights,monitor=val_accuracy', '--lr', '0.5'];
    expect(run([...train, ...stopping, '--epochs', '2', '--out', 'peak', '--quiet']).status).toBe(0);
    const branch = run(['train', '--resume', 'peak/checkpoint.lockstep', '--epochs', '8', '--out', 'after-peak']);
    expect(branch.stderr).toBe('');
    expect(branch.stdout).toContain('stopped early at epoch 3 of 8 (best epoch 2, val_accuracy 0.3040; val_accuracy did not improve for 1 epoch); after-peak/best.lockstep holds');
    expect(readFileSync(join(work, 'after-peak', 'best.lockstep'))).toEqual(readFileSync(join(work, 'peak', 'best.lockstep')));
    const again = run(['train', '--resume', 'after-peak/checkpoint.lockstep', '--epochs', '9', '--quiet']);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
  });
});

describe('a setting that contradicts the run', () => {
  writeFileSync(join(work, 'no-validation.json'), JSON.stringify({ validationSplit: 0 }));
  writeFileSync(join(work, 'stops-early.json'), JSON.stringify({ validationSplit: 0, earlyStopping: { patience: 1 } }));
  const fix = 'val_loss is not computed: the run has no validation data; monitor loss or accuracy, or set validationSplit above 0';
  it.each([
    [['--config', 'no-validation.json', '--early-stopping', 'patience=1'], `--early-stopping monitor: ${fix}`],
    [['--config', 'no-validation.json', '--schedule', 'kind=plateau'], `--schedule monitor: ${fix}`],
    [['--schedule', 'kind=warmup-cosine,total_iters=10', '--epochs', '5'], "--schedule total_iters 10 is not shorter than the run's 5 epochs; shorten the warm-up or train longer"],
    [['--config', 'stops-early.json'], `stops-early.json: "earlyStopping.monitor": ${fix}`],
  ])('%j is named as given: the flag, or the config file\'s key', (args, message) => {
    const { status, stdout, stderr } = run(['train', ...args, '--out', 'contradicted']);
    expect(stderr).toBe(`lockstep: ${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'contradicted'))).toBe(false);
  });
});

describe('a NaN under a one-cycle schedule', () => {
  it('advises a lower max_lr, which sets its rates, rather than --lr, which changes none of them', () => {
    const { status, stdout, stderr } = run(['train', '--schedule', 'kind=one-cycle,max_lr=100', '--epochs', '1', '--out', 'diverged', '--quiet']);
    expect(stderr).toBe(
      'lockstep: fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN, first from the output of layer 6 (Linear) (Infinity); no checkpoint was saved yet: check the scale of the input data, ' +
        "or start the run again with a lower learning rate or gradient clipping, e.g. max_lr=10 in the schedule (a one-cycle schedule's rates come from its max_lr 100, not from --lr) and --clip-norm 1\n",
    );
    expect(status).toBe(1);
    expect(stdout).toBe('');
  });
});
