import { describe, expect, it } from 'vitest';
import { Dropout, Linear, modelFromSpec, Sequential, sequentialFromSpec, specOf } from '@lockstep/core';

const mlp = {
  input: [1, 28, 28],
  layers: [
    { type: 'flatten' },
    { type: 'linear', out: 128 },
    { type: 'relu' },
    { type: 'dropout', p: 0.2 },
    { type: 'sequential', layers: [{ type: 'linear', out: 64, init: 'kaiming-uniform' }, { type: 'gelu', approximate: 'tanh' }] },
    { type: 'dropout', p: 0.5, scaling: 'classic' },
    { type: 'linear', out: 10, bias: false },
  ],
};

describe('model spec', () => {
  it('builds a Sequential, inferring linear input sizes and giving nested layers dotted paths', () => {
    const model = modelFromSpec(mlp, 1);
    expect(model.outputShape).toEqual([10]);
    expect(model.entries.map((e) => `${e.path}:${e.shape.join('x')}`)).toEqual([
      '1.weight:128x784',
      '1.bias:128',
      '4.0.weight:64x128',
      '4.0.bias:64',
      '6.weight:10x64',
    ]);
    const root = model.module as Sequential;
    expect((root.layers[5] as Dropout).scaling).toBe('classic');
    expect(((root.layers[4] as Sequential).layers[0] as Linear).path).toBe('4.0');
  });

  it('round-trips through specOf to the same layers and the same initial parameters', () => {
    const model = modelFromSpec(mlp, 3);
    const again = modelFromSpec(JSON.parse(JSON.stringify(specOf(model))), 3);
    expect(Buffer.from(again.params.buffer).equals(Buffer.from(model.params.buffer))).toBe(true);
  });

  it.each([
    [null, 'model spec: must be an object {"input": [...], "layers": [...]}, got null'],
    [{ input: [0], layers: [] }, 'model spec "input": must be a non-empty list of positive integers (one sample\'s shape), got [0]'],
    [{ input: [4], layers: {} }, 'model spec layers: "layers" must be a list, got an object'],
    [{ input: [4], layers: ['relu'] }, 'model spec layers[0]: must be an object like {"type": "relu"}, got "relu"'],
    [{ input: [4], layers: [{ type: 'conv' }] }, 'model spec layers[0]: "type" must be one of linear, relu, leaky-relu, tanh, sigmoid, gelu, flatten, dropout, sequential, conv2d, max-pool2d, avg-pool2d, global-avg-pool2d, dropout2d, selu, gaussian-dropout, alpha-dropout, batch-norm1d, batch-norm2d, layer-norm, got "conv"'],
    [{ input: [4], layers: [{ type: 'relu' }, { type: 'linear' }] }, 'model spec layers[1] (linear): "out" is required'],
    [{ input: [4], layers: [{ type: 'linear', out: -3 }] }, 'model spec layers[0] (linear): "out" must be a positive integer, got -3'],
    [{ input: [4], layers: [{ type: 'linear', out: 3, outt: 4 }] }, 'model spec layers[0] (linear): unknown field "outt"; known fields: out, in, bias, init'],
    [{ input: [4], layers: [{ type: 'linear', out: 3, init: 'he' }] }, 'model spec layers[0] (linear): "init" must be one of "torch-default", "kaiming-uniform", "kaiming-normal", "xavier-uniform", "xavier-normal", "zeros", got "he"'],
    [{ input: [4], layers: [{ type: 'dropout', p: 1.5 }] }, 'model spec layers[0] (dropout): p=1.5 is out of range [0, 1]'],
    [{ input: [4], layers: [{ type: 'dropout', p: 0.5, scaling: 'keras' }] }, 'model spec layers[0] (dropout): "scaling" must be one of "inverted", "classic", got "keras"'],
    [{ input: [2, 2], layers: [{ type: 'linear', out: 3 }] }, 'model spec layers[0] (linear): input samples have shape [2,2]; add {"type": "flatten"} before it'],
    [{ input: [4], layers: [{ type: 'linear', in: 5, out: 3 }] }, 'model spec layers[0]: expects samples of shape [5], got [4]; add a Flatten before it or fix inFeatures'],
    [{ input: [4], layers: [{ type: 'sequential', layers: [{ type: 'relu', p: 1 }] }] }, 'model spec layers[0].layers[0] (relu): unknown field "p"'],
    [{ input: [4], layers: [{ type: 'hasOwnProperty' }] }, 'model spec layers[0]: "type" must be one of linear, relu, leaky-relu, tanh, sigmoid, gelu, flatten, dropout, sequential, conv2d, max-pool2d, avg-pool2d, global-avg-pool2d, dropout2d, selu, gaussian-dropout, alpha-dropout, batch-norm1d, batch-norm2d, layer-norm, got "hasOwnProperty"'],
    [{ input: [4], layers: [{ type: 'relu', constructor: 1 }] }, 'model spec layers[0] (relu): unknown field "constructor"'],
    [{ input: [4], layers: [{ type: 'linear', out: 2 ** 53 }] }, 'model spec layers[0] (linear): Linear outFeatures must be an integer >= 1, got 9007199254740992'],
    [{ input: [4], layers: [{ type: 'linear', out: 2 ** 29 }] }, 'model spec layers[0]: [536870912] per sample is 536870912 values, more than the limit of 268435456; use smaller layers'],
    [{ input: [2 ** 15, 2 ** 15], layers: [] }, 'model spec "input": [32768,32768] per sample is 1073741824 values, more than the limit of 268435456; use smaller layers'],
  ])('rejects %j with one line naming the entry', (spec, message) => {
    expect(() => sequentialFromSpec(spec)).toThrow(message);
    try {
      sequentialFromSpec(spec);
    } catch (error) {
      expect((error as { code: string }).code).toBe('E_SPEC');
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('refuses a model of more than 2^28 parameters before allocating them', () => {
    expect(() => modelFromSpec({ input: [4096], layers: [{ type: 'linear', out: 2 ** 17 }] }, 0)).toThrow(
      'the model has 537001984 parameters, more than the limit of 268435456 (1 GiB of float32); use smaller layers',
    );
  });
});
