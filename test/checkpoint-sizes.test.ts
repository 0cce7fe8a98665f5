import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '@lockstep/cli';
import { lockstep } from './helpers/lockstep.js';

// A checkpoint re-packed with a valid checksum around arrays of the wrong size is damaged: every
// command that reads it says so in one line naming the file, before it writes anything.
const work = mkdtempSync(join(tmpdir(), 'lockstep-sizes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32] }));

beforeAll(() => {
  expect(lockstep(['train', '--config', 'small.json', '--epochs', '1', '--workers', '1', '--out', 'good', '--quiet'], work).status).toBe(0);
  const good = loadCheckpoint(join(work, 'good', 'checkpoint.lockstep'));
  saveCheckpoint(join(work, 'short-params.lockstep'), { ...good, params: good.params.subarray(0, 100) });
  saveCheckpoint(join(work, 'short-state.lockstep'), { ...good, optimizerState: good.optimizerState.subarray(1) });
});

const damaged = (file: string, params: number, state: number): string =>
  `lockstep: ${file} is damaged: it holds ${params} parameters, ${state} optimizer state values and 0 buffer values, where its model and optimizer need 4458, 4458 and 0; use another checkpoint\n`;

describe('a checkpoint whose arrays do not fit its model', () => {
  it.each([
    ['short-params.lockstep', 100, 4458],
    ['short-state.lockstep', 4458, 4457],
  ])('%s: train --resume, eval and export refuse it with one line, and write nothing', (file, params, state) => {
    for (const [args, written] of [
      [['train', '--resume', file, '--epochs', '3', '--workers', '1', '--out', `resumed-${file}`, '--quiet'], `resumed-${file}`],
      [['eval', '--checkpoint', file, '--workers', '1'], null],
      [['export', '--checkpoint', file, '--format', 'safetensors', '--out', `${file}.safetensors`], `${file}.safetensors`],
    ] as const) {
      const run = lockstep([...args], work);
      expect(run.stderr).toBe(damaged(file, params, state));
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      if (written !== null) expect(existsSync(join(work, written))).toBe(false);
    }
  });
});
