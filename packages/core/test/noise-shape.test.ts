import { describe, expect, it } from 'vitest';
import { Dropout, Dropout2d, dropoutRunKey, keep, layerSpecOf, rowIndices, sequentialFromSpec } from '@lockstep/core';
import { checkLayer } from './helpers/gradcheck.js';

const SEED = 8;
const context = (rows: number, step = 2) => ({ key: dropoutRunKey(SEED), step, samples: rowIndices(rows, 40) });
const ones = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape });
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('Dropout noiseShape', () => {
  it('the full sample shape gives the same bits as no noiseShape, unit for unit keep()', () => {
    const x = { data: Float32Array.from({ length: 3 * 24 }, (_, i) => 1 + (i % 5)), shape: [3, 2, 3, 4] };
    const plain = new Dropout(0.4).train().forward(x, context(3)).data.slice();
    const full = new Dropout(0.4, { noiseShape: [2, 3, 4] }).train().forward(x, context(3)).data;
    expect(bytes(full).equals(bytes(plain))).toBe(true);
    plain.forEach((v, i) => expect(v === 0).toBe(!keep(SEED, '', 2, 40 + Math.floor(i / 24), i % 24, 0.4)));
  });

  it('[C,1,1] is channel dropout: the same bits as Dropout2d at the same path', () => {
    const x = { data: Float32Array.from({ length: 5 * 6 * 9 }, (_, i) => Math.cos(i)), shape: [5, 6, 3, 3] };
    const channels = new Dropout(0.3, { noiseShape: [6, 1, 1], scaling: 'classic' }).train().forward(x, context(5)).data.slice();
    const maps = new Dropout2d(0.3, { scaling: 'classic' }).train().forward(x, context(5)).data;
    expect(bytes(channels).equals(bytes(maps))).toBe(true);
  });

  it('[1,H,W] shares one spatial mask across channels; unit h*W+w is keep(seed, L, t, s, h*W+w)', () => {
    const [rows, c, h, w] = [4, 5, 3, 7];
    const out = new Dropout(0.5, { noiseShape: [1, h, w] }).train().forward(ones([rows, c, h, w]), context(rows)).data;
    for (let r = 0; r < rows; r++) {
      for (let pixel = 0; pixel < h * w; pixel++) {
        const expected = keep(SEED, '', 2, 40 + r, pixel, 0.5) ? 2 : 0;
        for (let channel = 0; channel < c; channel++) expect(out[(r * c + channel) * h * w + pixel]).toBe(expected);
      }
    }
  });

  it.each([
    [[8, 1, 1], 0.1],
    [[1, 6, 6], 0.5],
    [[8, 1, 6], 0.9],
  ])('noiseShape %j, p=%s: constant along broadcast axes; kept units within 4 standard errors of 1-p', (noiseShape, p) => {
    const [rows, c, h, w] = [3000, 8, 6, 6];
    const out = new Dropout(p, { noiseShape }).train().forward(ones([rows, c, h, w]), context(rows, 5)).data;
    const units = noiseShape.reduce((a, b) => a * b, 1);
    const first = new Float32Array(rows * units).fill(-1);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < c * h * w; i++) {
        const [ci, hi, wi] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
        const unit = ((noiseShape[0] === 1 ? 0 : ci) * noiseShape[1] + (noiseShape[1] === 1 ? 0 : hi)) * noiseShape[2] + (noiseShape[2] === 1 ? 0 : wi);
        const value = out[r * c * h * w + i];
        const at = r * units + unit;
        if (first[at] === -1) first[at] = value;
        else if (first[at] !== value) expect.fail(`row ${r} element ${i}: ${value} differs from its unit's ${first[at]}`);
      }
    }
    const kept = first.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) / first.length;
    expect(Math.abs(kept - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / first.length));
  });

  it('gradient check with noiseShape [2,1,3] against a float64 reference built from keep()', () => {
    const [c, h, w] = [2, 4, 3];
    checkLayer(new Dropout(0.3, { noiseShape: [c, 1, w] }), [c, h, w], 3, (x) =>
      x.map((v, i) => {
        const element = i % (c * h * w);
        const unit = Math.floor(element / (h * w)) * w + (element % w);
        return keep(1, '', 3, 10 + Math.floor(i / (c * h * w)), unit, 0.3) ? v / 0.7 : 0;
      }),
    { training: true });
  });

  it('is the identity in eval mode and backward reuses the broadcast multipliers', () => {
    const layer = new Dropout(0.5, { noiseShape: [3, 1] });
    expect([...layer.forward(ones([2, 3, 4]), context(2)).data].every((v) => v === 1)).toBe(true);
    const out = layer.train().forward(ones([2, 3, 4]), context(2)).data.slice();
    const grad = layer.backward({ data: new Float32Array(24).fill(3), shape: [2, 3, 4] }, true)!.data;
    out.forEach((v, i) => expect(grad[i]).toBe(v * 3));
  });

  it('rejects a bad noiseShape with one line', () => {
    expect(() => new Dropout(0.5, { noiseShape: [2, 0] })).toThrow('Dropout: noiseShape must be a non-empty list of positive integers, got [2,0]');
    expect(() => new Dropout(0.5, { noiseShape: [] })).toThrow('Dropout: noiseShape must be a non-empty list of positive integers, got []');
    const layer = new Dropout(0.5, { noiseShape: [3, 1] });
    expect(() => layer.outputShape([3, 4, 4])).toThrow('Dropout: noiseShape [3,1] has 2 axes but samples have shape [3,4,4]; give one entry per axis');
    expect(() => layer.outputShape([3])).toThrow('Dropout: noiseShape [3,1] has 2 axes but samples have shape [3]; give one entry per axis');
    expect(() => new Dropout(0.5, { noiseShape: [3, 2] }).outputShape([3, 4])).toThrow(
      'Dropout: noiseShape [3,2] has 2 on axis 1 where samples [3,4] have 4; use 1 (shared along the axis) or the sample size',
    );
    expect(() => layer.train().forward(ones([1, 2, 4]), context(1))).toThrow(
      'Dropout: noiseShape [3,1] has 3 on axis 0 where samples [2,4] have 2; use 1 (shared along the axis) or the sample size',
    );
  });
});

describe('dropout noiseShape in the model spec', () => {
  it.each([
    [{ type: 'dropout', p: 0.5, noiseShape: [3, 0] }, 'model spec layers[0] (dropout): "noiseShape" must be a non-empty list of positive integers, got [3,0]'],
    [{ type: 'dropout', p: 0.5, noiseShape: 3 }, 'model spec layers[0] (dropout): "noiseShape" must be a non-empty list of positive integers, got 3'],
    [{ type: 'dropout', p: 0.5, noiseShape: [3] }, 'model spec layers[0]: noiseShape [3] has 1 axis but samples have shape [3,4]; give one entry per axis'],
    [{ type: 'dropout', p: 0.5, noiseShape: [3, 2] }, 'model spec layers[0]: noiseShape [3,2] has 2 on axis 1 where samples [3,4] have 4; use 1 (shared along the axis) or the sample size'],
  ])('rejects %j naming the entry', (entry, message) => {
    expect(() => sequentialFromSpec({ input: [3, 4], layers: [entry] })).toThrow(message);
  });

  it('builds from the spec and round-trips through layerSpecOf; no noiseShape stays out of the spec', () => {
    const built = sequentialFromSpec({ input: [3, 4], layers: [{ type: 'dropout', p: 0.25, noiseShape: [1, 4] }, { type: 'dropout', p: 0.5 }] });
    const [shaped, plain] = built.layers as Dropout[];
    expect(shaped.noiseShape).toEqual([1, 4]);
    expect(layerSpecOf(shaped)).toEqual({ type: 'dropout', p: 0.25, scaling: 'inverted', noiseShape: [1, 4] });
    expect(Object.keys(layerSpecOf(plain))).toEqual(['type', 'p', 'scaling']);
    const again = sequentialFromSpec({ input: [3, 4], layers: [layerSpecOf(shaped)] }).layers[0] as Dropout;
    expect(again.noiseShape).toEqual([1, 4]);
  });
});
