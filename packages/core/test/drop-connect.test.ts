import { describe, expect, it } from 'vitest';
import {
  DropConnectLinear,
  Dropout,
  dropoutRunKey,
  fillBatchMask,
  fillWeightMask,
  keep,
  layerMaskKey,
  layerSpecOf,
  Linear,
  Model,
  modelFromSpec,
  ReLU,
  rowIndices,
  Sequential,
  sequentialFromSpec,
  specOf,
  trainDropoutOnly,
} from '@lockstep/core';
import { checkLayer, type Reference } from './helpers/gradcheck.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const layerKey = layerMaskKey(dropoutRunKey(1234), '2');

describe('DropConnect weight masks', () => {
  it('match a pinned golden mask for seed 99, layer "0.3", step 12, first sample 40, p=0.25', () => {
    const key = layerMaskKey(dropoutRunKey(99), '0.3');
    expect([...fillWeightMask(key, 12, 40, 0.25, new Float32Array(40))].join('')).toBe('1111110110111110011101011111101101111010');
  });

  it('at the address of the dropout golden mask (seed 1234, layer "2", step 5, sample 17) give its bits', () => {
    expect([...fillWeightMask(layerKey, 5, 17, 0.5, new Float32Array(32))].join('')).toBe('00101011010001001010111111100110');
  });

  it('are the mask of the chunk\'s first sample with the weights as units: keep(seed, L, t, s0, j)', () => {
    const weights = fillWeightMask(layerKey, 9, 3, 0.4, new Float32Array(77));
    expect([...weights]).toEqual([...fillBatchMask(layerKey, 9, [3], 77, 0.4, new Float32Array(77))]);
    weights.forEach((m, j) => expect(m).toBe(keep(1234, '2', 9, 3, j, 0.4) ? 1 : 0));
  });

  it.each([0.1, 0.5, 0.9])('drop a fraction of 10^6 weights within 4 standard errors of p (p=%s)', (p) => {
    const mask = fillWeightMask(layerKey, 2, 0, p, new Float32Array(1_000_000));
    const dropped = mask.reduce((n, m) => n + (m === 0 ? 1 : 0), 0) / mask.length;
    expect(Math.abs(dropped - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / mask.length));
  });
});

describe('DropConnectLinear', () => {
  const inF = 200;
  const outF = 500;
  const identity = new Float32Array(inF * inF);
  for (let i = 0; i < inF; i++) identity[i * inF + i] = 1;
  const build = (p: number): Model => new Model(new DropConnectLinear({ inFeatures: inF, outFeatures: outF, p, bias: false }), [inF]).initialize(4);

  it.each([0.2, 0.5])('drops each weight of the layer with probability p (10^5 weights, within 4 standard errors), kept ones scaled by 1/(1-p) (p=%s)', (p) => {
    const model = build(p).train();
    // Row r of the output of the identity is column r of the masked weights.
    const out = model.forward(identity, { key: dropoutRunKey(6), step: 3, samples: rowIndices(inF, 50) }).data;
    const weights = model.params;
    let dropped = 0;
    let misscaled = 0;
    for (let r = 0; r < inF; r++) {
      for (let o = 0; o < outF; o++) {
        const value = out[r * outF + o];
        if (value === 0) dropped++;
        else if (value !== Math.fround(weights[o * inF + r] * Math.fround(1 / (1 - p)))) misscaled++;
      }
    }
    expect(misscaled).toBe(0);
    expect(Math.abs(dropped / (inF * outF) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / (inF * outF)));
  });

  it('draws one mask per chunk: fixed by (step, first sample), new for another first sample or step', () => {
    const model = build(0.5).train();
    const masked = (step: number, samples: number[]): Float32Array => model.forward(identity, { key: dropoutRunKey(6), step, samples: [...samples, ...rowIndices(inF - samples.length, 1000)] }).data.slice();
    const reference = masked(3, [50]);
    expect(bytes(masked(3, [50, 7, 9])).equals(bytes(reference))).toBe(true);
    for (const other of [masked(3, [51]), masked(4, [50])]) {
      const agreement = other.reduce((n, v, i) => n + ((v === 0) === (reference[i] === 0) ? 1 : 0), 0) / other.length;
      expect(Math.abs(agreement - 0.5)).toBeLessThan(0.01);
    }
  });

  it('in eval mode is a plain Linear, bit for bit, forward and backward', () => {
    const x = Float32Array.from({ length: 3 * inF }, (_, i) => Math.sin(i));
    const dropConnect = build(0.5);
    const plain = new Model(new Linear({ inFeatures: inF, outFeatures: outF, bias: false }), [inF]).initialize(4);
    expect(bytes(dropConnect.params).equals(bytes(plain.params))).toBe(true);
    const grad = { data: Float32Array.from({ length: 3 * outF }, (_, i) => Math.cos(i)), shape: [3, outF] };
    for (const model of [dropConnect, plain]) {
      model.zeroGrad();
      model.forward(x);
      model.backward(grad);
    }
    expect(bytes(dropConnect.forward(x).data).equals(bytes(plain.forward(x).data))).toBe(true);
    expect(bytes(dropConnect.grads).equals(bytes(plain.grads))).toBe(true);
  });

  it.each([true, false])('gradient check (training=%s) against a float64 reference with the mask from keep()', (training) => {
    const [inFeatures, outFeatures, p] = [5, 4, 0.4];
    const reference: Reference = (x, [w, b]) => {
      const rows = x.length / inFeatures;
      const y = new Float64Array(rows * outFeatures);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < outFeatures; o++) {
          let sum = b[o];
          for (let i = 0; i < inFeatures; i++) {
            const j = o * inFeatures + i;
            const m = training ? (keep(1, '', 3, 10, j, p) ? Math.fround(1 / (1 - p)) : 0) : 1;
            sum += x[r * inFeatures + i] * w[j] * m;
          }
          y[r * outFeatures + o] = sum;
        }
      }
      return y;
    };
    checkLayer(new DropConnectLinear({ inFeatures, outFeatures, p }), [inFeatures], 3, reference, { training });
  });

  it('is switched on by trainDropoutOnly (Monte Carlo dropout), plain Linear layers are not', () => {
    const layers = new Sequential(new Linear({ inFeatures: 3, outFeatures: 3 }), new ReLU(), new DropConnectLinear({ inFeatures: 3, outFeatures: 3, p: 0.5 }), new Dropout(0.1));
    trainDropoutOnly(layers);
    expect(layers.layers.map((l) => l.training)).toEqual([false, false, true, true]);
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => new DropConnectLinear({ inFeatures: 2, outFeatures: 2, p: 1.5 })).toThrow('DropConnectLinear: p=1.5 is out of range [0, 1]');
  });
});

describe('dropConnect in the model spec', () => {
  const spec = { input: [6], layers: [{ type: 'linear', out: 8, dropConnect: 0.3 }, { type: 'relu' }, { type: 'linear', out: 2 }] };

  it('builds a DropConnectLinear with the parameters of a Linear and round-trips through specOf', () => {
    const model = modelFromSpec(spec, 5);
    const [first, , last] = (model.module as Sequential).layers;
    expect([first.kind, last.kind]).toEqual(['DropConnectLinear', 'Linear']);
    expect(layerSpecOf(first)).toEqual({ type: 'linear', in: 6, out: 8, bias: true, init: 'torch-default', dropConnect: 0.3 });
    expect(Object.keys(layerSpecOf(last))).not.toContain('dropConnect');
    const plain = modelFromSpec({ ...spec, layers: [{ type: 'linear', out: 8 }, ...spec.layers.slice(1)] }, 5);
    expect(bytes(model.params).equals(bytes(plain.params))).toBe(true);
    const again = modelFromSpec(JSON.parse(JSON.stringify(specOf(model))), 5);
    expect(specOf(again)).toEqual(specOf(model));
  });

  it.each([
    [1.5, 'model spec layers[0] (linear): "dropConnect" must be a number in [0, 1], got 1.5'],
    [-0.1, 'model spec layers[0] (linear): "dropConnect" must be a number in [0, 1], got -0.1'],
    ['0.5', 'model spec layers[0] (linear): "dropConnect" must be a number in [0, 1], got "0.5"'],
  ])('rejects dropConnect %j with one line', (dropConnect, message) => {
    expect(() => sequentialFromSpec({ input: [6], layers: [{ type: 'linear', out: 8, dropConnect }] })).toThrow(message);
  });
});
