import { afterEach, describe, expect, it } from 'vitest';
import { adam, fit, Model, modelFromSpec, sequentialFromSpec, sgd, syntheticClassification, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// 256 samples in batches of 64 and chunks of 16: 4 steps an epoch, with BatchNorm's running statistics
// and dropout masks, which the Trainer's seed keys.
const data = syntheticClassification({ seed: 4, samples: 256, features: 12, classes: 3 });
const spec: ModelSpec = {
  input: [12],
  layers: [{ type: 'linear', out: 16 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'dropout', p: 0.3 }, { type: 'linear', out: 3 }],
};
const optimizer = sgd({ lr: 0.05, momentum: 0.9 });

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

describe('new Trainer({ model }) with a built Model', () => {
  it('a trained model keeps its parameters and running statistics, in the caller\'s object too; the seed keys the fit, which equals the reference fit of that model', async () => {
    const model = modelFromSpec(spec, 42);
    fit(model, data, { epochs: 1, batchSize: 64, seed: 42, optimizer: adam({ lr: 0.01 }) });
    const trained = { params: model.params.slice(), buffers: model.buffers.slice() };
    const trainer = new Trainer({ model, seed: 7, optimizer, chunkSize: 16, workers: 2 });
    open.push(trainer);
    expect(trainer.model).toBe(model);
    expect(bytes(trainer.params).equals(bytes(trained.params))).toBe(true);
    expect(bytes(trainer.buffers).equals(bytes(trained.buffers))).toBe(true);
    expect(bytes(model.params).equals(bytes(trained.params))).toBe(true);

    const reference = modelFromSpec(spec, 0);
    reference.params.set(trained.params);
    reference.buffers.set(trained.buffers);
    fit(reference, data, { epochs: 2, batchSize: 64, chunkSize: 16, seed: 7, optimizer });
    await trainer.fit(data, { epochs: 2, batchSize: 64 });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
    expect(bytes(trainer.buffers).equals(bytes(reference.buffers))).toBe(true);
  });

  it('a model never initialized (all 0, as new Model leaves it) gets the seed\'s parameters, as a spec does', async () => {
    const model = new Model(sequentialFromSpec(spec), spec.input);
    const trainer = new Trainer({ model, seed: 7, optimizer, chunkSize: 16, workers: 1 });
    open.push(trainer);
    const seeded = modelFromSpec(spec, 7);
    expect(bytes(trainer.params).equals(bytes(seeded.params))).toBe(true);
    expect(bytes(trainer.buffers).equals(bytes(seeded.buffers))).toBe(true);
  });
});
