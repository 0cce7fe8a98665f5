import { describe, expect, it } from 'vitest';
import { BatchNorm1d, checkStateValues, Linear, Model, modelFromSpec, negativeRunningVariance, ReLU, Sequential, torchName, type StateDict } from '@lockstep/core';
import { failure } from './helpers/failure.js';

const SPEC = {
  input: [1, 6, 6],
  layers: [
    { type: 'conv2d', out: 2, kernelSize: 3 },
    { type: 'batch-norm2d' },
    { type: 'relu' },
    { type: 'flatten' },
    { type: 'sequential', layers: [{ type: 'linear', out: 5 }, { type: 'layer-norm' }] },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 3 },
  ],
};

describe('state dicts with PyTorch names', () => {
  it('names each tensor as nn.Sequential would, with PyTorch layouts, in PyTorch order', () => {
    const dict = modelFromSpec(SPEC, 1).stateDict();
    expect([...dict].map(([name, t]) => `${name} ${JSON.stringify(t.shape)}`)).toEqual([
      '0.weight [2,1,3,3]',
      '0.bias [2]',
      '1.weight [2]',
      '1.bias [2]',
      '1.running_mean [2]',
      '1.running_var [2]',
      '4.0.weight [5,32]',
      '4.0.bias [5]',
      '4.1.weight [5]',
      '4.1.bias [5]',
      '6.weight [3,5]',
      '6.bias [3]',
    ]);
  });

  it('turns a lockstep path into the PyTorch name', () => {
    expect(['0.weight', '3.runningMean', '1.0.runningVar', 'bias'].map(torchName)).toEqual(['0.weight', '3.running_mean', '1.0.running_var', 'bias']);
  });

  it('holds copies: changing the dict does not change the model', () => {
    const model = modelFromSpec(SPEC, 1);
    const before = model.params.slice();
    const dict = model.stateDict();
    dict.get('0.weight')!.data.fill(7);
    expect(model.params).toEqual(before);
  });

  it('loads another model\'s state dict exactly, parameters and running statistics', () => {
    const source = modelFromSpec(SPEC, 1);
    source.buffers.forEach((_, i) => (source.buffers[i] = 0.25 * i));
    const target = modelFromSpec(SPEC, 2);
    expect(target.params).not.toEqual(source.params);
    target.loadStateDict(source.stateDict());
    expect(target.params).toEqual(source.params);
    expect(target.buffers).toEqual(source.buffers);
  });

  it('takes a plain object too', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 1 })), [2]);
    model.loadStateDict({ '0.weight': { shape: [1, 2], data: Float32Array.of(1, 2) }, '0.bias': { shape: [1], data: Float32Array.of(3) } });
    expect([...model.params]).toEqual([1, 2, 3]);
  });

  it('lists every mismatch in one line and loads nothing', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 3 }), new ReLU(), new BatchNorm1d({ numFeatures: 3 })), [2]);
    const before = model.params.slice();
    const dict: StateDict = model.stateDict();
    dict.delete('0.bias');
    dict.set('0.weight', { shape: [2, 3], data: new Float32Array(6) });
    dict.set('2.running_mean', { shape: [3], data: new Float32Array(2) });
    dict.set('5.weight', { shape: [1], data: new Float32Array(1) });
    expect(() => model.loadStateDict(dict)).toThrow(
      'loadStateDict: 4 mismatches with the model: missing 0.bias; 0.weight has shape [2,3], the model\'s is [3,2]; ' +
        '2.running_mean has 2 values, its shape [3] needs 3; unexpected 5.weight; give the tensors of a model with the same layers and sizes',
    );
    expect(model.params).toEqual(before);
  });

  it('names an entry that is not a tensor', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 1, bias: false })), [2]);
    const dict = new Map([['0.weight', { shape: [1, 2], data: [1, 2] } as never]]);
    expect(() => model.loadStateDict(dict)).toThrow('loadStateDict: 1 mismatch with the model: 0.weight is not { shape: number[], data: Float32Array }; give the tensors of a model with the same layers and sizes');
  });
});

describe('running variances', () => {
  const withValue = (name: string, index: number, value: number): StateDict => {
    const dict = modelFromSpec(SPEC, 1).stateDict();
    dict.get(name)!.data[index] = value;
    return dict;
  };

  it('checkStateValues refuses a negative one, naming the tensor, the value and its index', () => {
    expect(failure(() => checkStateValues(withValue('1.running_var', 1, -0.5), 'w.safetensors'))).toEqual({
      code: 'E_NUMERIC',
      message: 'w.safetensors: tensor "1.running_var" holds -0.5 at index 1, a negative running variance, which makes eval-mode outputs NaN; save it again from a model whose running variances are >= 0',
    });
  });

  it('checkStateValues takes a variance of 0, and negative values in any other tensor', () => {
    for (const [name, value] of [['1.running_var', 0], ['1.running_mean', -3], ['1.weight', -1], ['0.bias', -2]] as const) {
      expect(() => checkStateValues(withValue(name, 0, value), 'w.safetensors')).not.toThrow();
    }
  });

  it('negativeRunningVariance names the first negative one of a model\'s buffers, nested ones too, or gives null', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 3 }), new Sequential(new BatchNorm1d({ numFeatures: 3 }), new ReLU())), [2]);
    expect(negativeRunningVariance(model, model.buffers)).toBeNull();
    const buffers = Float32Array.of(-1, -1, -1, 1, -0, -2);
    expect(negativeRunningVariance(model, buffers)).toBe('tensor "1.0.running_var" holds -2 at index 2, a negative running variance, which makes eval-mode outputs NaN');
  });
});
