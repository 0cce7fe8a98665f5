import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockstep } from './helpers/lockstep.js';

// A file written into a folder that does not exist fails with ENOENT, and one written below a file
// with ENOTDIR; both were reported as "check that the folder is writable": the advice for a folder
// that exists but refuses writes.
const work = mkdtempSync(join(tmpdir(), 'lockstep-write-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [8] }));
  const trained = lockstep(['train', '--config', 'small.json', '--epochs', '1', '--workers', '1', '--quiet', '--out', 'run'], work);
  expect(trained.stderr).toBe('');
  expect(trained.status).toBe(0);
});

describe('writing where no folder can hold the file', () => {
  it.each([
    ['onnx', 'missing/a.onnx', 'the folder missing does not exist (ENOENT); create it or choose another path'],
    ['safetensors', 'missing/deeper/a.safetensors', 'the folder missing/deeper does not exist (ENOENT); create it or choose another path'],
    ['onnx', 'small.json/a.onnx', 'small.json is a file, not a folder (ENOTDIR); choose another path'],
    ['safetensors', 'small.json/deeper/a.safetensors', 'small.json is a file, not a folder (ENOTDIR); choose another path'],
  ])('export --format %s --out %s names what is in the way in one line', (format, out, reason) => {
    const result = lockstep(['export', '--checkpoint', 'run/checkpoint.lockstep', '--format', format, '--out', out], work);
    expect(result.stderr).toBe(`lockstep: cannot write ${out}: ${reason}\n`);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
  });
});
