import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportOnnx, modelFromSpec, type LayerSpec, type Model } from '@lockstep/core';
import type { FixtureTensor } from './helpers/fixtures.js';
import { argmaxDisagreements, evalOutput, maxAbsDifference, runOnnx } from './helpers/onnx.js';

/**
 * PyTorch 1.13's own ONNX export is the oracle: tools/parity/generate_onnx.py wrote each model's
 * weights, an input batch, PyTorch's eval-mode output and torch.onnx.export's file (opset 17). The same
 * weights loaded into lockstep, exported by lockstep, must give the same outputs in onnxruntime-node.
 */
const ATOL = 1e-5;

interface TorchModel {
  inputShape: number[];
  params: Record<string, FixtureTensor>;
  input: FixtureTensor;
  output: FixtureTensor;
}

const fixtures = new URL('./fixtures/onnx/', import.meta.url);
const { models, torch, opset } = JSON.parse(readFileSync(new URL('torch-models.json', fixtures), 'utf8')) as { models: Record<string, TorchModel>; torch: string; opset: number };

/** lockstep's layers for each PyTorch nn.Sequential of generate_onnx.py, index for index. */
const LAYERS: Record<string, LayerSpec[]> = {
  mlp: [
    { type: 'flatten' },
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 10 },
  ],
  cnn: [
    { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'conv2d', out: 8, kernelSize: 3, padding: 1 },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'dropout2d', p: 0.1 },
    { type: 'flatten' },
    { type: 'linear', out: 16 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 10 },
  ],
  norm: [
    { type: 'conv2d', out: 4, kernelSize: 3 },
    { type: 'batch-norm2d' },
    { type: 'gelu' },
    { type: 'avg-pool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'linear', out: 16 },
    { type: 'batch-norm1d' },
    { type: 'tanh' },
    { type: 'layer-norm' },
    { type: 'leaky-relu', negativeSlope: 0.1 },
    { type: 'linear', out: 10 },
  ],
};

/** The model with PyTorch's parameters and running statistics, each put at its path; every tensor of the model must be given. */
function withTorchWeights(name: string, fixture: TorchModel): Model {
  const model = modelFromSpec({ input: fixture.inputShape, layers: LAYERS[name] }, 0);
  const targets = [
    ...model.entries.map((entry) => ({ entry, values: model.params })),
    ...model.bufferEntries.map((entry) => ({ entry, values: model.buffers })),
  ];
  expect(targets.map(({ entry }) => entry.path).sort()).toEqual(Object.keys(fixture.params).sort());
  for (const { entry, values } of targets) {
    const tensor = fixture.params[entry.path];
    expect(tensor.shape, entry.path).toEqual(entry.shape);
    values.set(tensor.data, entry.offset);
  }
  return model;
}

describe(`lockstep's ONNX export against PyTorch ${torch}'s (opset ${opset}) in onnxruntime-node`, () => {
  it('the fixture has the three models', () => {
    expect(Object.keys(models)).toEqual(['mlp', 'cnn', 'norm']);
  });

  it.each(Object.entries(models))(`%s: both files give the same outputs within ${ATOL}, and PyTorch's eval-mode output`, async (name, fixture) => {
    const model = withTorchWeights(name, fixture);
    const input = Float32Array.from(fixture.input.data);
    const ours = await runOnnx(exportOnnx(model), input, fixture.input.shape);
    const theirs = await runOnnx(new Uint8Array(readFileSync(new URL(`${name}.onnx`, fixtures))), input, fixture.input.shape);
    expect(ours.dims).toEqual(fixture.output.shape);
    expect(theirs.dims).toEqual(fixture.output.shape);
    const numbers = {
      'lockstep file vs PyTorch file': maxAbsDifference(ours.data, theirs.data),
      'lockstep file vs PyTorch eval': maxAbsDifference(ours.data, fixture.output.data),
      'lockstep eval vs PyTorch eval': maxAbsDifference(evalOutput(model, input), fixture.output.data),
    };
    console.log(`${name}: max abs differences ${JSON.stringify(numbers)}`);
    for (const [what, worst] of Object.entries(numbers)) expect(worst, what).toBeLessThanOrEqual(ATOL);
    expect(argmaxDisagreements(ours.data, theirs.data, 10)).toBe(0);
  });
});
