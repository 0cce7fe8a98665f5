import { describe, expect, it } from 'vitest';
import {
  adam,
  applyUpdate,
  crossEntropy,
  dropoutRunKey,
  epochOrder,
  fit,
  modelFromSpec,
  Optimizer,
  sgd,
  stateSlots,
  syntheticClassification,
  type OptimizerConfig,
} from '@lockstep/core';

const data = syntheticClassification({ seed: 4, samples: 24, features: 6, classes: 3 });
const spec = {
  input: [6],
  layers: [{ type: 'linear', out: 8, maxNorm: 1.5 }, { type: 'relu' }, { type: 'dropout', p: 0.3 }, { type: 'linear', out: 3 }],
};

function bytes(array: Float32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** PyTorch's loop over fit's batches: zero_grad, forward, loss, backward, step; one chunk per batch. */
function handWritten(config: OptimizerConfig, seed: number, epochs: number, batchSize: number): Float32Array {
  const model = modelFromSpec(spec, seed).train();
  const optimizer = new Optimizer(model, config);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder(seed, epoch, data.size, true);
    for (let start = 0; start < data.size; start += batchSize) {
      const samples = order.subarray(start, start + batchSize);
      const batch = data.select(samples);
      optimizer.zeroGrad();
      const output = model.forward(batch.inputs, { key: dropoutRunKey(seed), step, samples });
      const gradient = new Float32Array(output.data.length);
      crossEntropy.evaluate(output, batch.targets, samples.length, gradient);
      model.backward({ data: gradient, shape: output.shape });
      optimizer.step();
      step++;
    }
  }
  expect(optimizer.steps).toBe(step);
  return model.params;
}

describe('Optimizer: a hand-written loop like PyTorch\'s', () => {
  it.each([
    ['sgd with momentum', sgd({ lr: 0.1, momentum: 0.9 })],
    ['adam', adam({ lr: 0.01 })],
  ])('gives fit\'s parameters bit for bit (%s, MaxNorm and dropout included)', (_, config) => {
    const expected = modelFromSpec(spec, 2);
    fit(expected, data, { epochs: 2, batchSize: 8, chunkSize: 8, seed: 2, optimizer: config });
    expect(bytes(handWritten(config, 2, 2, 8)).equals(bytes(expected.params))).toBe(true);
  });

  it('step() is applyUpdate with its own state and step count', () => {
    const config = adam({ lr: 0.02 });
    const model = modelFromSpec({ input: [6], layers: [{ type: 'linear', out: 3 }] }, 1);
    const optimizer = new Optimizer(model, config);
    const params = model.params.slice();
    const state = new Float32Array(stateSlots(config) * model.size);
    for (let t = 1; t <= 3; t++) {
      model.grads.forEach((_, i) => (model.grads[i] = Math.sin(i * t)));
      applyUpdate(config, { params, grads: model.grads, state }, t, 0.02);
      optimizer.step();
      expect(bytes(model.params).equals(bytes(params))).toBe(true);
      expect(bytes(optimizer.state).equals(bytes(state))).toBe(true);
    }
    optimizer.zeroGrad();
    expect(model.grads.every((g) => g === 0)).toBe(true);
  });

  it('follows a learning rate set between steps', () => {
    const model = modelFromSpec({ input: [2], layers: [{ type: 'linear', out: 1, bias: false }] }, 0);
    const optimizer = new Optimizer(model, sgd({ lr: 1 }));
    const before = model.params.slice();
    model.grads.fill(1);
    optimizer.lr = 0.5;
    optimizer.step();
    expect([...model.params]).toEqual([...before].map((w) => Math.fround(w - 0.5)));
  });

  it('refuses clipNorm, which needs the whole step, in one line', () => {
    const model = modelFromSpec({ input: [2], layers: [{ type: 'linear', out: 1 }] }, 0);
    expect(() => new Optimizer(model, sgd({ lr: 1, clipNorm: 1 }))).toThrow('Optimizer: clipNorm is applied by fit across the whole step; leave it out and scale model.grads yourself (gradientNorm)');
  });

  it('refuses a schedule, which it would ignore, in one line; the constant one (the default) is fine', () => {
    const model = modelFromSpec({ input: [2], layers: [{ type: 'linear', out: 1 }] }, 0);
    expect(() => new Optimizer(model, sgd({ lr: 0.1, schedule: { kind: 'step', stepSize: 10, gamma: 0.5 } }))).toThrow(
      expect.objectContaining({
        code: 'E_OPTION',
        message: 'Optimizer: schedule (step) is followed by fit, which counts the steps and epochs; leave it out and set optimizer.lr before each step (learningRateAt)',
      }),
    );
    expect(new Optimizer(model, sgd({ lr: 0.1, schedule: { kind: 'constant' } })).lr).toBe(0.1);
  });
});
