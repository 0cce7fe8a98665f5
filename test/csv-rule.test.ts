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
  'beyond-float32.csv': ['x1,x2,x3,label', ...samples.slice(0, 30), '0.5,1e39,0,1', ...samples.slice(30)].join('\n'),
  'below-float32.csv': ['x1,x2,x3,label', ...samples, '-4e38,1,0,1'].join('\n'),
  'hex.csv': ['x1,x2,x3,label', ...samples.slice(0, 5), '0.5,1,0x10,1'].join('\n'),
  'binary.csv': ['x1,x2,x3,label', '0b11,1,0.5,0', ...samples].join('\n'),
  'octal-label.csv': ['x1,x2,x3,label', ...samples, '1,1,1,0o7'].join('\n'),
  'infinity.csv': ['x1,x2,x3,label', ...samples, '1,-Infinity,1,0'].join('\n'),
  'blank.csv': ['x1,x2,x3,label', ...samples, '1,"  ",1,0'].join('\n'),
  'one-class.csv': ['x1,x2,x3,label', ...samples.map((row) => row.replace(/,\d$/, ',3'))].join('\n'),
  'small.json': JSON.stringify({ hidden: [8], epochs: 1, batchSize: 8, chunkSize: 8 }),
  'far-rows.csv': ['x1,x2,x3', '1,2,3', '4,5,4e38'].join('\n'),
  'rows.csv': samples.slice(0, 3).map((row) => row.split(',').slice(0, 3).join(',')).join('\n'),
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), `${text}\n`);

const FLOAT32 = "is outside float32's range (about ±3.4e38), in which samples are stored; scale the column down";

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
    ['beyond-float32.csv', `lockstep: beyond-float32.csv: line 32, column 2: "1e39" ${FLOAT32}`],
    ['below-float32.csv', `lockstep: below-float32.csv: line 42, column 1: "-4e38" ${FLOAT32}`],
    ['hex.csv', 'lockstep: hex.csv: line 7, column 3: "0x10" is not a decimal number; write it as 16'],
    ['binary.csv', 'lockstep: binary.csv: line 2, column 1: "0b11" is not a decimal number; write it as 3'],
    ['octal-label.csv', 'lockstep: octal-label.csv: line 42, column 4: "0o7" is not a decimal number; write it as 7'],
    ['infinity.csv', 'lockstep: infinity.csv: line 42, column 2: "-Infinity" is not a number'],
    ['blank.csv', 'lockstep: blank.csv: line 42, column 2: "  " is not a number'],
    ['one-class.csv', 'lockstep: one-class.csv holds one class (every label is 3); classification needs two or more, so add rows of another class (the label is the column "label")'],
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
    const far = lockstep(['predict', '--checkpoint', 'csv-run/checkpoint.lockstep', '--input', 'far-rows.csv', '--workers', '1'], work);
    expect(far.stderr).toBe(`lockstep: far-rows.csv: line 3, column 3: "4e38" ${FLOAT32}\n`);
    expect(far.status).toBe(1);
    expect(far.stdout).toBe('');
  });

  it('--help states the rule', () => {
    const rule = 'CSV files (csv:FILE and predict --input): the first line names the columns, and no name may be a\nnumber';
    expect(lockstep(['train', '--help'], work).stdout).toContain(rule);
    expect(lockstep(['predict', '--help'], work).stdout).toContain(rule);
  });
});
