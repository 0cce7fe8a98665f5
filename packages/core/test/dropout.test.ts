import { describe, expect, it } from 'vitest';
import {
  Dropout,
  dropout,
  dropoutRunKey,
  fillBatchMask,
  keep,
  layerMaskKey,
  Linear,
  Model,
  ReLU,
  rowIndices,
  Sequential,
} from '@lockstep/core';

const SEED = 1234;
const layerKey = layerMaskKey(dropoutRunKey(SEED), '2');

function ones(rows: number, units: number): { data: Float32Array; shape: number[] } {
  return { data: new Float32Array(rows * units).fill(1), shape: [rows, units] };
}

function maskOf(step: number, samples: number[], units: number, p: number): Float32Array {
  return fillBatchMask(layerKey, step, samples, units, p, new Float32Array(samples.length * units));
}

describe('dropout masks', () => {
  it.each([0.1, 0.5, 0.9])('keep a fraction within 0.002 of 1-p over 10^6 units (p=%s)', (p) => {
    const rows = 1000;
    const units = 1000;
    const mask = maskOf(3, Array.from({ length: rows }, (_, i) => i), units, p);
    const kept = mask.reduce((sum, m) => sum + m, 0) / mask.length;
    expect(Math.abs(kept - (1 - p))).toBeLessThan(0.002);
  });

  it.each(['inverted', 'classic'] as const)('give a mean training activation equal to eval mode within sampling error (%s)', (scaling) => {
    const p = 0.3;
    const rows = 1000;
    const units = 1000;
    const x = ones(rows, units);
    const samples = rowIndices(rows);
    const train = dropout(x, p, { training: true, scaling, key: layerKey, step: 1, samples }).output.data;
    const evalOut = dropout(x, p, { training: false, scaling, key: layerKey, step: 1, samples }).output.data;
    const mean = train.reduce((sum, v) => sum + v, 0) / train.length;
    const scale = scaling === 'inverted' ? 1 / (1 - p) : 1;
    const standardError = (scale * Math.sqrt(p * (1 - p))) / Math.sqrt(train.length);
    expect(evalOut[0]).toBeCloseTo(scaling === 'inverted' ? 1 : 0.7, 6);
    expect(evalOut.every((v) => v === evalOut[0])).toBe(true);
    expect(Math.abs(mean - evalOut[0])).toBeLessThan(4 * standardError);
  });

  it('differ between steps and between samples, and agree only about as often as chance', () => {
    const units = 4096;
    const a = maskOf(0, [7], units, 0.5);
    const nextStep = maskOf(1, [7], units, 0.5);
    const otherSample = maskOf(0, [8], units, 0.5);
    const agreement = (x: Float32Array, y: Float32Array): number => x.reduce((n, v, i) => n + (v === y[i] ? 1 : 0), 0) / units;
    for (const other of [nextStep, otherSample]) {
      expect(Math.abs(agreement(a, other) - 0.5)).toBeLessThan(0.05);
    }
  });

  it('match a pinned golden mask for seed 1234, layer "2", step 5, sample 17', () => {
    const golden = [...maskOf(5, [17], 32, 0.5)].join('');
    expect(golden).toBe('00101011010001001010111111100110');
  });

  it('match keep(seed, layerPath, step, sample, unit) unit by unit', () => {
    const mask = maskOf(9, [3, 11], 37, 0.4);
    for (let row = 0; row < 2; row++) {
      for (let unit = 0; unit < 37; unit++) {
        expect(mask[row * 37 + unit]).toBe(keep(SEED, '2', 9, [3, 11][row], unit, 0.4) ? 1 : 0);
      }
    }
  });

  it.each([0, 0.3, 0.5, 1])('hold the kept scale or +0 exactly where keep() says, for 16-unit SIMD groups and the tail (p=%s)', (p) => {
    const units = 16 * 40 + 13;
    const samples = [0, 5, 123456];
    const scale = p < 1 ? 1 / (1 - p) : 0;
    const mask = fillBatchMask(layerKey, 77, samples, units, p, new Float32Array(samples.length * units), scale);
    samples.forEach((sample, row) => {
      for (let unit = 0; unit < units; unit++) {
        const expected = keep(SEED, '2', 77, sample, unit, p) ? Math.fround(scale) : 0;
        if (!Object.is(mask[row * units + unit], expected)) expect.fail(`sample ${sample} unit ${unit}: ${mask[row * units + unit]}, keep() gives ${expected}`);
      }
    });
  });

  it('hold keep() for every unit of a mask longer than one SIMD kernel call (DropConnect-sized)', () => {
    const units = 2 * 65536 + 29;
    const mask = fillBatchMask(layerKey, 3, [41], units, 0.5, new Float32Array(units), 2);
    for (let unit = 0; unit < units; unit++) {
      if (mask[unit] !== (keep(SEED, '2', 3, 41, unit, 0.5) ? 2 : 0)) expect.fail(`unit ${unit}: ${mask[unit]}`);
    }
  });

  it('are the same for sample s alone, in a chunk or in a full batch', () => {
    const units = 64;
    const batch = Array.from({ length: 32 }, (_, i) => 100 + i * 3);
    const full = maskOf(4, batch, units, 0.5);
    const chunk = maskOf(4, batch.slice(8, 16), units, 0.5);
    const alone = maskOf(4, [batch[10]], units, 0.5);
    const row = (m: Float32Array, r: number): number[] => [...m.subarray(r * units, (r + 1) * units)];
    expect(row(chunk, 2)).toEqual(row(full, 10));
    expect(row(alone, 0)).toEqual(row(full, 10));
  });
});

describe('Dropout layer', () => {
  it('rejects p outside [0, 1] naming the value', () => {
    expect(() => new Dropout(1.3)).toThrow('Dropout: p=1.3 is out of range [0, 1]');
    expect(() => new Dropout(-0.1)).toThrow('Dropout: p=-0.1 is out of range [0, 1]');
    expect(() => new Dropout(Number.NaN)).toThrow('Dropout: p=NaN is out of range [0, 1]');
    expect(() => dropout(ones(1, 1), 2, { training: true, key: layerKey, step: 0, samples: [0] })).toThrow(
      'dropout: p=2 is out of range [0, 1]',
    );
  });

  it('starts in eval mode', () => {
    expect(new Dropout(0.5).training).toBe(false);
  });

  it.each(['inverted', 'classic'] as const)('with p = 0 is the identity in both modes (%s)', (scaling) => {
    const layer = new Dropout(0, { scaling });
    const x = { data: Float32Array.from([1, -2, 3, 4]), shape: [2, 2] };
    const context = { key: dropoutRunKey(1), step: 0, samples: [0, 1] };
    expect([...layer.train().forward(x, context).data]).toEqual([1, -2, 3, 4]);
    expect([...layer.eval().forward(x, context).data]).toEqual([1, -2, 3, 4]);
  });

  it('with p = 1 drops everything in training (no NaN) and scales by 0 or 1 in eval', () => {
    const x = { data: Float32Array.from([1, -2, 3, 4]), shape: [2, 2] };
    const context = { key: dropoutRunKey(1), step: 0, samples: [0, 1] };
    const inverted = new Dropout(1);
    const zero = (values: Float32Array): boolean => values.every((v) => v === 0);
    expect(zero(inverted.train().forward(x, context).data)).toBe(true);
    expect(zero(inverted.backward({ data: new Float32Array(4).fill(1), shape: [2, 2] }, true)!.data)).toBe(true);
    expect([...inverted.eval().forward(x, context).data]).toEqual([1, -2, 3, 4]);
    expect([...new Dropout(1, { scaling: 'classic' }).forward(x, context).data]).toEqual([0, -0, 0, 0]);
  });

  it('scales kept units by 1/(1-p) when inverted and leaves them when classic', () => {
    const context = { key: dropoutRunKey(2), step: 0, samples: rowIndices(4) };
    const x = ones(4, 50);
    const inverted = new Dropout(0.2).train().forward(x, context).data;
    expect(new Set(inverted)).toEqual(new Set([0, Math.fround(1 / 0.8)]));
    const classic = new Dropout(0.2, { scaling: 'classic' }).train().forward(x, context).data;
    expect(new Set(classic)).toEqual(new Set([0, 1]));
  });

  it('uses its path in the model as its key, so two dropout layers draw different masks', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 4, outFeatures: 64 }), new Dropout(0.5), new Dropout(0.5)), [4]);
    const [, first, second] = (model.module as Sequential).layers as [Linear, Dropout, Dropout];
    expect([first.path, second.path]).toEqual(['1', '2']);
    const context = { key: dropoutRunKey(0), step: 0, samples: [0] };
    const a = first.train().forward(ones(1, 64), context).data.slice();
    const b = second.train().forward(ones(1, 64), context).data.slice();
    expect([...a]).not.toEqual([...b]);
  });

  it('backward passes the gradient through kept units only, with the same scale', () => {
    const layer = new Dropout(0.5).train();
    const context = { key: dropoutRunKey(3), step: 2, samples: [5, 6] };
    const out = layer.forward(ones(2, 16), context).data.slice();
    const grad = layer.backward({ data: new Float32Array(32).fill(3), shape: [2, 16] }, true)!.data;
    out.forEach((v, i) => expect(grad[i]).toBe(v * 3));
  });
});

describe('the source note examples in train and eval mode', () => {
  it('10-5-1: train mode gives varying outputs, eval mode the same output every call', () => {
    const model = new Model(
      new Sequential(new Linear({ inFeatures: 10, outFeatures: 5 }), new ReLU(), new Dropout(0.5), new Linear({ inFeatures: 5, outFeatures: 1 })),
      [10],
    ).initialize(0);
    const x = Float32Array.from({ length: 10 }, (_, i) => Math.sin(i + 1));
    model.train();
    const trainOutputs = new Set(Array.from({ length: 20 }, () => model.forward(x).data[0]));
    expect(trainOutputs.size).toBeGreaterThan(3);
    model.eval();
    const evalOutputs = new Set(Array.from({ length: 20 }, () => model.forward(x).data[0]));
    expect(evalOutputs.size).toBe(1);
  });
});
