import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LockstepError, sgd, syntheticClassification } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { lockstep } from './helpers/lockstep.js';

// A model too large for a trainer's 4 GiB WebAssembly memory gets one line naming its size and the
// fix, from the library and from the CLI. The sizes are chosen so the check fails before anything
// large is allocated: a 16.8-million-parameter MLP (67 MB of parameters) with chunkSize 1, whose 128 chunk
// gradients would need 8.6 GB, and a layer too wide for any trainer (more than 2^28 parameters).

const work = mkdtempSync(join(tmpdir(), 'lockstep-too-large-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const WIDE = [
  { type: 'linear', out: 4096 },
  { type: 'relu' },
  { type: 'linear', out: 4096 },
  { type: 'relu' },
  { type: 'linear', out: 10 },
];
const TOO_LARGE =
  'the model has 16834570 parameters (64 MiB of float32), too many to train with batch 128, chunkSize 1 and 2 workers: ' +
  "its parameters, optimizer state, 128 chunk gradients and the workers' kernel buffers must fit in one 4 GiB WebAssembly memory; " +
  'use smaller layers or chunkSize 128 (one chunk gradient instead of 128)';

describe('a model too large for the trainer memory', () => {
  it('Trainer.fit rejects it up front with one LockstepError line', async () => {
    const trainer = new Trainer({ model: { input: [2], layers: WIDE }, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: 1, workers: 2 });
    try {
      const data = syntheticClassification({ seed: 0, samples: 200, features: 2, classes: 10 });
      const fit = trainer.fit(data, { epochs: 1, batchSize: 128 });
      await expect(fit).rejects.toThrow(LockstepError);
      await expect(fit).rejects.toMatchObject({ code: 'E_MEMORY', message: TOO_LARGE });
    } finally {
      await trainer.close();
    }
  });

  writeFileSync(join(work, 'points.csv'), ['a,b,label', ...Array.from({ length: 200 }, (_, i) => `${(i % 17) / 17},${(i % 5) / 5},${i % 10}`)].join('\n'));
  writeFileSync(join(work, 'wide.json'), JSON.stringify({ layers: WIDE, batchSize: 128, chunkSize: 1, epochs: 1 }));
  writeFileSync(join(work, 'too-wide.json'), JSON.stringify({ layers: [{ type: 'linear', out: 16384 }, { type: 'relu' }, { type: 'linear', out: 16384 }, { type: 'relu' }, { type: 'linear', out: 10 }] }));

  it.each([
    [['train', '--data', 'csv:points.csv', '--config', 'wide.json', '--workers', '2', '--out', 'wide', '--quiet'], `lockstep: ${TOO_LARGE}`],
    [
      ['train', '--data', 'csv:points.csv', '--config', 'too-wide.json', '--workers', '2', '--out', 'too-wide', '--quiet'],
      'lockstep: the model has 268664842 parameters, more than the limit of 268435456 (1 GiB of float32); use smaller layers',
    ],
  ])('lockstep %j: one line on stderr, a non-zero exit, no checkpoint', (args, message) => {
    const { status, stdout, stderr } = lockstep(args, work);
    expect(stderr).toBe(`${message}\n`);
    expect(status).not.toBe(0);
    expect(stdout).toBe('');
    expect(existsSync(join(work, args[args.indexOf('--out') + 1]!, 'checkpoint.lockstep'))).toBe(false);
  });

  writeFileSync(join(work, 'hidden-wide.json'), JSON.stringify({ hidden: [1e9] }));
  writeFileSync(join(work, 'hidden-many.json'), JSON.stringify({ hidden: [16384, 16384] }));
  const WIDE_HIDDEN = 'lockstep: hidden [1000000000]: a layer of 1000000000 units is more than the limit of 268435456 values per sample; use smaller widths';

  it.each([
    [['train', '--config', 'hidden-wide.json'], WIDE_HIDDEN],
    [['compare', '--hidden', '1e9'], WIDE_HIDDEN],
    [['train', '--config', 'hidden-many.json'], 'lockstep: hidden [16384,16384] gives a model of 268664842 parameters, more than the limit of 268435456 (1 GiB of float32); use smaller widths'],
  ])('lockstep %j: the default MLP too large names "hidden", not a layer entry the user never wrote', (args, message) => {
    const { status, stdout, stderr } = lockstep([...args, '--data', 'csv:points.csv', '--workers', '1', '--out', 'never'], work);
    expect(stderr).toBe(`${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});
