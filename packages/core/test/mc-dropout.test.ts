import { describe, expect, it } from 'vitest';
import {
  Dropout,
  foldInString,
  GaussianDropout,
  Linear,
  Model,
  modelFromSpec,
  predict,
  predictWithUncertainty,
  ReLU,
  rootKey,
  rowEntropies,
  sampledDropoutLayers,
  Sequential,
  softmaxRows,
  syntheticClassification,
  Tanh,
} from '@lockstep/core';

function bytes(array: Float64Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

const entropy = (probabilities: number[]): number => -probabilities.reduce((sum, p) => sum + (p > 0 ? p * Math.log(p) : 0), 0);

const data = syntheticClassification({ seed: 4, samples: 300, features: 12, classes: 5 });
const spec = {
  input: [12],
  layers: [
    { type: 'linear', out: 24 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 24 },
    { type: 'tanh' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 5 },
  ],
};

describe('predictWithUncertainty (reference trainer)', () => {
  it('input 1 -> Dropout(0.5) -> logits [2w, 0] with 2w = ln 3: each pass gives (3/4, 1/4) or (1/2, 1/2); mean, std, entropy and MI by hand', () => {
    const rows = 8;
    const passes = 4;
    const dropout = new Dropout(0.5);
    const model = new Model(new Sequential(dropout, new Linear({ inFeatures: 1, outFeatures: 2, bias: false })), [1]);
    model.params.set([Math.log(3) / 2, 0]);
    const result = predictWithUncertainty(model, new Float32Array(rows).fill(1), { samples: passes, seed: 9 });

    const key = foldInString(rootKey(9), 'mc-dropout');
    dropout.train();
    const keptPasses = Array.from({ length: rows }, (_, row) => {
      let kept = 0;
      for (let pass = 0; pass < passes; pass++) kept += dropout.forward({ data: Float32Array.of(1), shape: [1, 1] }, { key, step: pass, samples: [row] }).data[0] / 2;
      return kept;
    });
    keptPasses.forEach((n, row) => {
      const p0 = (0.75 * n + 0.5 * (passes - n)) / passes;
      const std = Math.sqrt((n * (0.75 - p0) ** 2 + (passes - n) * (0.5 - p0) ** 2) / passes);
      const h = entropy([p0, 1 - p0]);
      const meanPassEntropy = (n * entropy([0.75, 0.25]) + (passes - n) * Math.log(2)) / passes;
      expect(result.mean[2 * row]).toBeCloseTo(p0, 7);
      expect(result.mean[2 * row + 1]).toBeCloseTo(1 - p0, 7);
      expect(result.std[2 * row]).toBeCloseTo(std, 7);
      expect(result.std[2 * row + 1]).toBeCloseTo(std, 7);
      expect(result.entropy[row]).toBeCloseTo(h, 7);
      expect(result.mutualInformation[row]).toBeCloseTo(h - meanPassEntropy, 7);
    });
    // Pins the Monte Carlo masks of seed 9: a change to their keys shows up here.
    expect(keptPasses).toEqual([2, 1, 2, 0, 2, 2, 2, 2]);
    // Row 0 keeps two passes of four: mean (5/8, 3/8), std 1/8, H = 0.661563, MI = H - (H(3/4, 1/4) + ln 2) / 2 = 0.033822.
    expect([result.mean[0], result.std[0]]).toEqual([expect.closeTo(0.625, 7), expect.closeTo(0.125, 7)]);
    expect(result.entropy[0]).toBeCloseTo(0.661563, 6);
    expect(result.mutualInformation[0]).toBeCloseTo(0.033822, 6);
    // Row 3 keeps none: every pass is (1/2, 1/2), so nothing disagrees.
    expect([result.std[6], result.entropy[3], result.mutualInformation[3]]).toEqual([0, Math.log(2), 0]);
  });

  it('the same seed repeats bit for bit, a different seed differs, and the block size changes nothing', () => {
    const model = modelFromSpec(spec, 3);
    const a = predictWithUncertainty(model, data.inputs, { samples: 10, seed: 1 });
    const b = predictWithUncertainty(model, data.inputs, { samples: 10, seed: 1, batchSize: 7 });
    const c = predictWithUncertainty(model, data.inputs, { samples: 10, seed: 2 });
    for (const field of ['mean', 'std', 'entropy', 'mutualInformation'] as const) {
      expect(bytes(b[field]).equals(bytes(a[field])), field).toBe(true);
      expect(bytes(c[field]).equals(bytes(a[field])), field).toBe(false);
    }
  });

  it('0 <= MI <= predictive entropy <= ln(classes), means sum to 1, and the spread is not zero', () => {
    const model = modelFromSpec(spec, 3);
    const { mean, std, entropy: h, mutualInformation: mi } = predictWithUncertainty(model, data.inputs, { samples: 20, seed: 0 });
    for (let r = 0; r < data.size; r++) {
      expect(mi[r]).toBeGreaterThanOrEqual(0);
      expect(mi[r]).toBeLessThanOrEqual(h[r]);
      expect(h[r]).toBeLessThanOrEqual(Math.log(5) + 1e-12);
      expect(Math.abs(mean.subarray(5 * r, 5 * r + 5).reduce((s, p) => s + p, 0) - 1)).toBeLessThan(1e-12);
    }
    expect(Math.min(...mi)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...mi)).toBeGreaterThan(0.01);
    expect(Math.max(...std)).toBeGreaterThan(0.01);
  });

  it('a model without dropout: MI and std exactly 0, means exactly the softmax of predict', () => {
    const plain = modelFromSpec({ input: [12], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 5 }] }, 3);
    expect(sampledDropoutLayers(plain.module)).toEqual([]);
    const result = predictWithUncertainty(plain, data.inputs, { samples: 7, seed: 0 });
    expect(result.mutualInformation.every((v) => v === 0)).toBe(true);
    expect(result.std.every((v) => v === 0)).toBe(true);
    const softmax = softmaxRows(predict(plain, data.inputs), data.size, 5, new Float64Array(data.size * 5));
    expect(bytes(result.mean).equals(bytes(softmax))).toBe(true);
    expect(bytes(result.entropy).equals(bytes(rowEntropies(softmax, 5)))).toBe(true);
    expect(result.entropy[0]).toBeCloseTo(entropy([...softmax.subarray(0, 5)]), 14);
  });

  it('samples a DropConnect layer too: it counts as a dropout layer and the passes disagree', () => {
    const model = modelFromSpec({ input: [12], layers: [{ type: 'linear', out: 16, dropConnect: 0.3 }, { type: 'relu' }, { type: 'linear', out: 5 }] }, 3);
    expect(sampledDropoutLayers(model.module)).toHaveLength(1);
    const result = predictWithUncertainty(model, data.inputs, { samples: 8, seed: 0 });
    expect(Math.min(...result.mutualInformation)).toBeGreaterThan(0);
  });

  it('switches only dropout layers on and restores every layer\'s mode afterwards', () => {
    const layers = [new Linear({ inFeatures: 12, outFeatures: 8 }), new ReLU(), new Dropout(0.5), new Tanh(), new GaussianDropout(0.2), new Linear({ inFeatures: 8, outFeatures: 5 })];
    const model = new Model(new Sequential(...layers), [12]).initialize(0);
    expect(sampledDropoutLayers(model.module)).toEqual([layers[2], layers[4]]);
    const modes = [true, false, false, true, true, false];
    layers.forEach((layer, i) => (layer.training = modes[i]));
    const mixed = predictWithUncertainty(model, data.inputs, { samples: 5, seed: 0 });
    expect(layers.map((l) => l.training)).toEqual(modes);
    expect(model.module.training).toBe(false);
    model.eval();
    const fromEval = predictWithUncertainty(model, data.inputs, { samples: 5, seed: 0 });
    expect(layers.every((l) => !l.training)).toBe(true);
    expect(bytes(fromEval.mean).equals(bytes(mixed.mean))).toBe(true);
  });

  it("outputs: 'raw', input 1 -> Dropout(0.5) -> outputs [0.75 x, -0.5 x]: each pass gives (1.5, -1) or (0, 0); mean and std of those, no entropy", () => {
    const rows = 8;
    const passes = 4;
    const dropout = new Dropout(0.5);
    const model = new Model(new Sequential(dropout, new Linear({ inFeatures: 1, outFeatures: 2, bias: false })), [1]);
    model.params.set([0.75, -0.5]);
    const result = predictWithUncertainty(model, new Float32Array(rows).fill(1), { samples: passes, seed: 9, outputs: 'raw' });

    const key = foldInString(rootKey(9), 'mc-dropout');
    dropout.train();
    const perPass = Array.from({ length: rows }, (_, row) =>
      Array.from({ length: passes }, (_, pass) => dropout.forward({ data: Float32Array.of(1), shape: [1, 1] }, { key, step: pass, samples: [row] }).data[0]).map((x) => [0.75 * x, -0.5 * x]),
    );
    const expected = { mean: [] as number[], std: [] as number[] };
    for (const outputs of perPass) {
      for (const column of [0, 1]) {
        const values = outputs.map((output) => output[column]);
        const mean = values.reduce((sum, v) => sum + v, 0) / passes;
        expected.mean.push(mean);
        expected.std.push(Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / passes));
      }
    }
    expect([...result.mean]).toEqual(expected.mean);
    // Welford's running sums and the two-pass sums here may round the last bit apart.
    expect([...result.std]).toEqual(expected.std.map((std) => expect.closeTo(std, 14)));
    // Seed 9 keeps rows 0 and 1 in 2 and 1 passes of 4 (the masks pinned above).
    expect([...result.mean.subarray(0, 4)]).toEqual([0.75, -0.5, 0.375, -0.25]);
    expect([...result.std.subarray(0, 2)]).toEqual([0.75, 0.5]);
    expect([result.outputs, result.classes, result.entropy, result.mutualInformation]).toEqual(['raw', 2, null, null]);
  });

  it("outputs: 'raw' of a regression model without dropout: the mean is predict's outputs exactly, the std 0", () => {
    const regression = modelFromSpec({ input: [12], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 1 }] }, 3);
    const result = predictWithUncertainty(regression, data.inputs, { samples: 3, seed: 0, outputs: 'raw' });
    expect([...result.mean]).toEqual([...predict(regression, data.inputs)]);
    expect(result.std.every((v) => v === 0)).toBe(true);
  });

  it.each([
    [{ samples: 0, seed: 0 }, 'samples must be an integer in [1, 100000], got 0'],
    [{ samples: 1.5, seed: 0 }, 'samples must be an integer in [1, 100000], got 1.5'],
    [{ samples: 3, seed: -1 }, 'seed must be an integer >= 0, got -1'],
    [{ samples: 3, seed: 0, outputs: 'logits' }, "outputs must be one of 'probabilities', 'raw', got \"logits\""],
  ])('%j is one line naming the option', (options, message) => {
    expect(() => predictWithUncertainty(modelFromSpec(spec, 3), data.inputs, options)).toThrow(message);
  });

  it('a model of 1 output asked for probabilities is one line pointing to outputs: raw', () => {
    const regression = modelFromSpec({ input: [12], layers: [{ type: 'linear', out: 8 }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 1 }] }, 3);
    expect(() => predictWithUncertainty(regression, data.inputs, { samples: 3, seed: 0 })).toThrow(
      "predictWithUncertainty: the model gives 1 output per row, whose softmax is always 1; pass outputs: 'raw' for the mean and std of a regression model's outputs",
    );
  });
});
