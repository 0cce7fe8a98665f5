import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// The "scale" layer of scale.mjs, registered with one registerLayer call, ends the model; with factor 1
// it is the identity, so every number must equal those of the same model without it.
const work = mkdtempSync(join(tmpdir(), 'lockstep-custom-layer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const scaleLayer = fileURLToPath(new URL('./fixtures/layers/scale.mjs', import.meta.url));
const layers = [{ type: 'linear', out: 32 }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }];
writeFileSync(join(work, 'scaled.json'), JSON.stringify({ modules: [scaleLayer], epochs: 2, layers: [...layers, { type: 'scale', factor: 1 }] }));
writeFileSync(join(work, 'plain.json'), JSON.stringify({ epochs: 2, layers }));
const rows = Array.from({ length: 3 }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.sin(r * 128 + i).toFixed(4)).join(','));
const header = Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(',');
writeFileSync(join(work, 'rows.csv'), `${[header, ...rows].join('\n')}\n`);

const run = (args: string[]): string => {
  const { status, stdout, stderr } = lockstep(args, work);
  expect(stderr).toBe('');
  expect(status).toBe(0);
  return stdout;
};
/** eval --json without the output folder, which names the run. */
const evalNumbers = (checkpoint: string): unknown => {
  const { out: _out, ...numbers } = JSON.parse(run(['eval', '--checkpoint', checkpoint, '--mc-samples', '5', '--json', '--modules', scaleLayer]));
  return numbers;
};

describe('a layer type from a config\'s modules, registered with one registerLayer call', () => {
  it('trains, and its checkpoint keeps the entry and the module', () => {
    const scaled = fingerprintOf(run(['train', '--config', 'scaled.json', '--out', 'scaled', '--quiet']));
    expect(fingerprintOf(run(['train', '--config', 'plain.json', '--out', 'plain', '--quiet']))).toBe(scaled);
    const checkpoint = loadCheckpoint(join(work, 'scaled', 'checkpoint.lockstep'));
    expect(checkpoint.spec.layers.at(-1)).toEqual({ type: 'scale', factor: 1 });
    expect(checkpoint.config.modules).toEqual([scaleLayer]);
  });

  it('eval --mc-samples 5 prints the accuracy and calibration of the same model without it', () => {
    const scaled = evalNumbers('scaled/checkpoint.lockstep') as { set: string; samples: number; accuracy: number; calibration: { mcSamples: number } };
    expect(scaled).toMatchObject({ set: 'test set', samples: 1000, calibration: { mcSamples: 5, seed: 0 } });
    expect(scaled.accuracy).toBeGreaterThan(0.8);
    expect(scaled).toEqual(evalNumbers('plain/checkpoint.lockstep'));
    expect(JSON.parse(readFileSync(join(work, 'scaled', 'calibration.json'), 'utf8'))).toEqual(scaled.calibration);
  });

  it('predict --mc-samples 4 gives the rows of the same model without it', () => {
    const predict = (checkpoint: string): string => run(['predict', '--checkpoint', checkpoint, '--input', 'rows.csv', '--mc-samples', '4', '--modules', scaleLayer]);
    const scaled = JSON.parse(predict('scaled/checkpoint.lockstep')) as Array<{ probabilities: number[]; std: number[]; entropy: number }>;
    expect(scaled).toHaveLength(3);
    for (const row of scaled) {
      expect(row.probabilities).toHaveLength(10);
      expect(row.probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
      expect(row.std.some((s) => s > 0)).toBe(true);
    }
    expect(predict('scaled/checkpoint.lockstep')).toBe(predict('plain/checkpoint.lockstep'));
  });

  it('compare trains every rate with it, as without it', () => {
    const compare = (config: string, out: string): unknown => {
      run(['compare', '--config', config, '--dropout', '0,0.3', '--epochs', '1', '--out', out, '--quiet']);
      return JSON.parse(readFileSync(join(work, out, 'compare.json'), 'utf8'), (key, value) => (['seconds', 'samplesPerSecond', 'folder'].includes(key) ? undefined : value));
    };
    const scaled = compare('scaled.json', 'compare-scaled') as { rates: number[]; runs: Array<{ finished: boolean }> };
    expect(scaled.rates).toEqual([0, 0.3]);
    expect(scaled.runs.map((r) => r.finished)).toEqual([true, true]);
    // The config differs (its layers and modules); the runs' numbers do not.
    expect(scaled.runs).toEqual((compare('plain.json', 'compare-plain') as typeof scaled).runs);
  });
});

describe('a layer module with a mistake in its declaration', () => {
  // The entry sits between other layers, as in a real model, so the messages show its index.
  const mistaken = fileURLToPath(new URL('./fixtures/layers/mistaken.mjs', import.meta.url));
  writeFileSync(
    join(work, 'mistaken.json'),
    JSON.stringify({ epochs: 1, layers: [{ type: 'flatten' }, { type: 'linear', out: 16 }, { type: 'mistaken' }, { type: 'relu' }, { type: 'dropout', p: 0.3 }, { type: 'linear', out: 10 }] }),
  );
  const cannotLoad = `cannot load the module ${mistaken} listed in "modules": registerLayer("mistaken")`;
  const workerFailed = 'fit failed at step 0 (epoch 1, batch 1 of 71): a worker failed:';
  const restart = 'the worker pool is closed; no checkpoint was saved yet; start the run again';

  it.each([
    ['no-from-spec', `${cannotLoad}: "fromSpec" must be a function (entry, inputShape, context) that returns the layer's Module, got undefined`],
    ['no-fields', `${cannotLoad}: "fields" must be an object like { required: { out: 'int' }, optional: { bias: 'boolean' } } ({} for none), got undefined`],
    ['unknown-kind', `${cannotLoad}: "fields.optional.f" must be a field kind, one of int, pair, pair0, number, rate, positive, boolean, shape, layers, init, scaling, approximate, got "bogus"`],
    ['returns-number', `model spec layers[2] (mistaken, registered by ${mistaken}): fromSpec must return a Module (an instance of a class that extends Module from @lockstep/core), got 42`],
    ['throws', `model spec layers[2] (mistaken, registered by ${mistaken}): fromSpec threw: factory exploded`],
    ['throws-in-worker', `${workerFailed} model spec layers[2] (mistaken, registered by ${mistaken}): fromSpec threw: factory exploded in a worker; ${restart}`],
    ['no-from-spec-in-worker', `${workerFailed} cannot load the module ${mistaken}: registerLayer("mistaken"): "fromSpec" must be a function (entry, inputShape, context) that returns the layer's Module, got 7; ${restart}`],
  ])('%s: train stops with one line naming it, exit 1', (mistake, message) => {
    const { status, stdout, stderr } = lockstep(['train', '--config', 'mistaken.json', '--modules', mistaken, '--workers', '1', '--out', `mistaken-${mistake}`, '--quiet'], work, { LOCKSTEP_TEST_MISTAKE: mistake });
    expect(stderr).toBe(`lockstep: ${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
  });

  it('given as a path from the current folder, is named by that path; a worker names the file it imported', () => {
    // A copy in work/mods/, which imports @lockstep/core through work/node_modules.
    mkdirSync(join(work, 'mods'));
    symlinkSync(fileURLToPath(new URL('../node_modules', import.meta.url)), join(work, 'node_modules'));
    copyFileSync(mistaken, join(work, 'mods', 'mistaken.mjs'));
    const train = (mistake: string): string => {
      const { status, stdout, stderr } = lockstep(['train', '--config', 'mistaken.json', '--modules', 'mods/mistaken.mjs', '--workers', '1', '--out', `relative-${mistake}`, '--quiet'], work, { LOCKSTEP_TEST_MISTAKE: mistake });
      expect(status).toBe(1);
      expect(stdout).toBe('');
      return stderr;
    };
    expect(train('throws')).toBe('lockstep: model spec layers[2] (mistaken, registered by mods/mistaken.mjs): fromSpec threw: factory exploded\n');
    expect(train('throws-in-worker')).toBe(
      `lockstep: ${workerFailed} model spec layers[2] (mistaken, registered by ${join(realpathSync(work), 'mods', 'mistaken.mjs')}): fromSpec threw: factory exploded in a worker; ${restart}\n`,
    );
  });
});
