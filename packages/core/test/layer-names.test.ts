import { describe, expect, it } from 'vitest';
import * as core from '@lockstep/core';
import {
  AlphaDropout,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  DropConnectLinear,
  Dropout,
  Dropout2d,
  GaussianDropout,
  GELU,
  LayerNorm,
  LeakyReLU,
  Linear,
  MaxPool2d,
  Module,
  Sequential,
} from '@lockstep/core';
import { failure } from './helpers/failure.js';

// A class that reuses its base class's option checks must still be the class those checks name: a
// DropConnectLinear with a bad inFeatures is not a Linear's mistake.

const linear = { inFeatures: 2, outFeatures: 3 };
const conv = { inChannels: 2, outChannels: 4, kernelSize: 3 };

/** Constructions with one bad option each, per layer class; a class with no options has none. */
const badConstructions: Record<string, Array<() => unknown>> = {
  Linear: [() => new Linear({ ...linear, inFeatures: 'x' } as never), () => new Linear({ ...linear, outFeatures: 0 }), () => new Linear({ ...linear, maxNorm: -1 })],
  DropConnectLinear: [
    () => new DropConnectLinear({ ...linear, inFeatures: 'x', p: 0.5 } as never),
    () => new DropConnectLinear({ ...linear, outFeatures: 0, p: 0.5 }),
    () => new DropConnectLinear({ ...linear, maxNorm: -1, p: 0.5 }),
    () => new DropConnectLinear({ ...linear, p: 2 }),
  ],
  Conv2d: [
    () => new Conv2d({ ...conv, inChannels: 'x' } as never),
    () => new Conv2d({ ...conv, stride: 0 }),
    () => new Conv2d({ ...conv, groups: 3 }),
    () => new Conv2d({ ...conv, maxNorm: -1 }),
  ],
  BatchNorm1d: [() => new BatchNorm1d({ numFeatures: 'x' } as never), () => new BatchNorm1d({ numFeatures: 2, momentum: 2 })],
  BatchNorm2d: [() => new BatchNorm2d({ numFeatures: 'x' } as never), () => new BatchNorm2d({ numFeatures: 2, eps: -1 })],
  LayerNorm: [() => new LayerNorm({ normalizedShape: 'x' } as never), () => new LayerNorm({ normalizedShape: [2], eps: -1 })],
  MaxPool2d: [() => new MaxPool2d({ kernelSize: 'x' } as never), () => new MaxPool2d({ kernelSize: 2, padding: 2 })],
  AvgPool2d: [() => new AvgPool2d({ kernelSize: 'x' } as never), () => new AvgPool2d({ kernelSize: 2, stride: 0 })],
  GlobalAvgPool2d: [],
  Dropout: [() => new Dropout(2), () => new Dropout(0.5, { scaling: 'x' } as never), () => new Dropout(0.5, { noiseShape: 'x' } as never)],
  Dropout2d: [() => new Dropout2d(2), () => new Dropout2d(0.5, { scaling: 'x' } as never)],
  GaussianDropout: [() => new GaussianDropout(1), () => new GaussianDropout('x' as never)],
  AlphaDropout: [() => new AlphaDropout(1), () => new AlphaDropout('x' as never)],
  LeakyReLU: [() => new LeakyReLU('x' as never)],
  GELU: [() => new GELU('x' as never)],
  ReLU: [],
  Tanh: [],
  Sigmoid: [],
  SELU: [],
  Flatten: [],
  Sequential: [() => new Sequential(5 as never)],
};

/** Exported bases that are no layer of their own: their subclasses above are. */
const bases = ['BatchNorm', 'KeyedDropout', 'MaskDropout'];

describe('layer classes name themselves in their option errors', () => {
  it('every exported layer class is listed here', () => {
    const layerClasses = Object.entries(core)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Module)
      .map(([name]) => name);
    expect(layerClasses.sort()).toEqual([...Object.keys(badConstructions), ...bases].sort());
  });

  it.each(Object.entries(badConstructions).filter(([, builds]) => builds.length > 0))('%s', (name, builds) => {
    for (const build of builds) expect(failure(build).message).toMatch(new RegExp(`^${name}[ :]`));
  });

  it('a DropConnectLinear with a bad inFeatures, outFeatures or maxNorm is named as DropConnectLinear', () => {
    expect(failure(() => new DropConnectLinear({ inFeatures: 'x', outFeatures: 3, p: 0.5 } as never))).toEqual({
      code: 'E_OPTION',
      message: 'DropConnectLinear inFeatures must be an integer >= 1, got "x"',
    });
    expect(failure(() => new DropConnectLinear({ inFeatures: 2, outFeatures: 1.5, p: 0.5 }))).toEqual({
      code: 'E_OPTION',
      message: 'DropConnectLinear outFeatures must be an integer >= 1, got 1.5',
    });
    expect(failure(() => new DropConnectLinear({ ...linear, maxNorm: 0, p: 0.5 }))).toEqual({
      code: 'E_OPTION',
      message: 'DropConnectLinear maxNorm must be a finite number > 0, got 0',
    });
  });
});
