import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { augmentRows, augmentRunKey, checkAugment, Dataset, idxImagesToFloat, idxLabels, parseIdx } from '@lockstep/core';
import { writeIdxImages } from './helpers/images.js';
import { lockstep } from './helpers/lockstep.js';

const work = mkdtempSync(join(tmpdir(), 'lockstep-data-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// 40 images of 28 x 28; with validationSplit 0 the training samples are the file's, in order.
writeIdxImages(join(work, 'images'), 40);
writeFileSync(join(work, 'all.json'), JSON.stringify({ data: 'idx:images', validationSplit: 0, seed: 4 }));

// The sheet's layout: pictures 3x (84 px), a cell is two pictures 4 px apart over a 20 px label line, 10 px margins.
const [MARGIN, PICTURE, CELL_WIDTH, CELL_HEIGHT] = [10, 84, 172, 104];

function readSheet(path: string): PNG {
  return PNG.sync.read(readFileSync(join(work, path)));
}

/** The grey level of the picture pixel (y, x) of cell `cell` (left or right picture) in a sheet of `columns` columns and `rows` rows. */
function pixel(sheet: PNG, rows: number, columns: number, cell: number, side: 0 | 1, y: number, x: number): number {
  const top = sheet.height - MARGIN - rows * (CELL_HEIGHT + MARGIN);
  const left = MARGIN + (cell % columns) * (CELL_WIDTH + MARGIN) + side * (PICTURE + 4);
  const at = 4 * ((top + Math.floor(cell / columns) * (CELL_HEIGHT + MARGIN) + 3 * y) * sheet.width + left + 3 * x);
  return sheet.data[at]!;
}

describe('lockstep data', () => {
  it('writes a PNG contact sheet: 6 samples in 3 rows of 2, each as stored and as training augments it in the epoch asked for', () => {
    const augment = 'cropPadding=2,flip,brightness=0.3';
    const result = lockstep(['data', '--config', 'all.json', '--augment', augment, '--count', '6', '--epoch', '2', '--out', 'sheet.png'], work);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('wrote sheet.png: the first 6 training samples of idx:images, as stored and augmented for epoch 2\n');
    const sheet = readSheet('sheet.png');
    // 2 cells across (the sheet's least width, 400 px); 4 title lines of 20 px (the augmentation wrapped) over 3 rows of cells.
    expect([sheet.width, sheet.height]).toEqual([400, MARGIN + 4 * 20 + 3 * (CELL_HEIGHT + MARGIN) + MARGIN]);

    // Each picture is the sample, stored values mapped from the originals' lowest to highest.
    const bytes = readFileSync(join(work, 'images', 'train-images-idx3-ubyte'));
    const labels = idxLabels(parseIdx(readFileSync(join(work, 'images', 'train-labels-idx1-ubyte'))));
    const pixels = idxImagesToFloat(parseIdx(bytes));
    const data = new Dataset(pixels.data, [1, 28, 28], { kind: 'classes', labels, classes: 4 });
    const originals = data.inputs.subarray(0, 6 * 784);
    const [low, high] = [Math.min(...originals), Math.max(...originals)];
    const level = (value: number): number => Math.round((255 * (Math.min(high, Math.max(low, value)) - low)) / (high - low));
    const augmented = new Float32Array(6 * 784);
    augmentRows(data, [0, 1, 2, 3, 4, 5], augmented, { spec: checkAugment(Object.fromEntries(augment.split(',').map((f) => f.split('=')).map(([k, v]) => [k, v === undefined ? true : Number(v)])), [1, 28, 28]), key: augmentRunKey(4) }, 2);
    let changed = 0;
    for (let cell = 0; cell < 6; cell++) {
      for (let p = 0; p < 784; p++) {
        const [y, x] = [Math.floor(p / 28), p % 28];
        expect(pixel(sheet, 3, 2, cell, 0, y, x)).toBe(level(originals[cell * 784 + p]!));
        expect(pixel(sheet, 3, 2, cell, 1, y, x)).toBe(level(augmented[cell * 784 + p]!));
        if (originals[cell * 784 + p] !== augmented[cell * 784 + p]) changed++;
      }
    }
    expect(changed).toBeGreaterThan(1000);
  });

  it('without augmentation draws both sides the same, and says so', () => {
    const result = lockstep(['data', '--config', 'all.json', '--count', '1', '--out', 'plain.png'], work);
    expect(result.stdout).toBe(
      'wrote plain.png: the first 1 training samples of idx:images, as stored and augmented for epoch 0; no augmentation is set, so both sides are the same (give --augment or "augment" in --config)\n',
    );
    const sheet = readSheet('plain.png');
    for (let p = 0; p < 784; p++) expect(pixel(sheet, 1, 1, 0, 1, Math.floor(p / 28), p % 28)).toBe(pixel(sheet, 1, 1, 0, 0, Math.floor(p / 28), p % 28));
  });

  it('bad flags and data that are not images are one line, and nothing is written', () => {
    const cases: Array<[string[], string]> = [
      [['--count', '0'], 'lockstep: --count must be an integer from 1 to 256, got "0"'],
      [['--count', 'many'], 'lockstep: --count must be an integer from 1 to 256, got "many"'],
      [['--epoch', '-1'], 'lockstep: --epoch must be an integer >= 0, got "-1"'],
      [['--out', 'sheet.jpg'], 'lockstep: --out must name a .png file, got "sheet.jpg"'],
      [['--data', 'idx:images', '--count', '37'], 'lockstep: --count 37 is more than the 36 training samples of idx:images; give at most 36'],
      [['--data', 'idx:images', '--augment', 'translate=1'], 'lockstep: --augment translate must be a number from 0 to 0.5, got 1'],
      [['--data', 'idx:images', '--augment', 'cropPadding=20'], "lockstep: augment.cropPadding 20 is more than half the samples' height or width (28 x 28); give at most 14"],
      [[], 'lockstep: lockstep data draws image samples of shape [C,H,W], but default has samples of shape [128]'],
    ];
    for (const [args, line] of cases) {
      const result = lockstep(['data', ...args, ...(args.includes('--out') ? [] : ['--out', 'refused.png'])], work);
      expect(result.stderr, args.join(' ')).toBe(`${line}\n`);
      expect(result.status).toBe(1);
    }
    expect(existsSync(join(work, 'refused.png'))).toBe(false);
    expect(existsSync(join(work, 'sheet.jpg'))).toBe(false);
  });

  it('refuses to replace an existing --out: one line, exit 1, the file unchanged; --overwrite replaces it', () => {
    writeFileSync(join(work, 'mine.png'), 'my own picture\n');
    const args = ['data', '--config', 'all.json', '--count', '1'];
    const refused = lockstep([...args, '--out', 'mine.png'], work);
    expect(refused.stderr).toBe('lockstep: mine.png already exists; replace it with --overwrite, or choose another --out\n');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(readFileSync(join(work, 'mine.png'), 'utf8')).toBe('my own picture\n');
    expect(lockstep([...args, '--out', 'fresh.png'], work).status).toBe(0);
    const replaced = lockstep([...args, '--out', 'mine.png', '--overwrite'], work);
    expect(replaced.stderr).toBe('');
    expect(replaced.status).toBe(0);
    expect(readFileSync(join(work, 'mine.png'))).toEqual(readFileSync(join(work, 'fresh.png')));
  });
});
