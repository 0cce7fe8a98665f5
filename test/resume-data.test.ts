import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataFingerprint } from '../packages/cli/src/data/data-fingerprint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../packages/cli/src/run/checkpoint.js';
import { writeIdxImages } from './helpers/images.js';
import { lockstep } from './helpers/lockstep.js';

// A checkpoint records a fingerprint of the data it trained on; resuming on other data is refused, or
// allowed with --allow-changed-data and a note; a checkpoint without one resumes with a note.
const work = mkdtempSync(join(tmpdir(), 'lockstep-resume-data-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const row = (r: number): string => `${Math.sin(r).toFixed(3)},${Math.cos(r).toFixed(3)},${r % 2}`;
writeFileSync(join(work, 'grow.csv'), `${['x1,x2,label', ...Array.from({ length: 40 }, (_, r) => row(r))].join('\n')}\n`);
writeFileSync(join(work, 'small.json'), JSON.stringify({ data: 'csv:grow.csv', hidden: [8], epochs: 1, batchSize: 8, chunkSize: 8 }));

const notes = (stdout: string): string[] =>
  stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((event) => event.event === 'info' && event.message.startsWith('note:')).map((event) => event.message);

describe('resuming on the data a checkpoint was trained on', () => {
  it('a grown CSV is refused with one line and nothing written; --allow-changed-data goes on with a note', () => {
    expect(lockstep(['train', '--config', 'small.json', '--workers', '1', '--out', 'run', '--quiet'], work).status).toBe(0);
    const checkpoint = join(work, 'run', 'checkpoint.lockstep');
    const recorded = decodeCheckpoint(readFileSync(checkpoint), 'run/checkpoint.lockstep').dataFingerprint;
    expect(recorded).toMatch(/^[0-9a-f]{16}$/);
    const same = lockstep(['train', '--resume', 'run/checkpoint.lockstep', '--epochs', '2', '--workers', '1', '--json'], work);
    expect(same.stderr).toBe('');
    expect(same.status).toBe(0);
    expect(notes(same.stdout)).toEqual([]);

    appendFileSync(join(work, 'grow.csv'), `${row(40)}\n`);
    const folder = (): unknown => ({ files: readdirSync(join(work, 'run')).sort(), checkpoint: readFileSync(checkpoint) });
    const before = folder();
    const refused = lockstep(['train', '--resume', 'run/checkpoint.lockstep', '--epochs', '3', '--workers', '1'], work);
    expect(folder()).toEqual(before);
    const grown = lockstep(['train', '--resume', 'run/checkpoint.lockstep', '--epochs', '3', '--workers', '1', '--allow-changed-data', '--json'], work);
    // The run goes on with the data it now trains on, and its checkpoint says so.
    const fingerprint = decodeCheckpoint(readFileSync(checkpoint), 'run/checkpoint.lockstep').dataFingerprint;
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint).not.toBe(recorded);
    const change = `csv:grow.csv changed since run/checkpoint.lockstep was saved (data fingerprint ${recorded}, now ${fingerprint})`;
    expect(refused.stderr).toBe(`lockstep: ${change}; restore the data it was trained on, or add --allow-changed-data to resume on this data anyway\n`);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(grown.stderr).toBe('');
    expect(grown.status).toBe(0);
    expect(notes(grown.stdout)).toEqual([`note: ${change}; the run will not match an uninterrupted one`]);
  });

  it('a checkpoint without a data fingerprint (an older lockstep) resumes with a note', () => {
    expect(lockstep(['train', '--config', 'small.json', '--workers', '1', '--out', 'old', '--quiet'], work).status).toBe(0);
    const path = join(work, 'old', 'checkpoint.lockstep');
    const { dataFingerprint: _dropped, ...older } = decodeCheckpoint(readFileSync(path), 'old/checkpoint.lockstep');
    writeFileSync(path, encodeCheckpoint(older));
    const resumed = lockstep(['train', '--resume', 'old/checkpoint.lockstep', '--epochs', '2', '--workers', '1', '--json'], work);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(notes(resumed.stdout)).toEqual(['note: old/checkpoint.lockstep records no fingerprint of its data (an older lockstep wrote it), so the data could not be checked']);
  });

  it('--allow-changed-data without --resume is one line', () => {
    const { status, stderr } = lockstep(['train', '--allow-changed-data', '--out', 'never'], work);
    expect(stderr).toBe('lockstep: --allow-changed-data only applies with --resume; add --resume CHECKPOINT\n');
    expect(status).toBe(1);
  });
});

describe('eval on the data a checkpoint was trained on', () => {
  const small = ['--config', 'small.json', '--workers', '1', '--quiet'];

  it('the validation split of a grown CSV is refused (it would be drawn again, with training rows in it)', () => {
    writeFileSync(join(work, 'eval.csv'), `${['x1,x2,label', ...Array.from({ length: 40 }, (_, r) => row(r))].join('\n')}\n`);
    expect(lockstep(['train', '--data', 'csv:eval.csv', ...small, '--out', 'eval-run'], work).status).toBe(0);
    const before = lockstep(['eval', '--checkpoint', 'eval-run/checkpoint.lockstep', '--workers', '1', '--json'], work);
    expect(before.stderr).toBe('');
    expect(JSON.parse(before.stdout)).toMatchObject({ set: 'validation split', samples: 4 });
    const recorded = decodeCheckpoint(readFileSync(join(work, 'eval-run', 'checkpoint.lockstep')), 'eval-run/checkpoint.lockstep').dataFingerprint;
    appendFileSync(join(work, 'eval.csv'), `${[40, 41, 42, 43].map(row).join('\n')}\n`);
    const after = lockstep(['eval', '--checkpoint', 'eval-run/checkpoint.lockstep', '--workers', '1'], work);
    const now = dataFingerprint([readFileSync(join(work, 'eval.csv'))]);
    expect(after.stderr).toBe(
      `lockstep: csv:eval.csv changed since eval-run/checkpoint.lockstep was saved (data fingerprint ${recorded}, now ${now}), so its validation split would be drawn again and hold samples the run trained on; restore the data it was trained on, or evaluate data with a test set (--data)\n`,
    );
    expect(after.status).toBe(1);
    expect(after.stdout).toBe('');
  });

  it('IDX with a test pair: a changed train pair refuses --split validation, and the test set is evaluated as it is', () => {
    const dir = join(work, 'idx');
    writeIdxImages(dir, 40, 8);
    copyFileSync(join(dir, 'train-images-idx3-ubyte'), join(dir, 't10k-images-idx3-ubyte'));
    copyFileSync(join(dir, 'train-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    expect(lockstep(['train', '--data', 'idx:idx', ...small, '--out', 'idx-run'], work).status).toBe(0);
    const recorded = decodeCheckpoint(readFileSync(join(work, 'idx-run', 'checkpoint.lockstep')), 'idx-run/checkpoint.lockstep').dataFingerprint;
    writeIdxImages(dir, 48, 8);
    const now = dataFingerprint(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'].map((name) => readFileSync(join(dir, name))));
    const validation = lockstep(['eval', '--checkpoint', 'idx-run/checkpoint.lockstep', '--split', 'validation', '--workers', '1'], work);
    expect(validation.stderr).toBe(
      `lockstep: idx:idx changed since idx-run/checkpoint.lockstep was saved (data fingerprint ${recorded}, now ${now}), so its validation split would be drawn again and hold samples the run trained on; restore the data it was trained on, or evaluate its test set (--split test)\n`,
    );
    expect(validation.status).toBe(1);
    const test = lockstep(['eval', '--checkpoint', 'idx-run/checkpoint.lockstep', '--workers', '1', '--json'], work);
    expect(test.stderr).toBe('');
    expect(JSON.parse(test.stdout)).toMatchObject({ set: 'test set', samples: 40 });
  });
});
