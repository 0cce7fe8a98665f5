import { describe, expect, it } from 'vitest';
import { foldIn, foldInString, permutation, randomBits, rootKey, threefry2x32, uniformAt } from '@lockstep/core';

describe('threefry2x32-20', () => {
  // Random123's known-answer vectors (tests/kat_vectors), also used by JAX's tests.
  it.each([
    [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
    [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
    [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
  ])('key %j counter %j gives %j', (key, counter, expected) => {
    const out = new Uint32Array(2);
    threefry2x32(key[0], key[1], counter[0], counter[1], out);
    expect([...out]).toEqual(expected);
  });
});

describe('keys', () => {
  it('are values: the same derivation gives the same key, and using a key does not change it', () => {
    const key = rootKey(42);
    const before = [...key];
    const bits = randomBits(key, new Uint32Array(8));
    expect([...key]).toEqual(before);
    expect([...randomBits(rootKey(42), new Uint32Array(8))]).toEqual([...bits]);
    expect(foldIn(key, 7)).toEqual(foldIn(rootKey(42), 7));
  });

  it('differ for different seeds, data and names', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 50; seed++) seen.add(rootKey(seed).join(','));
    for (let data = 0; data < 50; data++) seen.add(foldIn(rootKey(0), data).join(','));
    for (const name of ['0', '1', '10', '1.0', '0.1', '01', '']) seen.add(foldInString(rootKey(0), name).join(','));
    expect(seen.size).toBe(107);
  });

  it('take seeds and data up to 2^53 and reject anything else with a message', () => {
    expect(rootKey(2 ** 53 - 1)).not.toEqual(rootKey(2 ** 32 - 1));
    expect(() => rootKey(-1)).toThrow('seed must be a non-negative safe integer, got -1');
    expect(() => rootKey(1.5)).toThrow('seed must be a non-negative safe integer, got 1.5');
    expect(() => foldIn(rootKey(0), Number.NaN)).toThrow('foldIn data must be a non-negative safe integer, got NaN');
  });

  it('give uniform doubles in [0, 1) with the right mean and variance', () => {
    const key = rootKey(5);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const u = uniformAt(key, i);
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      sumSq += u * u;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it('shuffle with a keyed permutation that is a bijection and depends on the key', () => {
    const a = permutation(rootKey(1), 1000);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...permutation(rootKey(1), 1000)]).toEqual([...a]);
    expect([...permutation(rootKey(2), 1000)]).not.toEqual([...a]);
  });

  it('put every element in every position about equally often', () => {
    const n = 5;
    const counts = new Array(n * n).fill(0);
    const trials = 20_000;
    for (let t = 0; t < trials; t++) {
      permutation(foldIn(rootKey(9), t), n).forEach((value, position) => counts[value * n + position]++);
    }
    const expected = trials / n;
    for (const count of counts) expect(Math.abs(count - expected)).toBeLessThan(5 * Math.sqrt(expected));
  });
});
