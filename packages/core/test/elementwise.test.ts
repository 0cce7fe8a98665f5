import { describe, expect, it } from 'vitest';
import { reluGradientInto, reluInto, multiplyInto } from '../src/ops/elementwise.js';

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
});
