import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '@lockstep/cli';
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

// A model's inputs are its training file's columns by position: a CSV with the same names in
// another order would give other probabilities without a word, so the checkpoint records the names.
describe('a CSV given to a checkpoint has the columns it trained on, in that order', () => {
  const values = samples.map((row) => row.split(',').slice(0, 3));
  const labels = samples.map((row) => row.split(',')[3]!);
  const table = (header: string[], row: (v: string[], label: string) => string[]) => [header.join(','), ...values.map((v, r) => row(v, labels[r]!).join(','))].join('\n') + '\n';
  const columns: Record<string, string> = {
    'abc.csv': table(['a', 'b', 'c', 'label'], (v, l) => [...v, l]),
    'label-first.csv': table(['label', 'a', 'b', 'c'], (v, l) => [l, ...v]),
    'cba.csv': table(['c', 'b', 'a'], (v) => [...v].reverse()),
    'cba-labelled.csv': table(['c', 'b', 'a', 'label'], (v, l) => [...[...v].reverse(), l]),
    'abcd.csv': table(['a', 'b', 'c', 'd'], (v) => [...v, '0']),
    'ab.csv': table(['a', 'b', 'label'], (v, l) => [v[0]!, v[1]!, l]),
  };
  for (const [name, text] of Object.entries(columns)) writeFileSync(join(work, name), text);
  const predict = (checkpoint: string, input: string) => lockstep(['predict', '--checkpoint', checkpoint, '--input', input, '--workers', '1'], work);
  const refused = (result: { status: number | null; stdout: string; stderr: string }, line: string) => {
    expect(result.stderr).toBe(`lockstep: ${line}\n`);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
  };
  const trainedOn = '(its columns: a, b, c)';

  it('train records the feature columns; predict and eval take them in that order, with the label anywhere, and refuse any other order', () => {
    const train = lockstep(['train', '--data', 'csv:abc.csv', '--config', 'small.json', '--workers', '1', '--out', 'abc-run', '--quiet'], work);
    expect(train.stderr).toBe('');
    expect(loadCheckpoint(join(work, 'abc-run/checkpoint.lockstep')).featureNames).toEqual(['a', 'b', 'c']);
    const same = predict('abc-run/checkpoint.lockstep', 'abc.csv');
    expect(same.stderr).toBe('');
    expect(predict('abc-run/checkpoint.lockstep', 'label-first.csv').stdout).toBe(same.stdout);
    refused(predict('abc-run/checkpoint.lockstep', 'cba.csv'), `cba.csv: column 1 is "c", but abc-run/checkpoint.lockstep was trained on "a" there ${trainedOn}; give the columns in that order`);
    refused(predict('abc-run/checkpoint.lockstep', 'abcd.csv'), `abcd.csv: column 4 is "d", but abc-run/checkpoint.lockstep was trained on 3 columns ${trainedOn}; leave it out`);
    refused(predict('abc-run/checkpoint.lockstep', 'ab.csv'), `ab.csv has 2 columns besides "label", and abc-run/checkpoint.lockstep was trained on 3 ${trainedOn}; add the column "c"`);
    const evaluate = (data: string) => lockstep(['eval', '--checkpoint', 'abc-run/checkpoint.lockstep', '--data', `csv:${data}`, '--workers', '1', '--json'], work);
    expect(evaluate('abc.csv').stderr).toBe('');
    refused(evaluate('cba-labelled.csv'), `cba-labelled.csv: column 1 is "c", but abc-run/checkpoint.lockstep was trained on "a" there ${trainedOn}; give the columns in that order`);
  });

  it('train --resume on a training file whose columns moved stops with the same line, --allow-changed-data or not', () => {
    copyFileSync(join(work, 'abc.csv'), join(work, 'moving.csv'));
    expect(lockstep(['train', '--data', 'csv:moving.csv', '--config', 'small.json', '--workers', '1', '--out', 'moving-run', '--quiet'], work).status).toBe(0);
    copyFileSync(join(work, 'cba-labelled.csv'), join(work, 'moving.csv'));
    const line = `moving.csv: column 1 is "c", but moving-run/checkpoint.lockstep was trained on "a" there ${trainedOn}; give the columns in that order`;
    for (const allow of [[], ['--allow-changed-data']]) {
      refused(lockstep(['train', '--resume', 'moving-run/checkpoint.lockstep', '--epochs', '2', '--workers', '1', ...allow], work), line);
    }
  });

  it('a checkpoint that records no columns (older lockstep) predicts a CSV of the right width as before', () => {
    const checkpoint = loadCheckpoint(join(work, 'abc-run/checkpoint.lockstep'));
    const { featureNames: _, ...older } = checkpoint;
    saveCheckpoint(join(work, 'older.lockstep'), older);
    const result = predict('older.lockstep', 'cba.csv');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(40);
  });
});
