import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockstep } from './helpers/lockstep.js';

// Settings that cannot train, or that only waste threads: one line before anything is written, or a
// lower worker count with a note.
const work = mkdtempSync(join(tmpdir(), 'lockstep-degenerate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const samples = Array.from({ length: 40 }, (_, r) => `${Math.sin(r).toFixed(3)},${Math.cos(r).toFixed(3)},${r % 2}`);
writeFileSync(join(work, 'forty.csv'), ['x1,x2,label', ...samples].join('\n'));
writeFileSync(join(work, 'five.csv'), ['x1,x2,label', ...samples.slice(0, 5)].join('\n'));
writeFileSync(join(work, 'split.json'), JSON.stringify({ validationSplit: 0.9 }));
writeFileSync(join(work, 'chunk.json'), JSON.stringify({ chunkSize: 100 }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [8], epochs: 1, batchSize: 40, chunkSize: 1 }));

const infoLines = (stdout: string): string[] =>
  stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((event) => event.event === 'info').map((event) => event.message);

describe('degenerate settings', () => {
  it.each([
    [['train', '--chunk-size', '128'], '--chunk-size 128 is larger than the default batch size 64'],
    [['train', '--chunk-size', '16', '--batch-size', '8'], '--chunk-size 16 is larger than --batch-size 8'],
    [['train', '--config', 'chunk.json'], '"chunkSize": 100 in chunk.json is larger than the default batch size 64'],
    [['compare', '--chunk-size', '128'], '--chunk-size 128 is larger than the default batch size 64'],
    [['train', '--batch-size', '16'], 'the default chunk size 32 is larger than --batch-size 16'],
  ])('%j: one line naming what was typed, before anything is written', (args, start) => {
    const { status, stdout, stderr } = lockstep([...args, '--out', 'never'], work);
    expect(stderr).toBe(`lockstep: ${start}: a chunk is part of one step's batch; lower the chunk size or raise the batch size\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('a validation split that leaves no training samples: one line, before anything is written', () => {
    const { status, stdout, stderr } = lockstep(['train', '--data', 'csv:five.csv', '--config', 'split.json', '--out', 'never'], work);
    expect(stderr).toBe('lockstep: "validationSplit": 0.9 of 5 samples leaves none to train on; lower "validationSplit" or add samples\n');
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('--workers 999 runs as many workers as a step has chunks, with a note, and the same bits', () => {
    const many = lockstep(['train', '--epochs', '1', '--workers', '999', '--out', 'many', '--json'], work);
    expect(many.stderr).toBe('');
    expect(many.status).toBe(0);
    expect(infoLines(many.stdout)[0]).toBe('note: --workers 999 lowered to 2: a step has 2 chunks of work (batch size 64 / chunk size 32), and a worker computes whole chunks');
    expect(JSON.parse(readFileSync(join(work, 'many', 'config.json'), 'utf8')).workers).toBe(2);
    const one = lockstep(['train', '--epochs', '1', '--workers', '1', '--out', 'one', '--json'], work);
    expect(infoLines(one.stdout).some((line) => line.startsWith('note:'))).toBe(false);
    expect(JSON.parse(one.stdout.trim().split('\n').at(-1)!).fingerprint).toBe(JSON.parse(many.stdout.trim().split('\n').at(-1)!).fingerprint);
  });

  it('--workers far above the cores runs two a core, with a note', () => {
    const cores = availableParallelism();
    const { status, stdout, stderr } = lockstep(['train', '--data', 'csv:forty.csv', '--config', 'small.json', '--workers', '999', '--out', 'cores', '--json'], work);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const capped = Math.min(2 * cores, 36);
    const why = capped === 36 ? 'a step has 36 chunks of work (batch size 40 / chunk size 1), and a worker computes whole chunks' : `this machine has ${cores} core${cores === 1 ? '' : 's'}, and more than 2 threads a core only cost memory`;
    expect(infoLines(stdout)[0]).toBe(`note: --workers 999 lowered to ${capped}: ${why}`);
  });
});
