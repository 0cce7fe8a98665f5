import { describe, expect, it } from 'vitest';
import {
  adam,
  applyMaxNorm,
  Conv2d,
  Dataset,
  fit,
  layerSpecOf,
  Linear,
  MAX_NORM_EPSILON,
  maxNormPlan,
  maxNormRanges,
  Model,
  modelFromSpec,
  Sequential,
  sequentialFromSpec,
  syntheticClassification,
  type ModelSpec,
} from '@lockstep/core';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function rowNorms(params: Float32Array, offset: number, rows: number, rowLength: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let sum = 0;
    for (let i = 0; i < rowLength; i++) sum += params[offset + r * rowLength + i] ** 2;
    return Math.sqrt(sum);
  });
}

describe('applyMaxNorm (Keras MaxNorm: w * min(norm, c) / (1e-7 + norm))', () => {
  const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 3, maxNorm: 2 }), new Linear({ inFeatures: 3, outFeatures: 1 })), [2]);
  const plan = maxNormPlan(model.entries);

  it('plans the rows of constrained weights only', () => {
    expect(plan).toEqual({ blocks: [{ offset: 0, rows: 3, rowLength: 2, maxNorm: 2, firstRow: 0 }], rows: 3 });
  });

  it('scales a row above the bound to c, shrinks one inside by norm/(norm+eps), leaves a zero row at zero', () => {
    const params = Float32Array.from([3, 4, 0.3, 0.4, 0, 0, 9, 9, 9, 9]);
    applyMaxNorm(params, plan);
    const above = 2 / (5 + MAX_NORM_EPSILON);
    const inside = Math.fround(0.5) / (Math.fround(0.5) + MAX_NORM_EPSILON);
    expect([...params.subarray(0, 6)]).toEqual([3 * above, 4 * above, Math.fround(0.3) * inside, Math.fround(0.4) * inside, 0, 0].map(Math.fround));
    expect(params[0]).toBe(Math.fround(1.1999999760000005));
    expect([...params.subarray(6)]).toEqual([9, 9, 9, 9]);
    expect(Math.abs(rowNorms(params, 0, 1, 2)[0] - 2)).toBeLessThan(1e-6);
  });

  it('constrains a Conv2d output channel\'s [in/groups, kh, kw] block', () => {
    const conv = new Model(new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [2, 3], groups: 2, maxNorm: 0.5 }), [4, 5, 5]).initialize(3);
    const convPlan = maxNormPlan(conv.entries);
    expect(convPlan.blocks).toEqual([{ offset: 0, rows: 6, rowLength: 12, maxNorm: 0.5, firstRow: 0 }]);
    conv.params.fill(1);
    applyMaxNorm(conv.params, convPlan);
    for (const norm of rowNorms(conv.params, 0, 6, 12)) expect(Math.abs(norm - 0.5)).toBeLessThan(1e-7);
    expect([...conv.params.subarray(72)]).toEqual(new Array(6).fill(1));
  });

  it('gives the same bits split into whole-row ranges, in any order, for 1 to 5 parts', () => {
    const big = new Model(
      new Sequential(new Linear({ inFeatures: 30, outFeatures: 17, maxNorm: 0.3 }), new Linear({ inFeatures: 17, outFeatures: 40, maxNorm: 0.2 }), new Linear({ inFeatures: 40, outFeatures: 5 })),
      [30],
    ).initialize(8);
    const bigPlan = maxNormPlan(big.entries);
    expect(bigPlan.rows).toBe(57);
    const whole = big.params.slice();
    applyMaxNorm(whole, bigPlan);
    for (let parts = 1; parts <= 5; parts++) {
      const ranges = maxNormRanges(bigPlan, parts);
      expect(ranges.length).toBe(parts);
      expect(ranges.flat()).toEqual([0, ...ranges.slice(1).flatMap(([from]) => [from, from]), 57]);
      const split = big.params.slice();
      for (const [from, to] of ranges.reverse()) applyMaxNorm(split, bigPlan, from, to);
      expect(bytes(split).equals(bytes(whole)), `${parts} parts`).toBe(true);
    }
    // 17 rows of 30 values, then 40 of 17: the first 22 rows hold 595 of the 1190 values.
    expect(maxNormRanges(bigPlan, 2)).toEqual([[0, 22], [22, 57]]);
    expect(maxNormRanges(maxNormPlan([]), 3)).toEqual([]);
  });
});

describe('maxNorm in the reference trainer', () => {
  // One batch per epoch, so onEpoch sees the parameters after every optimizer step.
  const images = syntheticClassification({ seed: 4, samples: 32, features: 36, classes: 3 });
  const data = new Dataset(images.inputs, [1, 6, 6], images.targets);
  const spec = (maxNorm: boolean): ModelSpec => ({
    input: [1, 6, 6],
    layers: [
      { type: 'conv2d', out: 4, kernelSize: 3, ...(maxNorm ? { maxNorm: 0.6 } : {}) },
      { type: 'relu' },
      { type: 'flatten' },
      { type: 'linear', out: 12, dropConnect: 0.3, ...(maxNorm ? { maxNorm: 0.5 } : {}) },
      { type: 'relu' },
      { type: 'linear', out: 3 },
    ],
  });
  const largestRatio = (model: Model): number => {
    const [conv, , linear] = model.entries;
    return Math.max(...rowNorms(model.params, conv.offset, 4, 9).map((n) => n / 0.6), ...rowNorms(model.params, linear.offset, 12, 64).map((n) => n / 0.5));
  };

  it.each([true, false])('maxNorm=%s: every row norm <= c (1 + 1e-6) after each of 50 Adam steps, and the bound is reached', (constrained) => {
    const model = modelFromSpec(spec(constrained), 2);
    const ratios: number[] = [];
    fit(model, data, { epochs: 50, batchSize: 32, chunkSize: 8, seed: 2, optimizer: adam({ lr: 0.05 }), onEpoch: () => ratios.push(largestRatio(model)) });
    expect(ratios.length).toBe(50);
    if (constrained) {
      expect(Math.max(...ratios)).toBeLessThanOrEqual(1 + 1e-6);
      expect(Math.max(...ratios)).toBeGreaterThan(1 - 1e-6);
    } else {
      expect(Math.max(...ratios)).toBeGreaterThan(1.5);
    }
  });
});

describe('maxNorm options and spec', () => {
  it('round-trips through layerSpecOf and is left out when unset', () => {
    const built = sequentialFromSpec({
      input: [1, 4, 4],
      layers: [{ type: 'conv2d', out: 2, kernelSize: 3, maxNorm: 1.5 }, { type: 'flatten' }, { type: 'linear', out: 3, maxNorm: 2 }, { type: 'linear', out: 2 }],
    });
    const [conv, , linear, plain] = built.layers;
    expect(layerSpecOf(conv)).toMatchObject({ type: 'conv2d', maxNorm: 1.5 });
    expect(layerSpecOf(linear)).toEqual({ type: 'linear', in: 8, out: 3, bias: true, init: 'torch-default', maxNorm: 2 });
    expect(Object.keys(layerSpecOf(plain))).not.toContain('maxNorm');
    expect((sequentialFromSpec({ input: [1, 4, 4], layers: [layerSpecOf(conv)] }).layers[0] as Conv2d).maxNorm).toBe(1.5);
  });

  it.each([
    [{ type: 'linear', out: 3, maxNorm: 0 }, 'model spec layers[0] (linear): "maxNorm" must be a finite number > 0, got 0'],
    [{ type: 'linear', out: 3, maxNorm: '2' }, 'model spec layers[0] (linear): "maxNorm" must be a finite number > 0, got "2"'],
    [{ type: 'conv2d', out: 3, kernelSize: 3, maxNorm: -1 }, 'model spec layers[0] (conv2d): "maxNorm" must be a finite number > 0, got -1'],
  ])('rejects %j with one line', (entry, message) => {
    expect(() => sequentialFromSpec({ input: entry.type === 'linear' ? [4] : [1, 4, 4], layers: [entry] })).toThrow(message);
  });

  it('layer constructors name the option', () => {
    expect(() => new Linear({ inFeatures: 2, outFeatures: 2, maxNorm: Number.POSITIVE_INFINITY })).toThrow('Linear maxNorm must be a finite number > 0, got Infinity');
    expect(() => new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1, maxNorm: 0 })).toThrow('Conv2d maxNorm must be a finite number > 0, got 0');
  });
});
