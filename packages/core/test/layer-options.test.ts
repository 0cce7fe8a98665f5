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
  Model,
  Module,
  Sequential,
} from '@lockstep/core';
import { failure } from './helpers/failure.js';

// A layer built in code without its options, or with a value of the wrong type, is one LockstepError
// naming the class and what it needs, not a TypeError from reading a field of undefined.

type Build = (options?: unknown) => unknown;
const withoutOptions: Array<[string, Build, string]> = [
  ['Linear', (o) => new Linear(o as never), 'Linear options must be an object with at least inFeatures and outFeatures'],
  ['DropConnectLinear', (o) => new DropConnectLinear(o as never), 'DropConnectLinear options must be an object with at least inFeatures, outFeatures and p'],
  ['Conv2d', (o) => new Conv2d(o as never), 'Conv2d options must be an object with at least inChannels, outChannels and kernelSize'],
  ['BatchNorm1d', (o) => new BatchNorm1d(o as never), 'BatchNorm1d options must be an object with at least numFeatures'],
  ['BatchNorm2d', (o) => new BatchNorm2d(o as never), 'BatchNorm2d options must be an object with at least numFeatures'],
  ['LayerNorm', (o) => new LayerNorm(o as never), 'LayerNorm options must be an object with at least normalizedShape'],
  ['MaxPool2d', (o) => new MaxPool2d(o as never), 'MaxPool2d options must be an object with at least kernelSize'],
  ['AvgPool2d', (o) => new AvgPool2d(o as never), 'AvgPool2d options must be an object with at least kernelSize'],
];

describe('layer constructors', () => {
  it.each(withoutOptions)('new %s without its options: one E_OPTION line naming what it needs', (_name, build, message) => {
    expect(failure(() => build())).toEqual({ code: 'E_OPTION', message: `${message}, got undefined` });
    expect(failure(() => build(5))).toEqual({ code: 'E_OPTION', message: `${message}, got 5` });
  });

  it('Dropout and Dropout2d refuse options that are not an object', () => {
    expect(failure(() => new Dropout(0.5, null as never))).toEqual({ code: 'E_OPTION', message: 'Dropout options must be an object (scaling, noiseShape), got null' });
    expect(failure(() => new Dropout2d(0.5, 5 as never))).toEqual({ code: 'E_OPTION', message: 'Dropout2d options must be an object (scaling), got 5' });
  });

  it('a kernelSize left out or not a number or pair is named', () => {
    expect(failure(() => new Conv2d({ inChannels: 1, outChannels: 2 } as never))).toEqual({ code: 'E_OPTION', message: 'Conv2d kernelSize must be an integer >= 1 or a pair of them, got undefined' });
    expect(failure(() => new MaxPool2d({ kernelSize: '2' } as never))).toEqual({ code: 'E_OPTION', message: 'MaxPool2d kernelSize must be an integer >= 1 or a pair of them, got "2"' });
    expect(failure(() => new AvgPool2d({ kernelSize: 2, padding: {} } as never))).toEqual({ code: 'E_OPTION', message: 'AvgPool2d padding must be an integer >= 0 or a pair of them, got an object' });
  });

  it.each([
    ['Dropout', (p: unknown) => new Dropout(p as number)],
    ['Dropout2d', (p: unknown) => new Dropout2d(p as number)],
    ['GaussianDropout', (p: unknown) => new GaussianDropout(p as number)],
    ['AlphaDropout', (p: unknown) => new AlphaDropout(p as number)],
  ])('new %s("0.5"): p must be a number, not the string', (name, build) => {
    expect(failure(() => build('0.5'))).toEqual({ code: 'E_OPTION', message: `${name}: p must be a number in [0, 1], got "0.5"` });
    expect(failure(() => build(null))).toEqual({ code: 'E_OPTION', message: `${name}: p must be a number in [0, 1], got null` });
  });

  it('GELU names a bad approximate as it was given', () => {
    expect(failure(() => new GELU(null as never))).toEqual({ code: 'E_OPTION', message: 'GELU approximate must be "none" or "tanh", got null' });
  });

  it('Sequential refuses a layer that is not a Module, naming its place', () => {
    const message = (i: number, got: string): string => `Sequential: layer ${i} must be a Module (a layer such as new Linear({ inFeatures, outFeatures }), or a Sequential of them), got ${got}`;
    expect(failure(() => new Sequential(5 as never))).toEqual({ code: 'E_SPEC', message: message(0, '5') });
    expect(failure(() => new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 }), null as never))).toEqual({ code: 'E_SPEC', message: message(1, 'null') });
  });

  it('Model refuses a module that is not one, and an input shape that is not a list of positive integers', () => {
    const module = new Sequential(new Linear({ inFeatures: 4, outFeatures: 2 }));
    expect(failure(() => new Model({} as never, [4]))).toEqual({
      code: 'E_SPEC',
      message: 'Model: module must be a Module (a layer such as new Linear({ inFeatures, outFeatures }), or a Sequential of them), got an object',
    });
    const shape = (got: string): { code: string; message: string } => ({ code: 'E_SHAPE', message: `Model: inputShape must be a non-empty list of positive integers (one sample's shape, such as [784]), got ${got}` });
    expect(failure(() => new Model(module, 4 as never))).toEqual(shape('4'));
    expect(failure(() => new Model(module, undefined as never))).toEqual(shape('undefined'));
    expect(failure(() => new Model(module, [0]))).toEqual(shape('[0]'));
    expect(failure(() => new Model(module, []))).toEqual(shape('[]'));
  });
});

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
