import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// A run folder's config.json given back to --config trains the same model with the same settings, as
// Keras' from_config(get_config()) builds the same model: the same fingerprint bit for bit, and the
// same config.json. What it records of its run beside the settings ("model", "workers", "ranks",
// "initFrom") is checked, noted, or refused with one line that says what to do.
const SHAPES = fileURLToPath(new URL('../tools/data/colour-shapes.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lockstep-run-config-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => lockstep(args, work);
const read = (path: string): string => readFileSync(join(work, path), 'utf8');
const write = (path: string, value: unknown): void => writeFileSync(join(work, path), JSON.stringify(value));

/** The fingerprint of a run that must succeed without a word on stderr. */
function fingerprintOfRun(args: string[]): string {
  const result = run([...args, '--quiet']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return fingerprintOf(result.stdout);
}

// The default MLP on the built-in data, trained once; every test below gives its config.json back.
let mlp = '';
beforeAll(() => {
  mlp = fingerprintOfRun(['train', '--epochs', '1', '--workers', '2', '--out', 'mlp']);
  execFileSync(process.execPath, [SHAPES, '--out', join(work, 'shapes'), '--count', '12', '--size', '16']);
});

describe("a run's config.json as --config", () => {
  it('train: the default MLP trains to the same fingerprint and writes the same config.json', () => {
    expect(fingerprintOfRun(['train', '--config', 'mlp/config.json', '--workers', '2', '--out', 'mlp-again'])).toBe(mlp);
    expect(read('mlp-again/config.json')).toBe(read('mlp/config.json'));
  });

  it('train: a CNN with BatchNorm on images, normalized by statistics computed over the training samples and recorded in "imageData"', () => {
    const layers = [
      { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
      { type: 'batch-norm2d' },
      { type: 'relu' },
      { type: 'max-pool2d', kernelSize: 2 },
      { type: 'dropout2d', p: 0.1 },
      { type: 'flatten' },
      { type: 'dropout', p: 0.3 },
      { type: 'linear', out: 4 },
    ];
    write('cnn.json', { data: 'images:shapes', imageNormalize: 'train', layers, batchSize: 16, chunkSize: 8, epochs: 2 });
    const first = fingerprintOfRun(['train', '--config', 'cnn.json', '--out', 'cnn']);
    expect(JSON.parse(read('cnn/config.json')).imageData.mean).toHaveLength(3);
    expect(fingerprintOfRun(['train', '--config', 'cnn/config.json', '--out', 'cnn-again'])).toBe(first);
    expect(read('cnn-again/config.json')).toBe(read('cnn/config.json'));
  });

  it('train: any worker count gives the same numbers, so a recorded count that differs is a note', () => {
    const result = run(['train', '--config', 'mlp/config.json', '--workers', '1', '--out', 'mlp-one']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('note: mlp/config.json records a run on 2 workers and 1 rank; this one trains on 1 worker and 1 rank, which gives the same numbers');
    expect(fingerprintOf(result.stdout)).toBe(mlp);
  });

  it('train: a run from other weights is repeated with --init-from, which its "initFrom" records', () => {
    expect(run(['export', '--checkpoint', 'mlp/checkpoint.lockstep', '--format', 'safetensors', '--out', 'mlp.safetensors']).status).toBe(0);
    const tuned = fingerprintOfRun(['train', '--init-from', 'mlp.safetensors', '--epochs', '1', '--lr', '0.01', '--out', 'tuned']);
    expect(fingerprintOfRun(['train', '--config', 'tuned/config.json', '--init-from', 'mlp.safetensors', '--out', 'tuned-again'])).toBe(tuned);
  });

  it("import: the weights exported from a run, imported with the run's config.json, give the run's fingerprint; an import's own config.json is taken too", () => {
    const imported = run(['import', '--config', 'mlp/config.json', '--weights', 'mlp.safetensors', '--out', 'imported']);
    expect(imported.stderr).toBe('');
    expect(fingerprintOf(imported.stdout)).toBe(mlp);
    // Its "initFrom" records the file, and --weights names the weights of this import.
    const again = run(['import', '--config', 'imported/config.json', '--weights', 'mlp.safetensors', '--out', 'imported-again']);
    expect(again.stderr).toBe('');
    expect(fingerprintOf(again.stdout)).toBe(mlp);
  });

  it("compare --config: the run's rate trains to the run's fingerprint", () => {
    expect(run(['compare', '--config', 'mlp/config.json', '--dropout', '0.5', '--workers', '2', '--out', 'compared', '--quiet']).status).toBe(0);
    const runs = JSON.parse(read('compared/compare.json')).runs as Array<{ finalFingerprint: string }>;
    expect(runs.map((r) => r.finalFingerprint)).toEqual([mlp]);
  });
});

describe("the schedule's lengths that a run filled in are filled in again from the new run's length", () => {
  beforeAll(() => write('cosine.json', { epochs: 2, schedule: { kind: 'cosine' } }));

  it('train --epochs 4 from a 2-epoch cosine run\'s config.json: T_max 4, the fingerprint of the settings file run for 4 epochs', () => {
    fingerprintOfRun(['train', '--config', 'cosine.json', '--out', 'cosine']);
    const recorded = JSON.parse(read('cosine/config.json'));
    expect([recorded.schedule.T_max, recorded.scheduleFromRun]).toEqual([2, ['T_max']]);
    const longer = fingerprintOfRun(['train', '--config', 'cosine/config.json', '--epochs', '4', '--out', 'cosine-longer']);
    expect(JSON.parse(read('cosine-longer/config.json')).schedule.T_max).toBe(4);
    expect(longer).toBe(fingerprintOfRun(['train', '--config', 'cosine.json', '--epochs', '4', '--out', 'cosine-four']));
  });

  it("train --resume with the run's own config.json takes the schedule as written, the checkpoint's: it ends on the run's fingerprint", () => {
    const finished = fingerprintOfRun(['train', '--config', 'cosine.json', '--out', 'cosine-own']);
    expect(fingerprintOfRun(['train', '--config', 'cosine-own/config.json', '--resume', 'cosine-own/checkpoint.lockstep'])).toBe(finished);
  });

  it('compare --dropout: every rate trains with the schedule that the run\'s length resolved, and records it', () => {
    const result = run(['compare', '--config', 'cosine.json', '--dropout', '0,0.5', '--out', 'cosine-compared', '--quiet']);
    expect([result.status, result.stderr]).toEqual([0, '']);
    for (const rate of ['dropout-0', 'dropout-0.5']) {
      const recorded = JSON.parse(read(`cosine-compared/${rate}/config.json`));
      expect([recorded.schedule.T_max, recorded.scheduleFromRun]).toEqual([2, ['T_max']]);
    }
  });

  it('train --lr 0.1 from a one-cycle run\'s config.json: max_lr 0.1, the fingerprint of the settings file run with --lr 0.1', () => {
    write('one-cycle.json', { epochs: 1, schedule: { kind: 'one-cycle' } });
    fingerprintOfRun(['train', '--config', 'one-cycle.json', '--out', 'one-cycle']);
    expect(JSON.parse(read('one-cycle/config.json')).scheduleFromRun).toEqual(['max_lr', 'total_steps']);
    const faster = fingerprintOfRun(['train', '--config', 'one-cycle/config.json', '--lr', '0.1', '--out', 'one-cycle-faster']);
    expect(JSON.parse(read('one-cycle-faster/config.json')).schedule.max_lr).toBe(0.1);
    expect(faster).toBe(fingerprintOfRun(['train', '--config', 'one-cycle.json', '--lr', '0.1', '--out', 'one-cycle-given']));
  });

  it('a field that no run fills in is refused', () => {
    write('eta-min.json', { ...JSON.parse(read('cosine/config.json')), scheduleFromRun: ['eta_min'] });
    const { status, stderr } = run(['train', '--config', 'eta-min.json', '--out', 'refused']);
    expect(stderr).toBe('lockstep: eta-min.json: "scheduleFromRun" must be a list of the schedule\'s fields a run fills in (T_max, max_lr, total_steps), got an array\n');
    expect(status).toBe(1);
  });
});

describe('what a config file holds beyond the settings, refused with one line', () => {
  beforeAll(() => {
    const recorded = JSON.parse(read('mlp/config.json'));
    write('edited.json', { ...recorded, hidden: [64, 64] });
    write('typo.json', { ...recorded, epochz: 3 });
    write('text-workers.json', { ...recorded, workers: '4' });
    write('list-model.json', { ...recorded, model: [128] });
  });

  it.each([
    [
      ['train', '--config', 'edited.json'],
      'lockstep: edited.json: the settings give this data a model with layer 0 {"type":"linear","out":64} where "model" has {"type":"linear","out":256}; remove "model" to take the model the settings give, or restore the settings and data of the run that recorded it',
    ],
    [
      ['import', '--config', 'edited.json', '--weights', 'mlp.safetensors'],
      'lockstep: edited.json: the settings give this data a model with layer 0 {"type":"linear","out":64} where "model" has {"type":"linear","out":256}; remove "model" to take the model the settings give, or restore the settings and data of the run that recorded it',
    ],
    [
      ['train', '--config', 'tuned/config.json'],
      'lockstep: tuned/config.json: "initFrom" records that its run started from the weights of mlp.safetensors; add --init-from mlp.safetensors to start from them too, or remove "initFrom" to start from the seed\'s weights',
    ],
    [
      ['compare', '--config', 'tuned/config.json'],
      'lockstep: tuned/config.json: "initFrom" records that its run started from the weights of mlp.safetensors, and compare trains every model from its seed\'s weights; remove "initFrom" to compare from those',
    ],
    [['train', '--config', 'typo.json'], 'lockstep: typo.json: "epochz" is not a setting; remove it or correct its name (lockstep train --help lists the settings)'],
    [['import', '--config', 'typo.json', '--weights', 'mlp.safetensors'], 'lockstep: typo.json: "epochz" is not a setting; remove it or correct its name (lockstep train --help lists the settings)'],
    [['train', '--config', 'text-workers.json'], 'lockstep: text-workers.json: "workers" must be an integer >= 1, got "4"; write it as 4'],
    [['train', '--config', 'list-model.json'], 'lockstep: list-model.json: "model" must be the model a run records, {"input": [...], "layers": [...]}, got an array'],
  ])('%j', (args, message) => {
    const { status, stdout, stderr } = run([...args, '--out', 'refused']);
    expect(stderr).toBe(`${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
  });
});
