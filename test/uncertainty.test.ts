import { afterEach, describe, expect, it } from 'vitest';
import { adam, Dataset, fit, modelFromSpec, predictWithUncertainty, syntheticClassification, type ModelSpec, type Uncertainty } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// 600 rows: three blocks of work (256, 256, 88), so 2 and 3 workers split them differently.
const data = syntheticClassification({ seed: 31, samples: 600, features: 20, classes: 4 });
const spec: ModelSpec = {
  input: [20],
  layers: [
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.2 },
    { type: 'linear', out: 4 },
  ],
};
const optimizer = adam({ lr: 0.01 });
const fields = ['mean', 'std', 'entropy', 'mutualInformation'] as const;

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function bytes(array: Float64Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function same(a: Uncertainty, b: Uncertainty): boolean {
  return a.classes === b.classes && fields.every((field) => bytes(a[field]).equals(bytes(b[field])));
}

describe('Monte Carlo dropout on worker threads', () => {
  it('after 1 epoch of training: mean, std, entropy and MI bit-identical for workers 1, 2, 3 and the reference; another seed differs', async () => {
    const reference = modelFromSpec(spec, 5);
    fit(reference, data, { epochs: 1, batchSize: 64, chunkSize: 16, seed: 5, optimizer });
    const expected = predictWithUncertainty(reference, data.inputs, { samples: 12, seed: 3 });
    expect(Math.max(...expected.mutualInformation)).toBeGreaterThan(0);
    for (const workers of [1, 2, 3]) {
      const trainer = new Trainer({ model: spec, seed: 5, optimizer, chunkSize: 16, workers });
      open.push(trainer);
      await trainer.fit(data, { epochs: 1, batchSize: 64 });
      const result = await trainer.predictWithUncertainty(data.inputs, { samples: 12, seed: 3 });
      expect(same(result, expected), `workers=${workers}`).toBe(true);
      const other = await trainer.predictWithUncertainty(data.inputs, { samples: 12, seed: 4 });
      for (const field of fields) expect(bytes(other[field]).equals(bytes(expected[field])), `seed 4 ${field}`).toBe(false);
    }
  });

  it('leaves the trainer in its mode, and a model without dropout has MI and std of exactly 0', async () => {
    const plain: ModelSpec = { input: [20], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 4 }] };
    const trainer = new Trainer({ model: plain, seed: 5, optimizer, workers: 2 }).train();
    open.push(trainer);
    const result = await trainer.predictWithUncertainty(data.inputs, { samples: 5, seed: 0 });
    expect(trainer.training).toBe(true);
    expect(result.mutualInformation.every((v) => v === 0)).toBe(true);
    expect(result.std.every((v) => v === 0)).toBe(true);
    expect(same(result, predictWithUncertainty(modelFromSpec(plain, 5), data.inputs, { samples: 5, seed: 0 }))).toBe(true);
  });

  it("outputs: 'raw' of a regression model (600 rows, 1 output): mean and std bit-identical for workers 1 and 3 and the reference; probabilities refused", async () => {
    const regression: ModelSpec = { input: [20], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.3 }, { type: 'linear', out: 1 }] };
    const values = Float32Array.from({ length: data.size }, (_, r) => data.inputs[20 * r] - data.inputs[20 * r + 1]);
    const reference = modelFromSpec(regression, 5);
    fit(reference, Dataset.regression(data.inputs, [20], values, 1), { epochs: 1, batchSize: 64, chunkSize: 16, seed: 5, optimizer });
    const expected = predictWithUncertainty(reference, data.inputs, { samples: 6, seed: 3, outputs: 'raw' });
    expect(Math.min(...expected.std)).toBeGreaterThan(0);
    for (const workers of [1, 3]) {
      const trainer = new Trainer({ model: regression, seed: 5, optimizer, chunkSize: 16, workers });
      open.push(trainer);
      trainer.loadStateDict(reference.stateDict());
      const result = await trainer.predictWithUncertainty(data.inputs, { samples: 6, seed: 3, outputs: 'raw' });
      expect([result.outputs, result.entropy, result.mutualInformation], `workers=${workers}`).toEqual(['raw', null, null]);
      expect(bytes(result.mean).equals(bytes(expected.mean)) && bytes(result.std).equals(bytes(expected.std)), `workers=${workers}`).toBe(true);
    }
    await expect(open[open.length - 1].predictWithUncertainty(data.inputs, { samples: 6, seed: 3 })).rejects.toThrow(
      "predictWithUncertainty: the model gives 1 output per row, whose softmax is always 1; pass outputs: 'raw' for the mean and std of a regression model's outputs",
    );
  });

  it('a bad sample count is one line naming it', async () => {
    const trainer = new Trainer({ model: spec, seed: 5, optimizer, workers: 1 });
    open.push(trainer);
    await expect(trainer.predictWithUncertainty(data.inputs, { samples: 0, seed: 0 })).rejects.toThrow('samples must be an integer in [1, 100000], got 0');
  });
});
