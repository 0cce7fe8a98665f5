import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fit, LockstepError, modelFromSpec, sgd, syntheticClassification } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { lockstep } from './helpers/lockstep.js';

// A model with nothing to learn (no layers, or only activations and dropout) trained to the same loss
// every epoch and ended with exit 0; the library's trainers and the CLI now refuse it with one line.

const work = mkdtempSync(join(tmpdir(), 'lockstep-no-parameters-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LIBRARY = 'fit: the model has no parameters, so training cannot change it; add a layer that has some, such as a Linear';
const data = syntheticClassification({ seed: 0, samples: 40, features: 4, classes: 4 });
const LAYERS = { empty: [], relu: [{ type: 'relu' }], dropout: [{ type: 'dropout', p: 0.5 }] };

describe('a model without parameters', () => {
  it.each(Object.entries(LAYERS))('the reference trainer\'s fit refuses %s with one E_SHAPE line', (_name, layers) => {
    const model = modelFromSpec({ input: [4], layers }, 0);
    expect(() => fit(model, data, { epochs: 1, batchSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) })).toThrow(expect.objectContaining({ code: 'E_SHAPE', message: LIBRARY }));
  });

  it('the workers Trainer\'s fit refuses it the same way', async () => {
    const trainer = new Trainer({ model: { input: [4], layers: LAYERS.relu }, seed: 0, optimizer: sgd({ lr: 0.1 }), chunkSize: 10, workers: 1 });
    try {
      const run = trainer.fit(data, { epochs: 1, batchSize: 10 });
      await expect(run).rejects.toThrow(LockstepError);
      await expect(run).rejects.toMatchObject({ code: 'E_SHAPE', message: LIBRARY });
    } finally {
      await trainer.close();
    }
  });

  for (const [name, layers] of Object.entries(LAYERS)) writeFileSync(join(work, `${name}.json`), JSON.stringify({ layers }));

  it.each(Object.keys(LAYERS))('lockstep train --config %s.json: one line naming the file and the fix, exit 1, nothing written', (name) => {
    const { status, stdout, stderr } = lockstep(['train', '--config', `${name}.json`, '--epochs', '2', '--workers', '1', '--out', 'never'], work);
    expect(stderr).toBe(`lockstep: ${name}.json: the model of "layers" has no parameters, so training cannot change it; add a layer that has some, e.g. {"type": "linear", "out": 10} last\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});

describe('lockstep compare with a model without parameters', () => {
  it('--config dropout.json --dropout: one line naming the file, exit 1, nothing written', () => {
    const { status, stderr } = lockstep(['compare', '--config', 'dropout.json', '--dropout', '0,0.5', '--epochs', '1', '--workers', '1', '--out', 'never-by-rate'], work);
    expect(stderr).toBe('lockstep: dropout.json: the model of "layers" has no parameters, so training cannot change it; add a layer that has some, e.g. {"type": "linear", "out": 10} last\n');
    expect(status).toBe(1);
    expect(existsSync(join(work, 'never-by-rate'))).toBe(false);
  });

  it('--configs naming one such file: the line names that file once, exit 1, nothing written', () => {
    writeFileSync(join(work, 'linear.json'), JSON.stringify({ layers: [{ type: 'linear', out: 10 }] }));
    const { status, stderr } = lockstep(['compare', '--configs', 'linear.json,relu.json', '--epochs', '1', '--workers', '1', '--out', 'never-by-config'], work);
    expect(stderr).toBe('lockstep: relu.json: the model of "layers" has no parameters, so training cannot change it; add a layer that has some, e.g. {"type": "linear", "out": 10} last\n');
    expect(status).toBe(1);
    expect(existsSync(join(work, 'never-by-config'))).toBe(false);
  });
});
