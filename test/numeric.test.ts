import { afterEach, describe, expect, it } from 'vitest';
import { fit, modelFromSpec, sgd, adam, syntheticClassification, LockstepError, type OptimizerConfig } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// 1,000 samples in batches of 64: 16 steps per epoch.
const data = syntheticClassification({ seed: 31, samples: 1000, features: 20, classes: 4 });
const numericLayers = new URL('./fixtures/layers/numeric.mjs', import.meta.url).href;
await import(numericLayers);

function specWith(fault: Record<string, unknown> | null, at = 1) {
  const layers: Record<string, unknown>[] = [{ type: 'linear', out: 32 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 4 }];
  if (fault !== null) layers.splice(at, 0, fault);
  return { input: [20], layers } as Parameters<typeof modelFromSpec>[0];
}

const open: Trainer[] = [];
function trainer(spec: ReturnType<typeof specWith>, optimizer: OptimizerConfig, workers: number): Trainer {
  const made = new Trainer({ model: spec, seed: 3, optimizer, chunkSize: 16, workers, setup: [numericLayers] });
  open.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function referenceFailure(spec: ReturnType<typeof specWith>, optimizer: OptimizerConfig): { error: LockstepError; params: Float32Array } {
  const model = modelFromSpec(spec, 3);
  try {
    fit(model, data, { epochs: 1, batchSize: 64, chunkSize: 16, seed: 3, optimizer });
  } catch (error) {
    return { error: error as LockstepError, params: model.params };
  }
  throw new Error('the reference fit did not fail');
}

describe('gradient clipping by global norm', () => {
  it('is bit-identical for workers 1, 2 and 3 and the reference trainer, and changes the result', async () => {
    const spec = specWith(null);
    const clipped = sgd({ lr: 0.1, momentum: 0.9, clipNorm: 0.25 });
    const reference = modelFromSpec(spec, 3);
    fit(reference, data, { epochs: 2, batchSize: 64, chunkSize: 16, seed: 3, optimizer: clipped });
    for (const workers of [1, 2, 3]) {
      const parallel = trainer(spec, clipped, workers);
      await parallel.fit(data, { epochs: 2, batchSize: 64 });
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers}`).toBe(true);
    }
    const unclipped = modelFromSpec(spec, 3);
    fit(unclipped, data, { epochs: 2, batchSize: 64, chunkSize: 16, seed: 3, optimizer: sgd({ lr: 0.1, momentum: 0.9 }) });
    expect(bytes(unclipped.params).equals(bytes(reference.params))).toBe(false);
  });

  it('bounds the step: one plain SGD step with lr 1 moves the parameters by at most clipNorm', () => {
    const spec = specWith(null);
    for (const [clipNorm, expectClipped] of [
      [0.05, true],
      [1e6, false],
    ] as const) {
      const model = modelFromSpec(spec, 3);
      const before = model.params.slice();
      fit(model, data.slice(0, 64), { epochs: 1, batchSize: 64, chunkSize: 16, seed: 3, optimizer: sgd({ lr: 1, clipNorm }) });
      const free = modelFromSpec(spec, 3);
      fit(free, data.slice(0, 64), { epochs: 1, batchSize: 64, chunkSize: 16, seed: 3, optimizer: sgd({ lr: 1 }) });
      const norm = (m: Float32Array) => Math.sqrt(m.reduce((s, p, i) => s + (p - before[i]) ** 2, 0));
      if (expectClipped) {
        expect(norm(free.params)).toBeGreaterThan(clipNorm * 10);
        expect(norm(model.params)).toBeCloseTo(clipNorm, 6);
      } else {
        expect(bytes(model.params).equals(bytes(free.params))).toBe(true);
      }
    }
  });

  it('rejects a clipNorm that is not > 0', () => {
    expect(() => sgd({ lr: 0.1, clipNorm: 0 })).toThrow('sgd clipNorm must be > 0, got 0; leave it out for no clipping');
    expect(() => adam({ clipNorm: -1 })).toThrow('adam clipNorm must be a finite number >= 0, got -1');
  });
});

describe('the relaxed matrix-product kernel', () => {
  it('is bit-identical for workers 1 and 2 and the reference trainer, and differs from the strict kernel', async () => {
    const spec = specWith(null);
    const optimizer = adam({ lr: 0.01 });
    const relaxed = modelFromSpec(spec, 3);
    fit(relaxed, data, { epochs: 1, batchSize: 64, chunkSize: 16, seed: 3, optimizer, kernel: 'relaxed' });
    for (const workers of [1, 2]) {
      const parallel = new Trainer({ model: spec, seed: 3, optimizer, chunkSize: 16, workers, kernel: 'relaxed' });
      open.push(parallel);
      await parallel.fit(data, { epochs: 1, batchSize: 64 });
      expect(bytes(parallel.params).equals(bytes(relaxed.params)), `workers=${workers}`).toBe(true);
    }
    const strict = modelFromSpec(spec, 3);
    fit(strict, data, { epochs: 1, batchSize: 64, chunkSize: 16, seed: 3, optimizer, kernel: 'strict' });
    expect(bytes(strict.params).equals(bytes(relaxed.params))).toBe(false);
  });
});

describe('numbers going bad stop training at that step, naming the layer', () => {
  it('a NaN loss: both trainers stop before step 5 with the same message and the parameters of step 4', async () => {
    const spec = specWith({ type: 'nan-output-at-step', step: 5 }, 2);
    const optimizer = adam({ lr: 0.01 });
    const expected = referenceFailure(spec, optimizer);
    expect(expected.error.message).toBe(
      'fit failed at step 5 (epoch 1, batch 6 of 16): the loss is NaN, first from the output of layer 2 (NanOutputAtStep) (NaN); ' +
        'the parameters are those before this step; check the scale of the input data, lower the learning rate, or clip gradients with clipNorm',
    );
    for (const workers of [1, 2]) {
      const parallel = trainer(spec, optimizer, workers);
      await expect(parallel.fit(data, { epochs: 1, batchSize: 64 })).rejects.toThrow(expected.error.message);
      expect(parallel.state.step).toBe(5);
      expect(bytes(parallel.params).equals(bytes(expected.params)), `workers=${workers}`).toBe(true);
      expect((await parallel.evaluate(data)).loss).toBeGreaterThan(0);
    }
  });

  it('a non-finite gradient with a finite loss: both trainers name the parameter and keep the parameters of the step before', async () => {
    const spec = specWith({ type: 'inf-gradient-at-step', step: 9 });
    const optimizer = sgd({ lr: 0.05, momentum: 0.9 });
    const expected = referenceFailure(spec, optimizer);
    expect(expected.error.code).toBe('E_NUMERIC');
    // Infinity times inputs of both signs, summed over rows: NaN.
    expect(expected.error.message).toBe(
      'fit failed at step 9 (epoch 1, batch 10 of 16): the gradient of the weight of layer 0 (Linear) is NaN; ' +
        'the parameters are those before this step; lower the learning rate, or clip gradients with clipNorm',
    );
    for (const workers of [1, 3]) {
      const parallel = trainer(spec, optimizer, workers);
      await expect(parallel.fit(data, { epochs: 1, batchSize: 64 })).rejects.toThrow(expected.error.message);
      expect(parallel.state.step).toBe(9);
      expect(bytes(parallel.params).equals(bytes(expected.params)), `workers=${workers}`).toBe(true);
    }
  });
});
