import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockstep } from './helpers/lockstep.js';

// One rule for every CSV (train, eval, predict): the first line names the columns, and a first line
// that reads as data is refused, never guessed.
const work = mkdtempSync(join(tmpdir(), 'lockstep-csv-rule-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const samples = Array.from({ length: 40 }, (_, r) => `${Math.sin(r).toFixed(3)},${Math.cos(r).toFixed(3)},${(r % 5) / 5},${r % 2}`);
const files: Record<string, string> = {
  'train.csv': ['x1,x2,x3,label', ...samples].join('\n'),
  'nan-first.csv': ['NaN,1,0.5,0', ...samples].join('\n'),
  'text-first.csv': ['a,1,0.5,0', ...samples].join('\n'),
  'numeric-header.csv': ['0,1,2,3', ...samples].join('\n'),
  'unnamed.csv': ['x1,,x3,label', ...samples].join('\n'),
  'nan-later.csv': ['x1,x2,x3,label', samples[0], 'NaN,1,0.5,0', ...samples].join('\n'),
  'header-only.csv': 'x1,x2,x3,label\n',
  'small.json': JSON.stringify({ hidden: [8], epochs: 1, batchSize: 8, chunkSize: 8 }),
  'rows.csv': samples.slice(0, 3).map((row) => row.split(',').slice(0, 3).join(',')).join('\n'),
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), `${text}\n`);

const header = (file: string, column: number, name: string): string =>
  `lockstep: ${file}: line 1 must be a header of column names, but column ${column} is "${name}", which reads as a number; add a header line above the data (e.g. x1,x2,label) or rename the column`;

describe('the CSV header rule', () => {
  it.each([
    ['nan-first.csv', header('nan-first.csv', 1, 'NaN')],
    ['text-first.csv', header('text-first.csv', 2, '1')],
    ['numeric-header.csv', header('numeric-header.csv', 1, '0')],
    ['unnamed.csv', 'lockstep: unnamed.csv: line 1 is the header, and column 2 has no name; name every column (e.g. x1,x2,label)'],
    ['nan-later.csv', 'lockstep: nan-later.csv: line 3, column 1: "NaN" is not a number'],
    ['header-only.csv', 'lockstep: header-only.csv needs a header and at least one row of two or more columns (features and a label)'],
  ])('train --data csv:%s: one line, exit 1, no run folder', (file, message) => {
    const { status, stdout, stderr } = lockstep(['train', '--data', `csv:${file}`, '--out', `run-${file}`], work);
    expect(stderr).toBe(`${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, `run-${file}`))).toBe(false);
  });

  it('a header line is not a sample: 40 rows train on 36 + 4, and predict takes the training file as it is', () => {
    const train = lockstep(['train', '--data', 'csv:train.csv', '--config', 'small.json', '--workers', '1', '--out', 'csv-run', '--json'], work);
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    expect(JSON.parse(train.stdout.split('\n')[0]!)).toMatchObject({ samples: 36 });
    const predicted = lockstep(['predict', '--checkpoint', 'csv-run/checkpoint.lockstep', '--input', 'train.csv', '--workers', '1'], work);
    expect(predicted.stderr).toBe('');
    expect(JSON.parse(predicted.stdout)).toHaveLength(40);
    const headless = lockstep(['predict', '--checkpoint', 'csv-run/checkpoint.lockstep', '--input', 'rows.csv', '--workers', '1'], work);
    expect(headless.stderr).toBe(
      `lockstep: rows.csv: line 1 must be a header of column names, but column 1 is "${samples[0]!.split(',')[0]}", which reads as a number; add a header line above the data (e.g. x1,x2,x3) or rename the column\n`,
    );
    expect(headless.status).toBe(1);
  });

  it('--help states the rule', () => {
    const rule = 'CSV files (csv:FILE and predict --input): the first line names the columns, and no name may be a\nnumber';
    expect(lockstep(['train', '--help'], work).stdout).toContain(rule);
    expect(lockstep(['predict', '--help'], work).stdout).toContain(rule);
  });
});
