import { describe, expect, it } from 'vitest';
import {
  Dropout,
  kaimingNormal,
  kaimingUniform,
  Linear,
  Model,
  ReLU,
  rootKey,
  Sequential,
  torchDefault,
  xavierNormal,
  xavierUniform,
  type Initializer,
} from '@lockstep/core';

function moments(init: Initializer, fanIn: number, fanOut: number): { mean: number; variance: number; max: number } {
  const values = new Float32Array(200_000);
  init(rootKey(3), values, fanIn, fanOut);
  let sum = 0;
  let sumSq = 0;
  let max = 0;
  for (const v of values) {
    sum += v;
    sumSq += v * v;
    max = Math.max(max, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, variance: sumSq / values.length - mean * mean, max };
}

describe('initializers', () => {
  it.each([
    ['kaiming uniform', kaimingUniform, 2 / 100, Math.sqrt(6 / 100)],
    ['kaiming normal', kaimingNormal, 2 / 100, Infinity],
    ['xavier uniform', xavierUniform, 2 / 150, Math.sqrt(6 / 150)],
    ['xavier normal', xavierNormal, 2 / 150, Infinity],
    ['torch default', torchDefault, 1 / 300, 1 / 10],
  ] as const)('%s has mean 0, variance %f and stays within its bound', (_name, init, variance, bound) => {
    const m = moments(init, 100, 50);
    expect(Math.abs(m.mean)).toBeLessThan(4 * Math.sqrt(variance / 200_000));
    expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.02);
    expect(m.max).toBeLessThanOrEqual(bound);
  });

  it('keys each parameter by seed and path: adding a layer at the end leaves the others unchanged', () => {
    const small = new Model(new Sequential(new Linear({ inFeatures: 4, outFeatures: 3 }), new ReLU()), [4]).initialize(7);
    const larger = new Model(
      new Sequential(new Linear({ inFeatures: 4, outFeatures: 3 }), new ReLU(), new Linear({ inFeatures: 3, outFeatures: 2 })),
      [4],
    ).initialize(7);
    expect([...larger.params.subarray(0, small.size)]).toEqual([...small.params]);
    const otherSeed = new Model(new Sequential(new Linear({ inFeatures: 4, outFeatures: 3 }), new ReLU()), [4]).initialize(8);
    expect([...otherSeed.params]).not.toEqual([...small.params]);
  });
});

describe('train() and eval()', () => {
  it('default to eval, recurse into nested containers and return the module', () => {
    const inner = new Sequential(new Dropout(0.5), new Linear({ inFeatures: 2, outFeatures: 2 }));
    const outer = new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 }), inner);
    const all = [outer, inner, ...outer.layers, ...inner.layers];
    expect(all.every((m) => !m.training)).toBe(true);
    expect(outer.train()).toBe(outer);
    expect(all.every((m) => m.training)).toBe(true);
    expect(outer.eval()).toBe(outer);
    expect(all.every((m) => !m.training)).toBe(true);
  });
});
