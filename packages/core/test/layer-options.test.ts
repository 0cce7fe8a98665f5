import { describe, expect, it } from 'vitest';
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
  Linear,
  MaxPool2d,
  Model,
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
