import { describe, expect, it } from 'vitest';
import { kernelMemory, useKernelMemory } from '@lockstep/core';
import { addColumnSums, reluGradientInto, reluInto, multiplyInto, multiplyRunsInto } from '../src/ops/elementwise.js';
import { kernelFloats } from '../src/wasm/kernel-memory.js';

// An odd length runs the SIMD loop and the scalar tail; the special values are where a kernel could differ.
const special = [Number.NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 0.5, -0.5];
const length = 1027;
const values = (seed: number): Float32Array =>
  Float32Array.from({ length }, (_, i) => (i % 7 === 0 ? special[(i / 7 + seed) % special.length]! : Math.sin(i * 12.9898 + seed) * 4));

function expectBits(actual: Float32Array, definition: (i: number) => number): void {
  const expected = Float32Array.from({ length: actual.length }, (_, i) => definition(i));
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
}

describe('element-wise SIMD kernels', () => {
  const x = values(0);
  const y = values(3);

  it('relu gives the bits of x < 0 ? 0 : x, NaN and -0 included', () => {
    const out = new Float32Array(length);
    reluInto(x, out);
    expectBits(out, (i) => (x[i]! < 0 ? 0 : x[i]!));
    expect(out[0]).toBeNaN();
  });

  it("relu's backward gives the bits of x > 0 ? gradient : 0", () => {
    const out = new Float32Array(length);
    reluGradientInto(x, y, out);
    expectBits(out, (i) => (x[i]! > 0 ? y[i]! : 0));
  });

  it('multiply gives the float32 product of each pair', () => {
    const out = new Float32Array(length);
    multiplyInto(x, y, out);
    expectBits(out, (i) => Math.fround(x[i]! * y[i]!));
  });

  // Runs of 13 (Dropout2d's feature maps) take three vectors and a scalar each, none aligned to 16 bytes but the first.
  it('multiply by runs gives the float32 product of each value and its run\'s multiplier', () => {
    const x = values(3).subarray(0, 1014);
    const multipliers = Float32Array.from({ length: 78 }, (_, r) => (r % 3 === 0 ? 0 : r % 5 === 0 ? special[r % special.length]! : 1.25));
    const out = new Float32Array(1014);
    multiplyRunsInto(x, multipliers, 13, out);
    expectBits(out, (i) => Math.fround(x[i]! * multipliers[Math.floor(i / 13)]!));
    expect(() => multiplyRunsInto(x, multipliers.subarray(0, 77), 13, out)).toThrow(/need 78 multipliers/);
  });

  it('processes x.length values when the other operand and the output are longer, and refuses shorter ones', () => {
    const out = new Float32Array(length + 5).fill(7);
    multiplyInto(x.subarray(0, 10), y, out);
    expectBits(out.subarray(0, 10), (i) => Math.fround(x[i]! * y[i]!));
    expect([...out.subarray(10, 15)]).toEqual([7, 7, 7, 7, 7]);
    expect(() => multiplyInto(x, y.subarray(0, 3), out)).toThrow(
      `element-wise pass: ${length} values but an operand or the output holds fewer; give arrays of equal length`,
    );
  });

  it('reads views that start inside a larger array from their own first value', () => {
    const view = values(5).subarray(3, 3 + 17);
    const out = new Float32Array(17);
    reluInto(view, out);
    expectBits(out, (i) => (view[i]! < 0 ? 0 : view[i]!));
  });

  it('in a kernel memory (useKernelMemory), reads and writes its views in place, copies the other arrays, and gives the same bits', () => {
    const grad = Float32Array.from({ length: 64 * 13 }, (_, i) => Math.sin(i) * 10 ** ((i % 8) - 3));
    const start = Float32Array.from({ length: 13 }, (_, j) => Math.cos(j));
    const expected = { relu: new Float32Array(length), backward: new Float32Array(length), product: new Float32Array(length), sums: start.slice() };
    reluInto(x, expected.relu);
    reluGradientInto(x, y, expected.backward);
    multiplyInto(x, y, expected.product);
    addColumnSums(grad, 64, 13, expected.sums);
    const memory = kernelMemory(1 << 16, 'a test memory', 1 << 24);
    try {
      useKernelMemory(memory);
      const shared = (array: Float32Array): Float32Array => {
        const view = kernelFloats(array.length);
        view.set(array);
        return view;
      };
      const sharedX = shared(x);
      const out = { relu: kernelFloats(length), backward: kernelFloats(length), product: new Float32Array(length), sums: shared(start) };
      const written = memory.buffer.byteLength;
      reluInto(sharedX, out.relu);
      // Both in place: the kernel took no scratch.
      expect(memory.buffer.byteLength).toBe(written);
      reluGradientInto(sharedX, y, out.backward);
      multiplyInto(x, shared(y), out.product);
      addColumnSums(shared(grad), 64, 13, out.sums);
      expect(Buffer.from(out.relu.slice().buffer).equals(Buffer.from(expected.relu.buffer))).toBe(true);
      expect(Buffer.from(out.backward.slice().buffer).equals(Buffer.from(expected.backward.buffer))).toBe(true);
      expect(Buffer.from(out.product.buffer).equals(Buffer.from(expected.product.buffer))).toBe(true);
      expect(Buffer.from(out.sums.slice().buffer).equals(Buffer.from(expected.sums.buffer))).toBe(true);
      expect(Buffer.from(sharedX.slice().buffer).equals(Buffer.from(x.buffer))).toBe(true);
      // The operands not in the kernel memory were copied to a scratch region appended to it.
      expect(memory.buffer.byteLength).toBeGreaterThan(written);
    } finally {
      useKernelMemory(null);
    }
  });

  describe("the bias gradient's column sums", () => {
    // Magnitudes from 1e-3 to 1e4, so a float32 running sum would round away what float64 keeps.
    const gradient = (rows: number, columns: number): Float32Array =>
      Float32Array.from({ length: rows * columns }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 8) - 3));
    const definition = (g: Float32Array, rows: number, columns: number, start: Float32Array): Float32Array =>
      Float32Array.from(start, (initial, j) => {
        let sum = 0;
        for (let i = 0; i < rows; i++) sum += g[i * columns + j]!;
        return initial + sum;
      });

    it.each([
      [67, 13],
      [64, 512],
      [3, 1],
    ])('%i x %i: each column summed over rows in order in float64, then added to the float32 gradient', (rows, columns) => {
      const g = gradient(rows, columns);
      const out = Float32Array.from({ length: columns }, (_, j) => Math.cos(j) * 100);
      const expected = definition(g, rows, columns, out);
      addColumnSums(g, rows, columns, out);
      expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    });

    it('reads a gradient that is a view inside a larger array, and refuses operands that are too short', () => {
      const g = gradient(9, 7).subarray(5, 5 + 4 * 7);
      const out = new Float32Array(7).fill(1);
      const expected = definition(g, 4, 7, out);
      addColumnSums(g, 4, 7, out);
      expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      expect(() => addColumnSums(g, 5, 7, out)).toThrow(
        'column sums: a 5 x 7 gradient and 7 sums, but an operand holds fewer values; give arrays of those lengths',
      );
    });
  });
});
