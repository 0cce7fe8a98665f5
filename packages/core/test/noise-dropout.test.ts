import { describe, expect, it } from 'vitest';
import {
  AlphaDropout,
  dropoutRunKey,
  fillNormal,
  foldIn,
  GaussianDropout,
  keep,
  layerMaskKey,
  Linear,
  rootKey,
  rowIndices,
  SELU,
  Sequential,
  sequentialFromSpec,
  trainDropoutOnly,
} from '@lockstep/core';
import { checkLayer } from './helpers/gradcheck.js';

const SATURATION = -1.0507009873554805 * 1.6732632423543772;

function moments(values: Float32Array): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (const v of values) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / values.length;
  return { mean, variance: sumSq / values.length - mean * mean };
}

const rows = 1000;
const units = 1000;
const context = { key: dropoutRunKey(3), step: 4, samples: rowIndices(rows) };

describe('GaussianDropout', () => {
  it.each([0.1, 0.3, 0.5])('multiplies by noise of mean 1 and variance p/(1-p) over 10^6 units (p=%s)', (p) => {
    const out = new GaussianDropout(p).train().forward({ data: new Float32Array(rows * units).fill(1), shape: [rows, units] }, context).data;
    const { mean, variance } = moments(out);
    const expected = p / (1 - p);
    expect(Math.abs(mean - 1)).toBeLessThan(4 * Math.sqrt(expected / out.length));
    expect(Math.abs(variance / expected - 1)).toBeLessThan(0.01);
  });

  it('is the identity in eval mode and rejects p = 1', () => {
    const x = { data: Float32Array.from([1, -2, 3]), shape: [1, 3] };
    expect([...new GaussianDropout(0.4).forward(x, context).data]).toEqual([1, -2, 3]);
    expect(() => new GaussianDropout(1)).toThrow('GaussianDropout: p=1 must be below 1; the noise would be unbounded');
    expect(() => new GaussianDropout(1.5)).toThrow('GaussianDropout: p=1.5 is out of range [0, 1]');
  });

  it('gradient check against a float64 reference with the same keyed noise', () => {
    const p = 0.3;
    const width = 6;
    checkLayer(new GaussianDropout(p), [width], 3, (x) => {
      const noise = new Float64Array(width);
      const stepKey = foldIn(layerMaskKey(dropoutRunKey(1), ''), 3);
      return x.map((v, i) => {
        if (i % width === 0) fillNormal(foldIn(stepKey, 10 + Math.floor(i / width)), noise, 1, Math.sqrt(p / (1 - p)));
        return v * Math.fround(noise[i % width]);
      });
    }, { training: true });
  });
});

describe('AlphaDropout with SELU', () => {
  it.each([0.05, 0.2, 0.5])('keeps zero mean and unit variance of standard normal inputs over 10^6 units (p=%s)', (p) => {
    const input = new Float32Array(rows * units);
    fillNormal(rootKey(11), input, 0, 1);
    const out = new AlphaDropout(p).train().forward({ data: input, shape: [rows, units] }, context).data;
    const { mean, variance } = moments(out);
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(out.length));
    expect(Math.abs(variance - 1)).toBeLessThan(0.01);
  });

  it('SELU keeps a standard normal at mean 0 and variance 1 (within 0.01)', () => {
    const input = new Float32Array(rows * units);
    fillNormal(rootKey(12), input, 0, 1);
    const { mean, variance } = moments(new SELU().forward({ data: input, shape: [rows, units] }).data);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.01);
  });

  it('gradient checks: SELU, and AlphaDropout in training with the mask from keep()', () => {
    checkLayer(new SELU(), [6], 4, (x) => x.map((v) => (v > 0 ? 1.0507009873554805 * v : 1.0507009873554805 * 1.6732632423543772 * Math.expm1(v))));
    const p = 0.3;
    const a = 1 / Math.sqrt((1 - p) * (1 + p * SATURATION * SATURATION));
    const b = -a * SATURATION * p;
    checkLayer(new AlphaDropout(p), [7], 3, (x) =>
      x.map((v, i) => a * (keep(1, '', 3, 10 + Math.floor(i / 7), i % 7, p) ? v : SATURATION) + b),
    { training: true });
  });
});

describe('Monte Carlo dropout and the spec', () => {
  it('trainDropoutOnly switches every keyed dropout layer on and nothing else', () => {
    const layers = new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 }), new SELU(), new AlphaDropout(0.1), new GaussianDropout(0.2));
    trainDropoutOnly(layers);
    expect(layers.layers.map((l) => l.training)).toEqual([false, false, true, true]);
  });

  it('builds selu, alpha-dropout and gaussian-dropout entries and names a bad p', () => {
    const model = sequentialFromSpec({ input: [4], layers: [{ type: 'linear', out: 4 }, { type: 'selu' }, { type: 'alpha-dropout', p: 0.1 }, { type: 'gaussian-dropout', p: 0.2 }] });
    expect(model.layers.map((l) => l.kind)).toEqual(['Linear', 'SELU', 'AlphaDropout', 'GaussianDropout']);
    expect(() => sequentialFromSpec({ input: [4], layers: [{ type: 'alpha-dropout', p: 1 }] })).toThrow(
      'model spec layers[0] (alpha-dropout): p=1 must be below 1; the noise would be unbounded',
    );
  });
});
