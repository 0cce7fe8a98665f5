import { describe, expect, it } from 'vitest';
import { BatchNorm1d, BatchNorm2d, Dataset, fit, LayerNorm, Model, modelFromSpec, sgd, type LayerSpec, type Module, type TrainingState } from '@lockstep/core';
import { expectRelativelyClose, f32, readFixture, type FixtureTensor } from './helpers/fixtures.js';

/**
 * PyTorch 1.13 is the oracle: fixtures from tools/parity/generate_norm.py. A normalized value is a
 * difference from the mean over a standard deviation, so where it lies near 0 the two computations
 * (both summing in float64, in different orders, then rounding) differ by ~1e-7 absolutely: the
 * absolute floor is 1e-6, as for convolutions, with relative tolerance 1e-5 as everywhere.
 */
const ATOL = 1e-6;

interface LayerCase {
  op: 'batchnorm1d' | 'batchnorm2d' | 'layernorm';
  training?: boolean;
  eps: number;
  momentum?: number;
  affine: boolean;
  normalizedShape?: number[];
  input: FixtureTensor;
  gradOutput: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
  weight?: FixtureTensor;
  bias?: FixtureTensor;
  gradWeight?: FixtureTensor;
  gradBias?: FixtureTensor;
  runningMean0?: FixtureTensor;
  runningVar0?: FixtureTensor;
  runningMean?: FixtureTensor;
  runningVar?: FixtureTensor;
}

interface FitCase {
  layers: LayerSpec[];
  sampleShape: number[];
  input: FixtureTensor;
  target: FixtureTensor;
  lr: number;
  initialParams: FixtureTensor;
  steps: Array<{ params: FixtureTensor; runningMean: FixtureTensor; runningVar: FixtureTensor }>;
}

const fixture = readFixture<{ layers: Record<string, LayerCase>; fits: Record<string, FitCase> }>('norm.json');

function layerFor(c: LayerCase): Module {
  const channels = c.input.shape[1]!;
  switch (c.op) {
    case 'batchnorm1d':
      return new BatchNorm1d({ numFeatures: channels, eps: c.eps, momentum: c.momentum, affine: c.affine });
    case 'batchnorm2d':
      return new BatchNorm2d({ numFeatures: channels, eps: c.eps, momentum: c.momentum, affine: c.affine });
    case 'layernorm':
      return new LayerNorm({ normalizedShape: c.normalizedShape!, eps: c.eps, elementwiseAffine: c.affine });
  }
}

describe('PyTorch parity: BatchNorm1d, BatchNorm2d and LayerNorm', () => {
  it('covers every case of the fixture', () => {
    expect(Object.keys(fixture.layers)).toEqual([
      'bn1d_train',
      'bn1d_train_length',
      'bn1d_eval',
      'bn2d_train',
      'bn2d_train_momentum_eps_noaffine',
      'bn2d_eval',
      'layernorm_features',
      'layernorm_chw',
      'layernorm_trailing_noaffine',
    ]);
    expect(Object.keys(fixture.fits)).toEqual(['mlp_batchnorm1d', 'cnn_batchnorm2d']);
  });

  it.each(Object.entries(fixture.layers))('%s: output, every gradient and the running statistics within rtol 1e-5', (name, c) => {
    const layer = layerFor(c);
    const model = new Model(layer, c.input.shape.slice(1));
    if (c.weight !== undefined) {
      model.params.set(f32(c.weight), 0);
      model.params.set(f32(c.bias!), c.weight.data.length);
    }
    if (c.runningMean0 !== undefined) {
      model.buffers.set(f32(c.runningMean0), 0);
      model.buffers.set(f32(c.runningVar0!), c.runningMean0.data.length);
    }
    model.train(c.training ?? true);
    const output = model.forward({ data: f32(c.input), shape: c.input.shape });
    expectRelativelyClose(output.data, c.output.data, `${name} output`, 1e-5, ATOL);
    const gradInput = layer.backward({ data: f32(c.gradOutput), shape: c.gradOutput.shape }, true)!;
    expectRelativelyClose(gradInput.data, c.gradInput.data, `${name} gradInput`, 1e-5, ATOL);
    if (c.gradWeight !== undefined) {
      expectRelativelyClose(model.grads.subarray(0, c.gradWeight.data.length), c.gradWeight.data, `${name} gradWeight`, 1e-5, ATOL);
      expectRelativelyClose(model.grads.subarray(c.gradWeight.data.length), c.gradBias!.data, `${name} gradBias`, 1e-5, ATOL);
    }
    if (c.runningMean !== undefined) {
      // One forward is one step of one chunk: its statistics are the step's.
      if (c.training === true) model.updateRunningStatistics();
      const channels = c.runningMean.data.length;
      expectRelativelyClose(model.buffers.subarray(0, channels), c.runningMean.data, `${name} runningMean`, 1e-5, ATOL);
      expectRelativelyClose(model.buffers.subarray(channels), c.runningVar!.data, `${name} runningVar`, 1e-5, ATOL);
    }
  });

  it.each(Object.entries(fixture.fits))('%s: 3 SGD steps of fit on a batch of one chunk: parameters and running statistics after each', (name, c) => {
    const model = modelFromSpec({ input: c.sampleShape, layers: c.layers }, 0);
    model.params.set(f32(c.initialParams));
    const rows = c.input.shape[0]!;
    const data = new Dataset(f32(c.input), c.sampleShape, { kind: 'values', values: f32(c.target), width: c.target.shape[1]! });
    let state: TrainingState | undefined;
    for (const [i, expected] of c.steps.entries()) {
      const options = { epochs: 1, batchSize: rows, chunkSize: rows, shuffle: false, seed: 0, loss: 'mse', optimizer: sgd({ lr: c.lr }) } as const;
      state = fit(model, data, state === undefined ? options : { ...options, state }).state;
      expectRelativelyClose(model.params, expected.params.data, `${name} step ${i + 1} params`, 1e-5, ATOL);
      const channels = expected.runningMean.data.length;
      expectRelativelyClose(model.buffers.subarray(0, channels), expected.runningMean.data, `${name} step ${i + 1} runningMean`, 1e-5, ATOL);
      expectRelativelyClose(model.buffers.subarray(channels), expected.runningVar.data, `${name} step ${i + 1} runningVar`, 1e-5, ATOL);
    }
  });
});
