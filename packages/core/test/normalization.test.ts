import { describe, expect, it } from 'vitest';
import { BatchNorm2d, combineChunkStatistics, Dataset, evaluate, fit, LayerNorm, modelFromSpec, predict, predictWithUncertainty, sequentialFromSpec, sgd, specOf, syntheticClassification } from '@lockstep/core';
import { channelMoments } from '../src/ops/normalization.js';

const flatData = syntheticClassification({ seed: 1, samples: 33, features: 4, classes: 2 });
const mlp = { input: [4], layers: [{ type: 'linear', out: 3 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'linear', out: 2 }] };
const fitError = (batchSize: number, chunkSize: number): unknown => {
  try {
    fit(modelFromSpec(mlp, 1), flatData, { epochs: 1, batchSize, chunkSize, seed: 1, optimizer: sgd({ lr: 0.1 }) });
  } catch (error) {
    return error;
  }
  return null;
};

describe('batch statistics merged over chunks', () => {
  const x = Float32Array.from({ length: 13 * 3 * 4 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 3));

  it('the merge of uneven chunks (4, 4, 4, 1 rows) in the pairwise tree is the whole batch: count, mean and M2 to 1e-12', () => {
    const whole = new Float64Array(9);
    channelMoments(x, 13, 3, 4, whole);
    const slots = new Float64Array(4 * 9);
    for (const [chunk, [from, rows]] of [[0, 4], [4, 4], [8, 4], [12, 1]].entries()) {
      channelMoments(x.subarray(from * 12, (from + rows) * 12), rows, 3, 4, slots.subarray(chunk * 9, (chunk + 1) * 9));
    }
    const merged = combineChunkStatistics(slots, 9, 4);
    for (let i = 0; i < 9; i++) expect(Math.abs(merged[i] - whole[i])).toBeLessThan(1e-12 * Math.max(1, Math.abs(whole[i])));
    expect(merged[0]).toBe(52);
  });

  it('one chunk is left as it is, bit for bit', () => {
    const one = new Float64Array(9);
    channelMoments(x, 13, 3, 4, one);
    expect(combineChunkStatistics(one.slice(), 9, 1)).toEqual(one);
  });

  it('a first-layer BatchNorm2d: after one step the running statistics are those of the whole batch, whatever chunkSize normalized it (to 1e-6)', () => {
    const images = syntheticClassification({ seed: 4, samples: 24, features: 2 * 3 * 3, classes: 2 });
    const spec = { input: [2, 3, 3], layers: [{ type: 'batch-norm2d' }, { type: 'flatten' }, { type: 'linear', out: 2 }] };
    const data = new Dataset(images.inputs, [2, 3, 3], images.targets);
    const runs = [24, 8, 3].map((chunkSize) => {
      const model = modelFromSpec(spec, 1);
      fit(model, data, { epochs: 1, batchSize: 24, chunkSize, seed: 1, shuffle: false, optimizer: sgd({ lr: 0.1 }) });
      return { buffers: model.buffers.slice(), params: model.params.slice() };
    });
    for (const run of runs.slice(1)) {
      run.buffers.forEach((v, i) => expect(Math.abs(v - runs[0]!.buffers[i]!)).toBeLessThan(1e-6));
      // The normalization itself is per chunk (ghost batch normalization), so the parameters differ.
      expect(run.params).not.toEqual(runs[0]!.params);
    }
  });
});

describe('normalization layers in a spec', () => {
  it('batch-norm2d infers numFeatures from the channel axis, and the spec round-trips with PyTorch defaults written out', () => {
    const model = modelFromSpec({ input: [1, 6, 6], layers: [{ type: 'conv2d', out: 5, kernelSize: 3 }, { type: 'batch-norm2d' }, { type: 'flatten' }, { type: 'layer-norm' }] }, 1);
    expect(specOf(model).layers.slice(1, 2)).toEqual([{ type: 'batch-norm2d', numFeatures: 5, eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true }]);
    expect(specOf(model).layers[3]).toEqual({ type: 'layer-norm', normalizedShape: [80], eps: 1e-5, elementwiseAffine: true });
    expect(Array.from(model.buffers)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect((sequentialFromSpec(specOf(model)).layers[1] as BatchNorm2d).numFeatures).toBe(5);
    expect((sequentialFromSpec(specOf(model)).layers[3] as LayerNorm).normalizedShape).toEqual([80]);
  });

  it.each([
    [{ input: [50], layers: [{ type: 'batch-norm2d' }] }, 'model spec layers[0]: expects samples of shape [C,H,W], got [50]; it needs a channel axis: put it after a conv2d or pooling layer, or use batch-norm1d for flat samples'],
    [{ input: [1, 8, 8], layers: [{ type: 'flatten' }, { type: 'batch-norm2d' }] }, 'model spec layers[1]: expects samples of shape [C,H,W], got [64]; it needs a channel axis: put it after a conv2d or pooling layer, or use batch-norm1d for flat samples'],
    [{ input: [4], layers: [{ type: 'batch-norm1d', momentum: 0 }] }, 'model spec layers[0] (batch-norm1d): "momentum" must be a finite number > 0, got 0'],
    [{ input: [4], layers: [{ type: 'batch-norm1d', momentum: -0.1 }] }, 'model spec layers[0] (batch-norm1d): "momentum" must be a finite number > 0, got -0.1'],
    [{ input: [3, 4, 4], layers: [{ type: 'batch-norm2d', eps: 0 }] }, 'model spec layers[0] (batch-norm2d): "eps" must be a finite number > 0, got 0'],
    [{ input: [3, 4, 4], layers: [{ type: 'batch-norm2d', eps: -1e-5 }] }, 'model spec layers[0] (batch-norm2d): "eps" must be a finite number > 0, got -0.00001'],
    [{ input: [4], layers: [{ type: 'batch-norm1d', momentum: 1.5 }] }, 'model spec layers[0] (batch-norm1d): BatchNorm1d momentum must be in (0, 1], got 1.5'],
    [{ input: [4], layers: [{ type: 'layer-norm', eps: -1 }] }, 'model spec layers[0] (layer-norm): "eps" must be a finite number > 0, got -1'],
    [{ input: [4, 3], layers: [{ type: 'layer-norm', normalizedShape: [4] }] }, 'model spec layers[0]: normalizedShape [4] must be the trailing dimensions of the samples, got [4,3]'],
  ])('refuses %j with one line', (spec, message) => {
    expect(() => sequentialFromSpec(spec)).toThrow(message);
  });
});

describe('a chunk of one sample in training mode', () => {
  it.each([
    [8, 1, 'chunkSize 1 leaves a chunk of 1 sample, and layer 1 (BatchNorm1d) needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least 2 samples'],
    [9, 4, 'batchSize 9 in chunks of chunkSize 4 leaves a chunk of 1 sample, and layer 1 (BatchNorm1d) needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least 2 samples'],
    [8, 8, 'the last batch of each epoch (1 sample of 33) in chunks of chunkSize 8 leaves a chunk of 1 sample, and layer 1 (BatchNorm1d) needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least 2 samples'],
  ])('fit with batchSize %i and chunkSize %i on 33 samples is refused before the first step', (batchSize, chunkSize, message) => {
    const error = fitError(batchSize, chunkSize) as Error;
    expect(error).toMatchObject({ code: 'E_OPTION', message });
  });

  it('chunks of at least 2 train; BatchNorm2d over 3x3 maps takes a single row, as in PyTorch', () => {
    expect(fitError(11, 11)).toBeNull();
    const maps = modelFromSpec({ input: [2, 3, 3], layers: [{ type: 'batch-norm2d' }] }, 1).train();
    expect(maps.forward(new Float32Array(18).map((_, i) => i)).data.length).toBe(18);
    const flat = modelFromSpec(mlp, 1).train();
    expect(() => flat.forward(new Float32Array(4))).toThrow('layer 1 (BatchNorm1d): expected more than 1 value per channel when training, got input of shape [1,3]');
  });
});

describe('eval mode with trackRunningStats: false, where BatchNorm normalizes by the batch\'s statistics: a pass of one row is refused', () => {
  const spec = { input: [4], layers: [{ type: 'linear', out: 3 }, { type: 'batch-norm1d', trackRunningStats: false }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 2 }] };
  const model = modelFromSpec(spec, 1);
  const data = syntheticClassification({ seed: 2, samples: 257, features: 4, classes: 2 });
  const layer = "layer 1 (BatchNorm1d) normalizes by the batch's own statistics in eval mode (trackRunningStats: false) and needs 2 rows or more";
  const batchSizeFix = 'pass a batchSize that leaves 2 rows or more in the last pass, or use trackRunningStats: true';

  it.each([
    ['predict, 257 rows', () => predict(model, data.inputs), `predict: 257 rows, 256 at a time, leave a last pass of 1 row, but ${layer}; ${batchSizeFix}`],
    ['predict, 9 rows in batches of 4', () => predict(model, data.inputs.subarray(0, 36), { batchSize: 4 }), `predict: 9 rows, 4 at a time, leave a last pass of 1 row, but ${layer}; ${batchSizeFix}`],
    ['evaluate, 257 samples', () => evaluate(model, data), `evaluate: 257 rows, 256 at a time, leave a last pass of 1 row, but ${layer}; ${batchSizeFix}`],
    ['predictWithUncertainty, 1 row', () => predictWithUncertainty(model, data.inputs.subarray(0, 4), { samples: 2, seed: 0 }), `predictWithUncertainty: 1 row, but ${layer}; pass 2 rows or more, or use trackRunningStats: true`],
    [
      'fit with 257 validation samples, before the first step',
      () => fit(model, syntheticClassification({ seed: 3, samples: 64, features: 4, classes: 2 }), { epochs: 1, batchSize: 64, seed: 1, optimizer: sgd({ lr: 0.1 }), validation: data }),
      `validation data: 257 rows, 256 at a time, leave a last pass of 1 row, but ${layer}; give validation data of a size that leaves 2 rows or more in the last pass, or use trackRunningStats: true`,
    ],
  ])('%s: one E_OPTION line naming the layer and the way out', (_name, call, message) => {
    const before = model.params.slice();
    expect(call).toThrow(expect.objectContaining({ code: 'E_OPTION', message }));
    expect(model.params).toEqual(before);
  });

  it('a forward of one row in eval mode is refused as in training mode, naming the layer', () => {
    expect(() => model.eval().forward(data.inputs.subarray(0, 4))).toThrow(
      "layer 1 (BatchNorm1d): expected more than 1 value per channel in eval mode with trackRunningStats: false, which normalizes by the batch's statistics, got input of shape [1,3]",
    );
  });

  it('a batchSize leaving 2 rows or more predicts each batch by its own statistics; with running statistics, or over H x W maps, one row is fine', () => {
    const whole = predict(model, data.inputs, { batchSize: 200 });
    expect(whole.subarray(400)).toEqual(predict(model, data.inputs.subarray(800)));
    const tracked = modelFromSpec({ ...spec, layers: spec.layers.map((entry) => (entry.type === 'batch-norm1d' ? { type: 'batch-norm1d' } : entry)) }, 1);
    expect(predict(tracked, data.inputs.subarray(0, 4))).toHaveLength(2);
    const maps = modelFromSpec({ input: [2, 3, 3], layers: [{ type: 'batch-norm2d', trackRunningStats: false }] }, 1);
    const normalized = predict(maps, new Float32Array(18).map((_, i) => i * i));
    // Each channel of the one image is normalized over its 9 values: mean 0, not a constant.
    for (const channel of [normalized.subarray(0, 9), normalized.subarray(9)]) {
      expect(Math.abs(channel.reduce((sum, v) => sum + v, 0))).toBeLessThan(1e-5);
      expect(new Set(channel).size).toBe(9);
    }
  });
});
