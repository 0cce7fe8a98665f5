import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';

// A checkpoint from someone else lists a module that leaves module-ran.marker when imported; the run
// folder's module is code, and only the user decides to run it.
const work = mkdtempSync(join(tmpdir(), 'lockstep-module-trust-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const marked = fileURLToPath(new URL('./fixtures/layers/marked.mjs', import.meta.url));
const scale = fileURLToPath(new URL('./fixtures/layers/scale.mjs', import.meta.url));
const marker = join(work, 'module-ran.marker');
const layers = [{ type: 'linear', out: 16 }, { type: 'marked' }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }];
writeFileSync(join(work, 'marked.json'), JSON.stringify({ modules: [marked], epochs: 1, layers }));
const rows = Array.from({ length: 2 }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.cos(r * 128 + i).toFixed(4)).join(','));
const header = Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(',');
writeFileSync(join(work, 'rows.csv'), `${[header, ...rows].join('\n')}\n`);

const commands: Array<[string, string[]]> = [
  ['eval', ['eval', '--checkpoint', 'run/checkpoint.lockstep', '--workers', '2', '--json']],
  ['predict', ['predict', '--checkpoint', 'run/checkpoint.lockstep', '--input', 'rows.csv', '--workers', '2']],
  ['train --resume', ['train', '--resume', 'run/checkpoint.lockstep', '--epochs', '2', '--workers', '2', '--out', 'resumed', '--quiet']],
];
const refusal = `lockstep: run/checkpoint.lockstep asks to import the module ${marked}, which can run any code; if you trust it, pass --modules ${marked}\n`;

beforeAll(() => {
  const trained = lockstep(['train', '--config', 'marked.json', '--workers', '2', '--out', 'run', '--quiet'], work);
  expect(trained.stderr).toBe('');
  expect(trained.status).toBe(0);
  // The main thread and both workers imported it: the user named it in their own config.
  expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(3);
  rmSync(marker);
});

describe('a checkpoint\'s modules run only when the user names them', () => {
  it.each(commands)('%s without --modules: one line naming the module and the flag, exit 1, and the module never ran', (_, args) => {
    const { status, stdout, stderr } = lockstep(args, work);
    expect(stderr).toBe(refusal);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(marker)).toBe(false);
  });

  it.each(commands)('%s with --modules naming another module only: refused the same way, and neither module ran', (_, args) => {
    const { status, stderr } = lockstep([...args, '--modules', scale], work);
    expect(stderr).toBe(refusal);
    expect(status).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it.each(commands)('%s with --modules naming it (and another): works, importing it in the main thread and the workers', (_, args) => {
    const { status, stdout, stderr } = lockstep([...args, '--modules', `${scale},${marked}`], work);
    const threads = readFileSync(marker, 'utf8').trim().split('\n');
    rmSync(marker);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).not.toBe('');
    // Thread 0 is the main thread; a pool starts only the workers its work needs.
    expect(threads[0]).toBe('0');
    expect(threads.length).toBeGreaterThan(1);
  });

  it('train --resume with the user\'s own config that lists it needs no flag, and goes on as with --modules', () => {
    const resume = ['train', '--resume', 'run/checkpoint.lockstep', '--epochs', '2', '--workers', '2', '--quiet'];
    const flagged = lockstep([...resume, '--modules', marked, '--out', 'flagged'], work);
    const configured = lockstep([...resume, '--config', 'marked.json', '--out', 'configured'], work);
    expect(configured.stderr).toBe('');
    expect(configured.status).toBe(0);
    expect(fingerprintOf(configured.stdout)).toBe(fingerprintOf(flagged.stdout));
    rmSync(marker);
  });

  it('--modules that is not a list of paths is one line naming the flag', () => {
    const { status, stderr } = lockstep(['eval', '--checkpoint', 'run/checkpoint.lockstep', '--modules', `${marked},`], work);
    expect(stderr).toBe(`lockstep: --modules must be a list of module file paths, got "${marked},"\n`);
    expect(status).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });
});
