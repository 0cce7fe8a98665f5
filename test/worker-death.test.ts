import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep, numericMetrics } from './helpers/lockstep.js';

// A small model with the env-fault layer, which fails in a worker at the step LOCKSTEP_TEST_FAULT
// names and is the identity otherwise: 2 epochs of 71 steps on the built-in data.
const work = mkdtempSync(join(tmpdir(), 'lockstep-death-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const faulty = fileURLToPath(new URL('./fixtures/layers/faulty.mjs', import.meta.url));
writeFileSync(
  join(work, 'faulty.json'),
  JSON.stringify({
    epochs: 2,
    modules: [faulty],
    layers: [{ type: 'linear', out: 32 }, { type: 'env-fault' }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }],
  }),
);
const common = ['train', '--config', 'faulty.json', '--workers', '2', '--quiet'];

let uninterrupted = '';
let uninterruptedMetrics: Array<Record<string, unknown>> = [];
beforeAll(() => {
  const run = lockstep([...common, '--out', 'straight'], work);
  expect(run.stderr).toBe('');
  uninterrupted = fingerprintOf(run.stdout);
  uninterruptedMetrics = numericMetrics(readFileSync(join(work, 'straight', 'metrics.jsonl'), 'utf8'));
});

describe('a worker that dies mid-epoch', () => {
  it.each([
    ['throw', 'injected failure in layer 1 at step 100'],
    ['exit', 'worker exited with code: 7'],
    ['oom', 'Worker terminated due to reaching memory limit: JS heap out of memory'],
  ])('%s at step 100: one line naming the step, exit 1, the checkpoint of step 90 loads, the resumed run is bit-identical', (how, cause) => {
    const out = `died-${how}`;
    const failed = lockstep([...common, '--out', out, '--checkpoint-every', '30', '--worker-heap', '32'], work, { LOCKSTEP_TEST_FAULT: `${how}@100` });
    expect(failed.stderr).toBe(
      `lockstep: fit failed at step 100 (epoch 2, batch 30 of 71): a worker failed: ${cause}; the worker pool is closed; ` +
        `resume from step 90 with: lockstep train --resume ${out}/checkpoint.lockstep --modules ${faulty}\n`,
    );
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(existsSync(join(work, out, 'lockstep.lock'))).toBe(false);
    expect(loadCheckpoint(join(work, out, 'checkpoint.lockstep')).state).toMatchObject({ step: 90, epoch: 1, batch: 19 });

    const resumed = lockstep(['train', '--resume', `${out}/checkpoint.lockstep`, '--modules', faulty, '--quiet'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(uninterrupted);
    expect(numericMetrics(readFileSync(join(work, out, 'metrics.jsonl'), 'utf8'))).toEqual(uninterruptedMetrics);
  });

  it('before the first checkpoint: the message says to start again, and starting again gives the same model', () => {
    const failed = lockstep([...common, '--out', 'early'], work, { LOCKSTEP_TEST_FAULT: 'throw@5' });
    expect(failed.stderr).toBe(
      'lockstep: fit failed at step 5 (epoch 1, batch 6 of 71): a worker failed: injected failure in layer 1 at step 5; ' +
        'the worker pool is closed; no checkpoint was saved yet; start the run again\n',
    );
    expect(failed.status).toBe(1);
    // The run's files are gone with it, so the same command starts it again.
    expect(readdirSync(join(work, 'early'))).toEqual([]);
    expect(fingerprintOf(lockstep([...common, '--out', 'early'], work).stdout)).toBe(uninterrupted);
  });

  it('--retries: a worker that dies once is replaced from the last checkpoint, and the run ends bit-identical', () => {
    const marker = join(work, 'fault-once');
    writeFileSync(marker, '');
    const run = lockstep(['train', '--config', 'faulty.json', '--workers', '2', '--out', 'retried', '--checkpoint-every', '30', '--retries', '2'], work, {
      LOCKSTEP_TEST_FAULT: 'exit@100',
      LOCKSTEP_TEST_FAULT_ONCE: marker,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((line) => line.startsWith('note: '))).toEqual([
      'note: fit failed at step 100 (epoch 2, batch 30 of 71): a worker failed: worker exited with code: 7; the worker pool is closed; restarting the workers from step 90 (retry 1 of 2)',
    ]);
    expect(fingerprintOf(run.stdout)).toBe(uninterrupted);
    expect(numericMetrics(readFileSync(join(work, 'retried', 'metrics.jsonl'), 'utf8'))).toEqual(uninterruptedMetrics);
  });

  it('--retries: a worker that dies before the first checkpoint is replaced from the seed\'s weights, and the run ends bit-identical', () => {
    const marker = join(work, 'fault-once-early');
    writeFileSync(marker, '');
    const run = lockstep(['train', '--config', 'faulty.json', '--workers', '2', '--out', 'retried-early', '--retries', '2'], work, {
      LOCKSTEP_TEST_FAULT: 'exit@5',
      LOCKSTEP_TEST_FAULT_ONCE: marker,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').filter((line) => line.startsWith('note: '))).toEqual([
      'note: fit failed at step 5 (epoch 1, batch 6 of 71): a worker failed: worker exited with code: 7; the worker pool is closed; restarting the workers from the start (retry 1 of 2)',
    ]);
    expect(fingerprintOf(run.stdout)).toBe(uninterrupted);
  });

  it('--retries: a worker that keeps dying stops the run after the last retry', () => {
    const run = lockstep(['train', '--config', 'faulty.json', '--workers', '2', '--out', 'gave-up', '--retries', '2'], work, { LOCKSTEP_TEST_FAULT: 'throw@100' });
    const failure = 'fit failed at step 100 (epoch 2, batch 30 of 71): a worker failed: injected failure in layer 1 at step 100; the worker pool is closed';
    expect(run.stdout.split('\n').filter((line) => line.startsWith('note: '))).toEqual([
      `note: ${failure}; restarting the workers from step 71 (retry 1 of 2)`,
      `note: ${failure}; restarting the workers from step 71 (retry 2 of 2)`,
    ]);
    expect(run.stderr).toBe(`lockstep: ${failure}; resume from step 71 with: lockstep train --resume gave-up/checkpoint.lockstep --modules ${faulty}\n`);
    expect(run.status).toBe(1);
  });

  it('eval with --modules imports the modules of the checkpoint\'s config, so its custom layers build in every worker', () => {
    const { status, stdout, stderr } = lockstep(['eval', '--checkpoint', 'straight/checkpoint.lockstep', '--workers', '2', '--json', '--modules', faulty], work);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout).samples).toBe(1000);
  });

  it('a module that cannot be loaded is one line naming it', () => {
    writeFileSync(join(work, 'missing-module.json'), JSON.stringify({ modules: ['no-such-layer.mjs'] }));
    const { status, stderr } = lockstep(['train', '--config', 'missing-module.json'], work);
    expect(stderr).toBe(`lockstep: cannot load the module no-such-layer.mjs listed in "modules": Cannot find module '${join(work, 'no-such-layer.mjs')}'\n`);
    expect(status).toBe(1);
  });
});
