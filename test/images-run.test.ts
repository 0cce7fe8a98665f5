import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldInString, permutation, rootKey } from '@lockstep/core';
import { loadCheckpoint } from '@lockstep/cli';
import { readImageFolder } from '../packages/cli/src/data/images/folder.js';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// Runs on image trees: a JPEG tree decodes to the same bits in every process and trains to the same
// parameters at any worker count; resume is exact and catches changed files; the normalization
// computed over the training samples is recorded and used by eval; eval names the classes.
const SHAPES = fileURLToPath(new URL('../tools/data/colour-shapes.mjs', import.meta.url));
const FOLDER = new URL('../packages/cli/dist/modules/data/images/folder.js', import.meta.url).href;
const work = mkdtempSync(join(tmpdir(), 'lockstep-image-runs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep(args, work);
const shapes = (name: string, format: string): void => {
  execFileSync(process.execPath, [SHAPES, '--out', join(work, name), '--count', '24', '--size', '20', '--format', format]);
};

beforeAll(() => {
  shapes('jpegs', 'jpeg');
  shapes('pngs', 'png');
});

describe('a JPEG tree', () => {
  it('decodes to the same bits in this process, in a fresh one, and as pinned here (pure JavaScript decoding, float64 resize)', () => {
    const settings = { imageSize: [16, 16] };
    const here = readImageFolder(join(work, 'jpegs'), settings);
    const script = `import(${JSON.stringify(FOLDER)}).then(({ readImageFolder }) => { const f = readImageFolder(${JSON.stringify(join(work, 'jpegs'))}, ${JSON.stringify(settings)}); const h = require('crypto').createHash('sha256'); for (const d of [f.train, f.test]) h.update(new Uint8Array(d.inputs.buffer, d.inputs.byteOffset, d.inputs.byteLength)); process.stdout.write(h.digest('hex').slice(0, 16)); })`;
    const both = createHash('sha256');
    for (const data of [here.train, here.test!]) both.update(new Uint8Array(data.inputs.buffer, data.inputs.byteOffset, data.inputs.byteLength));
    const digest = both.digest('hex').slice(0, 16);
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe(digest);
    expect([here.train.size, here.test!.size, here.train.sampleShape]).toEqual([96, 24, [3, 16, 16]]);
    expect(digest).toBe('d8cc249de6083bfd');
  });

  it('trains to the same parameters with 1 and 3 workers', () => {
    const train = (workers: string) => run(['train', '--data', 'images:jpegs', '--image-size', '16,16', '--epochs', '2', '--workers', workers, '--out', `jpeg-w${workers}`, '--quiet']);
    const one = train('1');
    expect(one.stderr).toBe('');
    expect(fingerprintOf(train('3').stdout)).toBe(fingerprintOf(one.stdout));
  });
});

describe('resuming on an image tree', () => {
  it('1 + 1 epochs end on the bits of 2; a changed, added or renamed training file is caught; image settings cannot change', () => {
    const straight = fingerprintOf(run(['train', '--data', 'images:pngs', '--epochs', '2', '--workers', '2', '--out', 'straight', '--quiet']).stdout);
    expect(run(['train', '--data', 'images:pngs', '--epochs', '1', '--workers', '2', '--out', 'half', '--quiet']).status).toBe(0);
    const file = join(work, 'pngs/train/ring/0003.png');
    const original = readFileSync(file);
    const changed = (what: string, change: () => void, undo: () => void) => {
      change();
      const result = run(['train', '--resume', 'half/checkpoint.lockstep', '--epochs', '2', '--quiet']);
      undo();
      expect(result.stderr, what).toMatch(/^lockstep: images:pngs changed since half\/checkpoint\.lockstep was saved \(data fingerprint [0-9a-f]{16}, now [0-9a-f]{16}\); restore the data it was trained on, or add --allow-changed-data to resume on this data anyway\n$/);
      expect(result.status).toBe(1);
    };
    changed('a changed file', () => copyFileSync(join(work, 'pngs/train/ring/0004.png'), file), () => writeFileSync(file, original));
    changed('an added file', () => copyFileSync(file, join(work, 'pngs/train/ring/extra.png')), () => rmSync(join(work, 'pngs/train/ring/extra.png')));
    changed('a renamed file', () => renameSync(file, join(work, 'pngs/train/ring/0003b.png')), () => renameSync(join(work, 'pngs/train/ring/0003b.png'), file));
    const setting = run(['train', '--resume', 'half/checkpoint.lockstep', '--epochs', '2', '--image-size', '10,10']);
    expect(setting.stderr).toBe('lockstep: --image-size cannot change when resuming: half/checkpoint.lockstep was trained without imageSize; leave out --image-size\n');
    const resumed = run(['train', '--resume', 'half/checkpoint.lockstep', '--epochs', '2', '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });
});

describe('normalization computed over the training samples', () => {
  it('is the float64 mean and standard deviation of the training samples (validation left out), recorded in config.json and the checkpoint, and used by eval', () => {
    writeFileSync(join(work, 'norm.json'), JSON.stringify({ data: 'images:pngs', imageNormalize: 'train', epochs: 1, validationSplit: 0.25 }));
    const trained = run(['train', '--config', 'norm.json', '--workers', '2', '--out', 'norm', '--quiet']);
    expect(trained.stderr).toBe('');
    const recorded = JSON.parse(readFileSync(join(work, 'norm/config.json'), 'utf8')).imageData;
    expect(loadCheckpoint(join(work, 'norm/checkpoint.lockstep')).config.imageData).toEqual(recorded);
    expect(recorded.classes).toEqual(['circle', 'cross', 'ring', 'square']);

    // The same numbers, computed here another way: the seeded split's training rows; per row and channel a float64 sum
    // of the values and of their squared deviations from the row's mean; those combined in row order (total variance).
    const { train } = readImageFolder(join(work, 'pngs'), {});
    const validation = Math.round(train.size * 0.25);
    const rows = [...permutation(foldInString(rootKey(0), 'validation-split'), train.size).subarray(validation)].sort((a, b) => a - b);
    const area = 20 * 20;
    const plane = (r: number, c: number): number[] => [...train.inputs.subarray((r * 3 + c) * area, (r * 3 + c + 1) * area)];
    const sum = (r: number, c: number): number => plane(r, c).reduce((a, b) => a + b, 0);
    const squares = (r: number, c: number): number => plane(r, c).reduce((a, v) => a + (v - sum(r, c) / area) * (v - sum(r, c) / area), 0);
    const mean = [0, 1, 2].map((c) => rows.reduce((a, r) => a + sum(r, c), 0) / (rows.length * area));
    const distance = (r: number, c: number): number => sum(r, c) / area - mean[c];
    const std = [0, 1, 2].map((c) => Math.sqrt(rows.reduce((a, r) => a + (squares(r, c) + area * distance(r, c) * distance(r, c)), 0) / (rows.length * area)));
    expect(recorded.mean).toEqual(mean);
    expect(recorded.std).toEqual(std);

    // eval reads the test split with the recorded numbers: adding a bright training image changes nothing it prints.
    const evaluate = () => run(['eval', '--checkpoint', 'norm/checkpoint.lockstep', '--workers', '1']);
    const before = evaluate();
    writeFileSync(join(work, 'pngs/train/ring/white.png'), readFileSync(join(work, 'pngs/train/ring/0000.png')));
    const after = evaluate();
    rmSync(join(work, 'pngs/train/ring/white.png'));
    expect(after.stdout).toBe(before.stdout);
    expect(before.stdout).toMatch(/^test set: 24 samples, loss \d\.\d{4}, accuracy \d\.\d{4}\n/);
  });
});

describe('eval on an image run', () => {
  it('prints each class\'s accuracy by its folder name, and in --json', () => {
    const result = run(['eval', '--checkpoint', 'straight/checkpoint.lockstep', '--workers', '1']);
    const lines = result.stdout.trim().split('\n');
    const perClass = lines.slice(lines.indexOf('accuracy per class') + 1);
    expect(perClass.map((line) => line.split(/\s+/).slice(1, 3)[1])).toEqual(['circle', 'cross', 'ring', 'square']);
    for (const line of perClass) expect(line).toMatch(/^ {4}\d \S+ +\d\.\d{4} \(\d+ of 6\)$/);
    const json = JSON.parse(run(['eval', '--checkpoint', 'straight/checkpoint.lockstep', '--workers', '1', '--json']).stdout);
    expect(json.perClass.map((entry: { name: string; samples: number }) => [entry.name, entry.samples])).toEqual([
      ['circle', 6],
      ['cross', 6],
      ['ring', 6],
      ['square', 6],
    ]);
  });
});

describe('predict on image files', () => {
  it('gives one row per image with its path, the predicted class by folder name and the probabilities; with --mc-samples the spread; JSON and CSV agree', () => {
    const folder = join('pngs', 'test', 'ring');
    const predict = (...extra: string[]) => run(['predict', '--checkpoint', 'straight/checkpoint.lockstep', '--input', folder, '--workers', '1', ...extra]);
    const json = predict();
    expect(json.stderr).toBe('');
    const rows = JSON.parse(json.stdout) as Array<{ path: string; class: string; probabilities: number[] }>;
    expect(rows.map((row) => row.path)).toEqual(Array.from({ length: 6 }, (_, i) => join(folder, `${String(i).padStart(4, '0')}.png`)));
    const names = ['circle', 'cross', 'ring', 'square'];
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['path', 'class', 'probabilities']);
      expect(row.class).toBe(names[row.probabilities.indexOf(Math.max(...row.probabilities))]);
      expect(Math.abs(row.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    const csv = predict('--format', 'csv').stdout.trim().split('\n');
    expect(csv[0]).toBe('path,class,p0,p1,p2,p3');
    expect(csv.slice(1)).toEqual(rows.map((row) => [row.path, row.class, ...row.probabilities].join(',')));
    const single = run(['predict', '--checkpoint', 'straight/checkpoint.lockstep', '--input', rows[2]!.path, '--workers', '1']);
    expect(JSON.parse(single.stdout)).toEqual([rows[2]]);
    const mc = JSON.parse(predict('--mc-samples', '8', '--workers', '2').stdout) as Array<Record<string, unknown>>;
    expect(Object.keys(mc[0]!)).toEqual(['path', 'class', 'probabilities', 'std', 'entropy', 'mutualInformation']);
    expect(mc.map((row) => row.path)).toEqual(rows.map((row) => row.path));
  });
});
