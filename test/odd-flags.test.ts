import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@lockstep/cli';
import { lockstep } from './helpers/lockstep.js';

// Flags that contradict each other, or say nothing, are refused with one line naming the flag and the fix.
const work = mkdtempSync(join(tmpdir(), 'lockstep-odd-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep(args, work);
const small = join(tmpdir(), `lockstep-odd-flags-small-${process.pid}.json`);
writeFileSync(small, JSON.stringify({ hidden: [32] }));
afterAll(() => rmSync(small, { force: true }));
const train = ['train', '--config', small, '--workers', '1'];

describe('an empty path', () => {
  it.each([
    [['train', '--out', ''], '--out must not be empty; give a folder name'],
    [['train', '--config', ''], '--config must not be empty; give a file name'],
    [['train', '--resume', ''], '--resume must not be empty; give a checkpoint file'],
    [['train', '--init-from', ''], '--init-from must not be empty; give a file name'],
    [['data', '--out', ''], '--out must not be empty; give a file name'],
    [['data', '--config', ''], '--config must not be empty; give a file name'],
    [['compare', '--out', ''], '--out must not be empty; give a folder name'],
    [['compare', '--config', ''], '--config must not be empty; give a file name'],
    [['eval', '--checkpoint', ''], '--checkpoint must not be empty; give a file name'],
    [['eval', '--checkpoint', 'a.lockstep', '--mc-samples', '2', '--out', ''], '--out must not be empty; give a folder name'],
    [['export', '--checkpoint', '', '--format', 'onnx', '--out', 'a.onnx'], '--checkpoint must not be empty; give a file name'],
    [['export', '--checkpoint', 'a.lockstep', '--format', 'onnx', '--out', ''], '--out must not be empty; give a file name'],
    [['predict', '--checkpoint', '', '--input', 'rows.csv'], '--checkpoint must not be empty; give a file name'],
    [['predict', '--checkpoint', 'a.lockstep', '--input', ''], '--input must not be empty; give a file name'],
  ])('%j is refused by name, before anything is read or written', (args, message) => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const { status, stdout, stderr } = lockstep(args, empty);
    expect(stderr).toBe(`lockstep: ${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('--quiet with --json', () => {
  it('prints the result alone, as its JSON object: no info or epoch events', () => {
    const { status, stdout, stderr } = run([...train, '--epochs', '2', '--out', 'quiet-json', '--quiet', '--json']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ event: 'result', fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), epochs: 2, steps: 142, out: 'quiet-json' });
  });
});

describe('--resume with --overwrite', () => {
  it('into the checkpoint\'s own folder is refused with one line, and the run is untouched', () => {
    expect(run([...train, '--epochs', '1', '--out', 'kept', '--quiet']).status).toBe(0);
    const before = readFileSync(join(work, 'kept', 'checkpoint.lockstep'));
    for (const out of [[], ['--out', 'kept'], ['--out', './kept/']]) {
      const { status, stdout, stderr } = run(['train', '--resume', 'kept/checkpoint.lockstep', '--epochs', '2', '--overwrite', ...out]);
      expect(stderr).toBe('lockstep: --resume continues the run in kept, and --overwrite would delete that run first; leave out --overwrite\n');
      expect(status).toBe(1);
      expect(stdout).toBe('');
    }
    expect(readFileSync(join(work, 'kept', 'checkpoint.lockstep'))).toEqual(before);
  });

  it('into another folder replaces the run there with the continued one', () => {
    expect(run([...train, '--epochs', '3', '--out', 'replaced', '--quiet']).status).toBe(0);
    const { status, stderr } = run(['train', '--resume', 'kept/checkpoint.lockstep', '--epochs', '2', '--out', 'replaced', '--overwrite', '--quiet']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(loadCheckpoint(join(work, 'replaced', 'checkpoint.lockstep')).state.epoch).toBe(2);
  });
});
