import { describe, expect, it } from 'vitest';
import {
  adam,
  adamw,
  chunkGradient,
  crossEntropy,
  Dataset,
  dropoutRunKey,
  evaluate,
  fit,
  learningRateAt,
  Model,
  modelFromSpec,
  predict,
  reduceChunkScalars,
  reduceChunkSlots,
  sgd,
  syntheticClassification,
  type OptimizerConfig,
} from '@lockstep/core';

const data = syntheticClassification({ seed: 11, samples: 300, features: 16, classes: 4 });
const spec = {
  input: [16],
  layers: [
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 32 },
    { type: 'tanh' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 4 },
  ],
};

function bytes(array: Float32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function train(seed: number, optimizer: OptimizerConfig = adam({ lr: 0.01 }), epochs = 2): Model {
  const model = modelFromSpec(spec, seed);
  fit(model, data, { epochs, batchSize: 50, chunkSize: 16, seed, optimizer });
  return model;
}

describe('reference trainer determinism', () => {
  it.each([
    ['adam', adam({ lr: 0.01 })],
    ['sgd momentum', sgd({ lr: 0.05, momentum: 0.9 })],
    ['adamw', adamw({ lr: 0.01 })],
  ] as const)('same seed gives bit-identical parameters (%s), a different seed different ones', (_name, optimizer) => {
    const a = train(5, optimizer);
    const b = train(5, optimizer);
    const c = train(6, optimizer);
    expect(bytes(a.params).equals(bytes(b.params))).toBe(true);
    expect(bytes(a.params).equals(bytes(c.params))).toBe(false);
  });

  it('two epochs equal one epoch, then one more from the returned state, bit for bit', () => {
    const straight = train(8);
    const resumed = modelFromSpec(spec, 8);
    const options = { epochs: 1, batchSize: 50, chunkSize: 16, seed: 8, optimizer: adam({ lr: 0.01 }) };
    const first = fit(resumed, data, options);
    expect(first.state).toMatchObject({ step: 6, epoch: 1 });
    fit(resumed, data, { ...options, state: first.state });
    expect(bytes(resumed.params).equals(bytes(straight.params))).toBe(true);
  });

  it('takes a smaller last batch (300 samples, batch 64: four of 64 and one of 44)', () => {
    const model = modelFromSpec(spec, 2);
    const { history, state } = fit(model, data, { epochs: 1, batchSize: 64, chunkSize: 20, seed: 2, optimizer: sgd({ lr: 0.1 }) });
    expect(history[0].steps).toBe(5);
    expect(state.step).toBe(5);
    const again = modelFromSpec(spec, 2);
    fit(again, data, { epochs: 1, batchSize: 64, chunkSize: 20, seed: 2, optimizer: sgd({ lr: 0.1 }) });
    expect(bytes(again.params).equals(bytes(model.params))).toBe(true);
  });

  it('restores the mode the model had before fit', () => {
    const model = modelFromSpec(spec, 1);
    fit(model, data, { epochs: 1, batchSize: 100, seed: 1, optimizer: sgd({ lr: 0.1 }) });
    expect(model.training).toBe(false);
    model.train();
    fit(model, data, { epochs: 1, batchSize: 100, seed: 1, optimizer: sgd({ lr: 0.1 }) });
    expect(model.training).toBe(true);
  });
});

describe('chunked gradients', () => {
  it('sum to the whole-batch gradient (chunks of 7 against one chunk of 40, dropout off)', () => {
    const noDropout = { input: [16], layers: [{ type: 'linear', out: 8 }, { type: 'gelu' }, { type: 'linear', out: 4 }] };
    const model = modelFromSpec(noDropout, 4);
    model.train();
    const batch = data.slice(0, 40);
    const whole = new Float32Array(model.size);
    const key = dropoutRunKey(0);
    const samples = Uint32Array.from({ length: 40 }, (_, i) => i);
    chunkGradient(model, crossEntropy, { inputs: batch.inputs, targets: batch.targets, samples }, 40, 0, key, whole);
    const chunks = Math.ceil(40 / 7);
    const slots = new Float32Array(chunks * model.size);
    for (let c = 0; c < chunks; c++) {
      const part = batch.slice(c * 7, Math.min(40, (c + 1) * 7));
      const slot = slots.subarray(c * model.size, (c + 1) * model.size);
      chunkGradient(model, crossEntropy, { inputs: part.inputs, targets: part.targets, samples: samples.subarray(c * 7, (c + 1) * 7) }, 40, 0, key, slot);
    }
    reduceChunkSlots(slots, model.size, chunks);
    let worst = 0;
    for (let i = 0; i < model.size; i++) worst = Math.max(worst, Math.abs(slots[i] - whole[i]));
    const scale = whole.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(worst / scale).toBeLessThan(1e-6);
  });

  it('are summed in the pairwise tree order over chunk index, whatever the float rounding', () => {
    const values = [1e8, 1, -1e8, 1, 3, 0.5, 7];
    const slots = Float32Array.from(values);
    reduceChunkSlots(slots, 1, 7);
    const f = Math.fround;
    const expected = f(f(f(1e8 + 1) + f(-1e8 + 1)) + f(f(3 + 0.5) + 7));
    expect(slots[0]).toBe(expected);
    expect(reduceChunkScalars(Float64Array.from(values), 7)).toBe(((1e8 + 1) + (-1e8 + 1)) + ((3 + 0.5) + 7));
  });
});

describe('fit, evaluate and predict', () => {
  it('learns the synthetic task: validation accuracy rises well above chance (0.25)', () => {
    const model = modelFromSpec(spec, 3);
    const before = evaluate(model, data.slice(200, 300));
    const { history } = fit(model, data.slice(0, 200), {
      epochs: 15,
      batchSize: 20,
      seed: 3,
      optimizer: adam({ lr: 0.005 }),
      validation: data.slice(200, 300),
    });
    expect(history).toHaveLength(15);
    expect(history[14].valAccuracy).toBeGreaterThan(0.7);
    expect(history[14].loss).toBeLessThan(history[0].loss);
    expect(history[14].valLoss).toBeLessThan(before.loss);
  });

  it('predict gives the eval-mode forward for every row, in batches of any size', () => {
    const model = modelFromSpec(spec, 4).train();
    const small = predict(model, data.inputs, { batchSize: 7 });
    const large = predict(model, data.inputs, { batchSize: 300 });
    expect(bytes(small).equals(bytes(large))).toBe(true);
    expect(model.training).toBe(true);
    const one = predict(model, data.inputs.subarray(16 * 5, 16 * 6));
    expect([...one]).toEqual([...small.subarray(4 * 5, 4 * 6)]);
  });

  it('evaluate reports cross-entropy and accuracy in eval mode', () => {
    const model = modelFromSpec(spec, 4);
    const result = evaluate(model, data);
    expect(result.loss).toBeGreaterThan(0);
    expect(result.accuracy).toBeGreaterThanOrEqual(0);
    const logits = predict(model, data.inputs);
    let correct = 0;
    for (let r = 0; r < data.size; r++) {
      const row = [...logits.subarray(r * 4, r * 4 + 4)];
      if (row.indexOf(Math.max(...row)) === (data.targets.kind === 'classes' ? data.targets.labels[r] : -1)) correct++;
    }
    expect(result.accuracy).toBe(correct / data.size);
  });

  it('regression with mse: no accuracy, loss falls', () => {
    const inputs = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i));
    const values = Float32Array.from({ length: 100 }, (_, i) => 2 * inputs[2 * i] - inputs[2 * i + 1]);
    const regression = Dataset.regression(inputs, [2], values, 1);
    const model = modelFromSpec({ input: [2], layers: [{ type: 'linear', out: 1 }] }, 0);
    const { history } = fit(model, regression, { epochs: 30, batchSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) });
    expect(history[29].accuracy).toBeNull();
    expect(history[29].loss).toBeLessThan(1e-4);
    expect(Math.abs(model.params[0] - 2)).toBeLessThan(0.01);
  });
});

describe('options are checked, naming the option', () => {
  const model = modelFromSpec(spec, 0);
  const base = { epochs: 1, batchSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };
  it.each([
    [{ epochs: 0 }, 'epochs must be an integer >= 1, got 0'],
    [{ batchSize: 2.5 }, 'batchSize must be an integer >= 1, got 2.5'],
    [{ chunkSize: 0 }, 'chunkSize must be an integer >= 1, got 0'],
    [{ chunkSize: 11 }, 'chunkSize (11) must not exceed batchSize (10); lower chunkSize'],
    [{ seed: -4 }, 'seed must be an integer >= 0, got -4'],
  ])('%j', (override, message) => {
    expect(() => fit(model, data, { ...base, ...override })).toThrow(message);
  });

  it('data of the wrong shape or with too many classes', () => {
    const wide = syntheticClassification({ seed: 1, samples: 10, features: 17, classes: 4 });
    expect(() => fit(model, wide, base)).toThrow('data: samples have shape [17] but the model takes [16]');
    const many = syntheticClassification({ seed: 1, samples: 10, features: 16, classes: 6 });
    expect(() => fit(model, many, base)).toThrow('data: 6 classes but the model has 4 outputs');
    expect(() => fit(model, data, { ...base, validation: wide })).toThrow('validation data: samples have shape [17]');
  });

  it('optimizer hyperparameters', () => {
    expect(() => sgd({ lr: -1 })).toThrow('sgd lr must be a finite number >= 0, got -1');
    expect(() => sgd({ lr: 0.1, nesterov: true })).toThrow('sgd nesterov needs momentum > 0 and dampening 0');
    expect(() => adam({ beta1: 1 })).toThrow('adam beta1 must be a finite number in [0, 0.999999], got 1');
  });
});

describe('learning-rate schedules', () => {
  it('constant, step decay and cosine', () => {
    expect(learningRateAt(0.1, { kind: 'constant' }, 99)).toBe(0.1);
    expect([0, 9, 10, 25].map((t) => learningRateAt(1, { kind: 'step', stepSize: 10, gamma: 0.5 }, t))).toEqual([1, 1, 0.5, 0.25]);
    const cosine = { kind: 'cosine', totalSteps: 100, minLr: 0.1 } as const;
    expect(learningRateAt(1, cosine, 0)).toBe(1);
    expect(learningRateAt(1, cosine, 50)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(1, cosine, 100)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(1, cosine, 500)).toBeCloseTo(0.1, 12);
  });

  it('drives fit: a step schedule with gamma 0 freezes the model after its first stepSize steps', () => {
    const model = modelFromSpec(spec, 9);
    const optimizer = sgd({ lr: 0.1, schedule: { kind: 'step', stepSize: 6, gamma: 0 } });
    fit(model, data, { epochs: 1, batchSize: 50, seed: 9, optimizer });
    const after = model.params.slice();
    fit(model, data, { epochs: 1, batchSize: 50, seed: 9, optimizer, state: { step: 6, epoch: 1, optimizerState: new Float32Array(0) } });
    expect(bytes(model.params).equals(bytes(after))).toBe(true);
  });
});
