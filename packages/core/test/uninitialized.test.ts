import { describe, expect, it } from 'vitest';
import { encodeSafetensors, fit, Linear, loadSafetensors, loadStateDictInto, Model, ReLU, Sequential, sgd, syntheticClassification } from '@lockstep/core';
import { failure } from './helpers/failure.js';

// new Model leaves every parameter at 0 (PyTorch's layers initialize themselves): a fit from there
// trained silently, moving little but the output biases, since every hidden unit learns alike.

const data = syntheticClassification({ seed: 0, samples: 40, features: 4, classes: 3 });
const options = { epochs: 1, batchSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };
const built = (): Model => new Model(new Sequential(new Linear({ inFeatures: 4, outFeatures: 8 }), new ReLU(), new Linear({ inFeatures: 8, outFeatures: 3 })), [4]);

describe('a model never given parameter values', () => {
  it('is refused by fit with one E_OPTION line, before any step', () => {
    const model = built();
    expect(model.initialized).toBe(false);
    expect(failure(() => fit(model, data, options))).toEqual({
      code: 'E_OPTION',
      message: "fit: the model's parameters are all 0, as new Model leaves them; call model.initialize(seed) first (modelFromSpec does), or load weights with model.loadStateDict",
    });
    expect(model.params.every((value) => value === 0)).toBe(true);
  });

  it('trains once initialized, given values by hand, or loaded, even with every value 0', () => {
    const initialized = built().initialize(1);
    expect(fit(initialized, data, options).state.step).toBe(4);
    const byHand = built();
    byHand.params.fill(0.01);
    expect(fit(byHand, data, options).state.step).toBe(4);
    const loaded = built();
    loaded.loadStateDict(built().stateDict());
    expect(loaded.initialized).toBe(true);
    expect(fit(loaded, data, options).state.step).toBe(4);
  });

  it('counts as loaded through every loader, not only model.loadStateDict', () => {
    const zeros = built().stateDict();
    const loaders: Array<[string, (model: Model) => void]> = [
      ['loadSafetensors', (model) => loadSafetensors(model, encodeSafetensors(built()))],
      ['loadStateDictInto', (model) => loadStateDictInto(model, zeros)],
      ['markInitialized', (model) => model.markInitialized()],
    ];
    for (const [name, load] of loaders) {
      const model = built();
      load(model);
      expect(model.initialized, name).toBe(true);
      expect(fit(model, data, options).state.step, name).toBe(4);
    }
  });
});
