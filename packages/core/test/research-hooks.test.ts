import { describe, expect, it } from 'vitest';
import { dropoutRunKey, Dropout, Dropout2d, Linear, Model, Sequential, Tanh, type MaskRequest } from '@lockstep/core';

const context = { key: dropoutRunKey(3), step: 4, samples: [10, 11] };

describe('explicit dropout masks (useMask)', () => {
  it('applies fixed keep flags with the layer\'s scaling, forward and backward', () => {
    const dropout = new Dropout(0.5);
    const model = new Model(new Sequential(dropout), [3]).train();
    dropout.useMask(Float32Array.of(1, 0, 1, 0, 0, 1));
    const out = model.forward({ data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] }, context);
    expect([...out.data]).toEqual([2, 0, 6, 0, 0, 12]);
    const grad = model.backward({ data: new Float32Array(6).fill(1), shape: [2, 3] }, { inputGradient: true });
    expect([...grad!.data]).toEqual([2, 0, 2, 0, 0, 2]);
  });

  it('asks a mask function per forward, with the rows, units, step and sample indices', () => {
    const requests: MaskRequest[] = [];
    const dropout = new Dropout2d(0.25, { scaling: 'classic' }).useMask((request, keep) => {
      requests.push({ ...request, samples: [...request.samples] });
      keep.set([1, 0, 0, 1]);
    });
    const model = new Model(new Sequential(dropout), [2, 1, 2]).train();
    const out = model.forward({ data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), shape: [2, 2, 1, 2] }, context);
    expect([...out.data]).toEqual([1, 2, 0, 0, 0, 0, 7, 8]);
    expect(requests).toEqual([{ rows: 2, units: 2, step: 4, samples: [10, 11], p: 0.25 }]);
  });

  it('leaves eval mode alone, and null goes back to the keyed masks', () => {
    const dropout = new Dropout(0.5).useMask(() => {
      throw new Error('not asked in eval mode');
    });
    const model = new Model(new Sequential(dropout), [4]);
    const input = { data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), shape: [2, 4] };
    expect([...model.forward(input, context).data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    dropout.useMask(null);
    model.train();
    const keyed = new Model(new Sequential(new Dropout(0.5)), [4]).train();
    expect([...model.forward(input, context).data]).toEqual([...keyed.forward(input, context).data]);
  });

  it('refuses a mask of the wrong length or with values other than 0 and 1, in one line', () => {
    const dropout = new Dropout(0.5);
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 3 }), dropout), [2]).train();
    dropout.useMask(new Float32Array(5));
    expect(() => model.forward({ data: new Float32Array(4), shape: [2, 2] }, context)).toThrow('layer 1 (Dropout): the mask has 5 values, this forward needs 2 rows x 3 units = 6; give one keep flag per unit');
    dropout.useMask(Float32Array.of(1, 1, 0.5, 1, 1, 1));
    expect(() => model.forward({ data: new Float32Array(4), shape: [2, 2] }, context)).toThrow('layer 1 (Dropout): mask value 0.5 at 2 is not 0 or 1; give 1 to keep a unit and 0 to drop it');
  });
});

describe('Model.backward with the input gradient', () => {
  it('returns d(loss)/d(input), matching finite differences', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 3, outFeatures: 2 }), new Tanh()), [3]).initialize(7);
    const x = Float32Array.of(0.3, -0.2, 0.5);
    model.forward(x);
    const grad = model.backward({ data: Float32Array.of(1, -2), shape: [1, 2] }, { inputGradient: true })!;
    const loss = (input: Float32Array): number => {
      const y = model.forward(input).data;
      return y[0] - 2 * y[1];
    };
    for (let i = 0; i < 3; i++) {
      const h = 1e-2;
      const up = x.slice();
      const down = x.slice();
      up[i] += h;
      down[i] -= h;
      expect(grad.data[i]).toBeCloseTo((loss(up) - loss(down)) / (2 * h), 3);
    }
    expect(grad.shape).toEqual([1, 3]);
  });

  it('returns null without the option', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 3, outFeatures: 2 })), [3]).initialize(7);
    model.forward(new Float32Array(3));
    expect(model.backward({ data: new Float32Array(2), shape: [1, 2] })).toBeNull();
  });
});

describe('forward outputs', () => {
  it('alias between calls: the next forward overwrites the last output, so keep a copy with slice()', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 })), [2]).initialize(1);
    const first = model.forward(Float32Array.of(1, 0));
    const kept = first.data.slice();
    const second = model.forward(Float32Array.of(0, 1));
    expect(second.data.buffer).toBe(first.data.buffer);
    expect(second.data.byteOffset).toBe(first.data.byteOffset);
    expect(first.data).not.toEqual(kept);
    expect(kept).toEqual(model.forward(Float32Array.of(1, 0)).data.slice());
  });

  it('copyOutputs: every forward and backward returns a tensor of its own, with the same values', () => {
    const model = new Model(new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 })), [2]).initialize(1);
    const scratch = model.forward(Float32Array.of(1, 0)).data.slice();
    const scratchGradient = model.backward({ data: Float32Array.of(1, -1), shape: [1, 2] }, { inputGradient: true })!.data.slice();
    model.copyOutputs = true;
    const first = model.forward(Float32Array.of(1, 0));
    const firstGradient = model.backward({ data: Float32Array.of(1, -1), shape: [1, 2] }, { inputGradient: true })!;
    const second = model.forward(Float32Array.of(0, 1));
    model.backward({ data: Float32Array.of(2, 2), shape: [1, 2] }, { inputGradient: true });
    expect(second.data.buffer).not.toBe(first.data.buffer);
    expect(first.data).toEqual(scratch);
    expect(firstGradient.data).toEqual(scratchGradient);
    expect(first.shape).toEqual([1, 2]);
  });
});
