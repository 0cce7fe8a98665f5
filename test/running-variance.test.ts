import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, writeSafetensors } from '@lockstep/core';
import { loadCheckpoint, saveCheckpoint } from '@lockstep/cli';
import { lockstep } from './helpers/lockstep.js';

// A negative running variance is no state any training leaves (its variances are sums of squares),
// and it makes every eval-mode output of its BatchNorm NaN: every command that loads one refuses
// it in one line naming the file and the tensor, before it writes anything.
const work = mkdtempSync(join(tmpdir(), 'lockstep-variance-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const layers = [{ type: 'linear', out: 8 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'linear', out: 10 }];
writeFileSync(join(work, 'bn.json'), JSON.stringify({ layers }));
writeFileSync(join(work, 'rows.csv'), `${Array.from({ length: 128 }, (_, i) => `x${i}`).join(',')}\n${new Array(128).fill(0.5).join(',')}\n`);

const negative = 'tensor "1.running_var" holds -0.25 at index 3, a negative running variance, which makes eval-mode outputs NaN';

beforeAll(() => {
  expect(lockstep(['train', '--config', 'bn.json', '--epochs', '1', '--workers', '1', '--out', 'good', '--quiet'], work).status).toBe(0);
  const good = loadCheckpoint(join(work, 'good', 'checkpoint.lockstep'));
  // Buffers are running_mean (8 values), then running_var.
  const buffers = good.buffers!.slice();
  buffers[8 + 3] = -0.25;
  saveCheckpoint(join(work, 'negative.lockstep'), { ...good, buffers });
  expect(lockstep(['export', '--checkpoint', 'good/checkpoint.lockstep', '--format', 'safetensors', '--out', 'good.safetensors'], work).status).toBe(0);
  const dict = decodeSafetensors(readFileSync(join(work, 'good.safetensors'))).stateDict;
  dict.get('1.running_var')!.data[3] = -0.25;
  writeFileSync(join(work, 'negative.safetensors'), writeSafetensors(dict));
});

function refused(args: string[]): string {
  const run = lockstep(args, work);
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  return run.stderr;
}

describe('a negative running variance', () => {
  it('in a checkpoint: train --resume, eval, predict and export refuse it and write nothing', () => {
    const damaged = `lockstep: negative.lockstep is damaged: ${negative}; use another checkpoint\n`;
    expect(refused(['train', '--resume', 'negative.lockstep', '--epochs', '2', '--workers', '1', '--out', 'resumed', '--quiet'])).toBe(damaged);
    expect(refused(['eval', '--checkpoint', 'negative.lockstep', '--workers', '1'])).toBe(damaged);
    expect(refused(['predict', '--checkpoint', 'negative.lockstep', '--input', 'rows.csv', '--workers', '1'])).toBe(damaged);
    expect(refused(['export', '--checkpoint', 'negative.lockstep', '--format', 'onnx', '--out', 'negative.onnx'])).toBe(damaged);
    expect(existsSync(join(work, 'resumed'))).toBe(false);
    expect(existsSync(join(work, 'negative.onnx'))).toBe(false);
  });

  it('in a safetensors file: train --init-from refuses it and writes nothing', () => {
    expect(refused(['train', '--config', 'bn.json', '--epochs', '1', '--workers', '1', '--init-from', 'negative.safetensors', '--out', 'tuned', '--quiet'])).toBe(
      `lockstep: negative.safetensors: ${negative}; save it again from a model whose running variances are >= 0\n`,
    );
    expect(existsSync(join(work, 'tuned'))).toBe(false);
  });
});
