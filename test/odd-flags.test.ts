import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockstep } from './helpers/lockstep.js';

// Flags that contradict each other, or say nothing, are refused with one line naming the flag and the fix.
const work = mkdtempSync(join(tmpdir(), 'lockstep-odd-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (args: string[]) => lockstep(args, work);

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
    const { status, stdout, stderr } = run(args);
    expect(stderr).toBe(`lockstep: ${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(readdirSync(work)).toEqual([]);
  });
});
