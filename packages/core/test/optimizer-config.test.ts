import { describe, expect, it } from 'vitest';
import { adam, adamw, checkOptimizer, evaluate, fit, LeakyReLU, modelFromSpec, Optimizer, sgd, syntheticClassification, type OptimizerConfig } from '@lockstep/core';
import { failure } from './helpers/failure.js';

// An optimizer config is checked where it is received, not only where sgd() or adam() builds it:
// one E_OPTION line naming `optimizer`, before anything trains.
const data = syntheticClassification({ seed: 4, samples: 24, features: 6, classes: 3 });
const spec = { input: [6], layers: [{ type: 'linear', out: 3 }] };
const sgdConfig = { kind: 'sgd', lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, schedule: { kind: 'constant' } };
const BUILD_ONE = 'build one with sgd({ lr }), adam() or adamw()';

const cases: Array<[string, unknown, string]> = [
  ['none', undefined, `optimizer must be an optimizer config, got undefined; ${BUILD_ONE}`],
  ['an unknown kind', { kind: 'rmsprop', lr: 0.01, schedule: { kind: 'constant' } }, `optimizer.kind must be one of 'sgd', 'adam', 'adamw', got "rmsprop"; ${BUILD_ONE}`],
  ['sgd with lr only', { kind: 'sgd', lr: 0.1 }, 'optimizer has no momentum; build it with sgd()'],
  ['no schedule', { ...sgdConfig, schedule: undefined }, 'optimizer has no schedule; build it with sgd()'],
  ['lr -1', { ...sgdConfig, lr: -1 }, 'optimizer lr must be a finite number >= 0, got -1'],
  ['lr NaN', { ...sgdConfig, lr: NaN }, 'optimizer lr must be a finite number >= 0, got NaN'],
];


describe('optimizer configs', () => {
  it.each(cases)('%s: fit and new Optimizer refuse it in one line, before anything changes', (_name, optimizer, message) => {
    const model = modelFromSpec(spec, 0);
    const before = model.params.slice();
    expect(failure(() => fit(model, data, { epochs: 1, batchSize: 8, seed: 0, optimizer: optimizer as OptimizerConfig }))).toEqual({ code: 'E_OPTION', message });
    expect(model.params).toEqual(before);
    expect(failure(() => new Optimizer(model, optimizer as OptimizerConfig))).toEqual({ code: 'E_OPTION', message });
  });

  it.each([
    ['a lower bound only', () => sgd({ lr: 0.1, schedule: { kind: 'one-cycle', maxLr: -1, totalSteps: 10 } }), 'schedule maxLr must be a finite number >= 0, got -1'],
    ['both bounds', () => sgd({ lr: 0.1, momentum: 2 }), 'sgd momentum must be a finite number in [0, 1], got 2'],
    ['no bound', () => new LeakyReLU(NaN), 'LeakyReLU negativeSlope must be a finite number, got NaN'],
  ])('a number out of range, %s: the message names only the bounds there are', (_name, make, message) => {
    expect(failure(make)).toEqual({ code: 'E_OPTION', message });
  });

  it.each([
    [{ kind: 'step' }, "schedule stepSize is required for a step schedule, as PyTorch's step_size is; give the steps between decays, or epochs with interval: 'epoch'"],
    [{ kind: 'cosine' }, "schedule totalSteps is required for a cosine schedule, as PyTorch's T_max is; give the steps it spans, such as epochs x ceil(samples / batchSize), or epochs with interval: 'epoch'"],
    [
      { kind: 'warmup-cosine', warmup: 2 },
      "schedule totalSteps is required for a warmup-cosine schedule, as PyTorch's T_max is; give the steps of the cosine after the warm-up, such as epochs x ceil(samples / batchSize) - warmup, or epochs with interval: 'epoch'",
    ],
    [{ kind: 'one-cycle', totalSteps: 100 }, "schedule maxLr is required for a one-cycle schedule, as PyTorch's max_lr is; give the peak learning rate, such as the optimizer's lr"],
    [{ kind: 'one-cycle', maxLr: 0.1 }, "schedule totalSteps is required for a one-cycle schedule, as PyTorch's total_steps is; give the run's steps, epochs x ceil(samples / batchSize)"],
  ])('a schedule %j without a field PyTorch requires too: one line saying what to give', (schedule, message) => {
    expect(failure(() => sgd({ lr: 0.1, schedule: schedule as never }))).toEqual({ code: 'E_OPTION', message });
  });

  it('sgd() without its options: one line saying what to pass', () => {
    expect(failure(() => (sgd as () => unknown)())).toEqual({ code: 'E_OPTION', message: 'sgd needs its options, at least lr: sgd({ lr: 0.1 }), got undefined' });
  });

  it("a config from sgd() trains as it did: the checked config equals the builder's", () => {
    const config = sgd({ lr: 0.1, momentum: 0.9, schedule: { kind: 'step', stepSize: 2 } });
    expect(checkOptimizer(config)).toEqual(config);
  });

  it("Optimizer's lr setter refuses a negative or NaN rate and keeps the one it had", () => {
    const optimizer = new Optimizer(modelFromSpec(spec, 0), sgd({ lr: 0.1 }));
    for (const lr of [-1, NaN]) {
      expect(failure(() => (optimizer.lr = lr))).toEqual({ code: 'E_OPTION', message: `Optimizer lr must be a finite number >= 0, got ${lr}` });
    }
    expect(optimizer.lr).toBe(0.1);
    optimizer.lr = 0.05;
    expect(optimizer.lr).toBe(0.05);
  });
});

describe('unknown fields', () => {
  const model = () => modelFromSpec(spec, 0);
  const options = { epochs: 1, batchSize: 8, seed: 0, optimizer: sgd({ lr: 0.1 }) };
  it.each([
    ['sgd', () => sgd({ lr: 0.1, momentm: 0.9 } as never), 'sgd: unknown field "momentm"; known fields: lr, momentum, dampening, nesterov, weightDecay, schedule, clipNorm'],
    ['adam', () => adam({ betas: [0.5, 0.9] } as never), 'adam: unknown field "betas"; known fields: lr, beta1, beta2, eps, weightDecay, schedule, clipNorm'],
    ['adamw', () => adamw({ lr: 0.01, decay: 0.1 } as never), 'adamw: unknown field "decay"; known fields: lr, beta1, beta2, eps, weightDecay, schedule, clipNorm'],
    ['a schedule', () => sgd({ lr: 0.1, schedule: { kind: 'step', stepSize: 2, gama: 0.5 } as never }), 'schedule (step): unknown field "gama"; known fields: kind, stepSize, gamma, interval'],
    ['earlyStopping', () => fit(model(), data, { ...options, validation: data, earlyStopping: { monitor: 'val_loss', patiance: 0 } as never }), 'earlyStopping: unknown field "patiance"; known fields: monitor, mode, patience, minDelta, restoreBestWeights'],
    ['fit options', () => fit(model(), data, { ...options, epoch: 3 } as never), 'fit options: unknown field "epoch"; known fields: epochs, batchSize, loss, shuffle, augment, validation, onEpoch, onStep, signal, callbacks, earlyStopping, chunkSize, seed, optimizer, state, kernel'],
    ['evaluate options', () => evaluate(model(), data, { batch: 8 } as never), 'evaluate options: unknown field "batch"; known fields: batchSize, loss'],
  ])('%s: one E_OPTION line listing the known fields', (_name, run, message) => {
    expect(failure(run)).toEqual({ code: 'E_OPTION', message });
  });

  it('fit without options: one line saying what to pass', () => {
    expect(failure(() => (fit as (m: unknown, d: unknown) => unknown)(model(), data))).toEqual({ code: 'E_OPTION', message: 'fit: options must be an object with at least epochs and batchSize, got undefined' });
  });
});
