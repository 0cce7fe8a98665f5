import { describe, expect, it } from 'vitest';
import { kernelMemory, MaxPool2d, useKernelMemory } from '@lockstep/core';
import { kernelFloats } from '../src/wasm/kernel-memory.js';

// The max pool's kernel (wasm/patches.wat) against its scalar definition, bit for bit: 2x2 windows of
// stride 2 run four at a time on SIMD, other windows (and the last ones of a row) one at a time.
const special = [Number.NaN, -0, 0, Infinity, -Infinity, 1, 1, -1];

/** Every window's first largest value in (kh, kw) order, padding skipped; the gradient to that position, in output order. */
function definition(x: Float32Array, shape: readonly number[], k: number, s: number, p: number, g: Float32Array) {
  const [n, c, h, w] = shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float32Array(n * c * oh * ow);
  const gradIn = new Float32Array(x.length);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, o++) {
        let best = -Infinity;
        let winner = -1;
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const [ih, iw] = [i * s - p + a, j * s - p + b];
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            const at = (plane * h + ih) * w + iw;
            if (winner < 0 || x[at]! > best) [best, winner] = [x[at]!, at];
          }
        }
        out[o] = best;
        if (winner >= 0) gradIn[winner] = Math.fround(gradIn[winner]! + g[o]!);
      }
    }
  }
  return { out, gradIn };
}

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('max pool kernel', () => {
  const cases = [
    { name: '2x2 stride 2, 9 windows a row (two groups of four and one more)', shape: [2, 3, 6, 18], k: 2, s: 2, p: 0 },
    { name: '2x2 stride 2, odd width and height', shape: [1, 2, 7, 17], k: 2, s: 2, p: 0 },
    { name: '3x3 stride 1 padding 1 (overlapping windows)', shape: [2, 2, 5, 9], k: 3, s: 1, p: 1 },
  ];
  for (const inMemory of [false, true]) {
    it.each(cases)(`$name${inMemory ? ', in a kernel memory' : ''}`, ({ shape, k, s, p }) => {
      useKernelMemory(inMemory ? kernelMemory(1 << 16, 'a test', 1 << 24) : null);
      try {
        const size = shape.reduce((a, b) => a * b, 1);
        const x = inMemory ? kernelFloats(size) : new Float32Array(size);
        // Few distinct values, so windows tie often; the special ones where a comparison could differ.
        for (let i = 0; i < size; i++) x[i] = i % 5 === 0 ? special[(i / 5) % special.length]! : Math.round(Math.sin(i * 7.1) * 3) / 2;
        const pool = new MaxPool2d({ kernelSize: k, stride: s, padding: p });
        const y = pool.forward({ data: x, shape });
        const g = Float32Array.from({ length: y.data.length }, (_, i) => Math.sin(i * 3.3) * 2);
        const expected = definition(x, shape, k, s, p, g);
        expect(bits(y.data).equals(bits(expected.out))).toBe(true);
        const gradIn = pool.backward({ data: g, shape: y.shape }, true)!;
        expect(bits(gradIn.data).equals(bits(expected.gradIn))).toBe(true);
      } finally {
        useKernelMemory(null);
      }
    });
  }
});
