import { afterEach, describe, expect, it } from 'vitest';
import {
  activeKernel,
  addKernelBuffer,
  addRunningSums,
  kernelMemory,
  matmul,
  rowMajor,
  runningProduct,
  runningSumsLength,
  transposed,
  useKernel,
  useKernelMemory,
  withParametersFixed,
  type MatrixView,
} from '@lockstep/core';
import { kernelFloats } from '../src/wasm/kernel-memory.js';
import { Scratch } from '../src/tensor.js';

afterEach(() => useKernel('strict'));

const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);

/** The product in float64, one sum per element in index order. */
function reference(a: MatrixView, b: MatrixView, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a.data[i * a.rowStride + p * a.colStride] * b.data[p * b.rowStride + j * b.colStride];
      out[i * n + j] = sum;
    }
  }
  return out;
}

describe('matrix-product kernels', () => {
  // Odd sizes exercise the padded edges of the 4 x 8 blocks and the scalar tail of the copy out.
  const [m, k, n] = [37, 53, 29];
  const a = values(m * k, 1);
  const w = values(n * k, 2);

  it.each(['strict', 'relaxed'] as const)('%s: X W^T with bias and accumulation matches a float64 product to 1e-5', (kernel) => {
    useKernel(kernel);
    expect(activeKernel()).toBe(kernel);
    const bias = values(n, 3);
    const out = new Float32Array(m * n);
    matmul(rowMajor(a, k), transposed(w, k), m, k, n, out, { bias });
    const exact = reference(rowMajor(a, k), transposed(w, k), m, k, n);
    out.forEach((v, i) => expect(Math.abs(v - (exact[i]! + bias[i % n]!))).toBeLessThan(1e-5));
    const again = out.slice();
    matmul(rowMajor(a, k), transposed(w, k), m, k, n, again, { accumulate: true });
    again.forEach((v, i) => expect(Math.abs(v - (2 * exact[i]! + bias[i % n]!))).toBeLessThan(2e-5));
  });

  it('each kernel repeats its bits exactly; the relaxed one fuses multiply-adds, so its bits differ from the strict one', () => {
    const product = (kernel: 'strict' | 'relaxed'): Float32Array => {
      useKernel(kernel);
      const out = new Float32Array(m * n);
      matmul(rowMajor(a, k), transposed(w, k), m, k, n, out);
      return out;
    };
    const strict = product('strict');
    const relaxed = product('relaxed');
    expect(product('strict')).toEqual(strict);
    expect(product('relaxed')).toEqual(relaxed);
    expect(relaxed.some((v, i) => v !== strict[i])).toBe(true);
  });

  /** Fails at the first element of `out` (m x n) that is not the scalar definition's float32 sum. */
  function expectDefinitionBits(out: Float32Array, left: MatrixView, right: MatrixView, m: number, k: number, n: number, what: string): void {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          sum = Math.fround(sum + Math.fround(left.data[i * left.rowStride + p * left.colStride]! * right.data[p * right.rowStride + j * right.colStride]!));
        }
        if (!Object.is(out[i * n + j], sum)) expect.fail(`${what}: element (${i}, ${j}) is ${out[i * n + j]}, the definition gives ${sum}`);
      }
    }
  }

  // The second shape's p runs over three of the kernel's blocks of 256 steps, the last one short.
  it.each([
    [37, 53, 29],
    [9, 600, 13],
  ])('strict: every operand layout gives the bits of the scalar definition (one float32 sum per element, p in order, mul then add): %i x %i times %i x %i', (m, k, n) => {
    const b = values(k * n, 4);
    const bT = values(n * k, 2);
    const layouts = {
      'A, B': [rowMajor(values(m * k, 1), k), rowMajor(b, n)],
      'A, B^T': [rowMajor(values(m * k, 1), k), transposed(bT, k)],
      'A^T, B': [transposed(values(k * m, 5), m), rowMajor(b, n)],
      'A^T, B^T': [transposed(values(k * m, 5), m), transposed(bT, k)],
    } as const;
    for (const [layout, [left, right]] of Object.entries(layouts)) {
      const out = new Float32Array(m * n);
      matmul(left, right, m, k, n, out);
      expectDefinitionBits(out, left, right, m, k, n, layout);
    }
  });

  it('strict: a product with whole 4 x 8 blocks, stored as it is into an output in a shared memory, is written straight there with the same bits, and nothing past it', () => {
    const [rows, steps, columns] = [12, 300, 16];
    const memory = kernelMemory(1 << 16, 'a test memory', 1 << 26);
    const left = rowMajor(values(rows * steps, 8), steps);
    const right = transposed(values(columns * steps, 9), steps);
    const out = new Float32Array(memory.buffer, 0, rows * columns);
    const after = new Float32Array(memory.buffer, 4 * rows * columns, 64).fill(7);
    try {
      useKernelMemory(memory, [memory.buffer]);
      matmul(left, right, rows, steps, columns, out);
    } finally {
      useKernelMemory(null);
    }
    expectDefinitionBits(out, left, right, rows, steps, columns, 'in place');
    expect(after.every((v) => v === 7)).toBe(true);
  });

  it.each(['strict', 'relaxed'] as const)(
    "%s: in a shared memory (useKernelMemory), operands and outputs are used in place, scratch is appended, and the bits are the same",
    (kernel) => {
      useKernel(kernel);
      const bias = values(n, 3);
      const gradient = values(n * k, 4);
      const g = values(m * n, 5);
      const copied = { out: new Float32Array(m * n), gradient: gradient.slice() };
      matmul(rowMajor(a, k), transposed(w, k), m, k, n, copied.out, { bias });
      matmul(transposed(g, n), rowMajor(a, k), n, m, k, copied.gradient, { accumulate: true });

      const memory = kernelMemory(1 << 16, 'a test memory', 1 << 26);
      const buffer = memory.buffer;
      const place = (data: Float32Array, floatOffset: number): Float32Array => {
        const view = new Float32Array(buffer, 4 * floatOffset, data.length);
        view.set(data);
        return view;
      };
      const shared = { w: place(w, 0), bias: place(bias, 2048), gradient: place(gradient, 2112), out: place(new Float32Array(m * n), 3712) };
      const sentinel = place(new Float32Array(256).fill(7), 8192);
      const size = buffer.byteLength;
      try {
        useKernelMemory(memory, [buffer]);
        matmul(rowMajor(a, k), transposed(shared.w, k), m, k, n, shared.out, { bias: shared.bias });
        matmul(transposed(g, n), rowMajor(a, k), n, m, k, shared.gradient, { accumulate: true });
      } finally {
        useKernelMemory(null);
      }
      expect(Buffer.from(shared.out.slice().buffer).equals(Buffer.from(copied.out.buffer))).toBe(true);
      expect(Buffer.from(shared.gradient.slice().buffer).equals(Buffer.from(copied.gradient.buffer))).toBe(true);
      expect(sentinel.every((v) => v === 7)).toBe(true);
      expect(memory.buffer.byteLength).toBeGreaterThan(size);
    },
  );

  describe('runningProduct', () => {
    // A conv's weight gradient, G^T X, summed over a chunk's positions in blocks of samples.
    const [outputs, positions, patch] = [13, 700, 21];
    const g = values(positions * outputs, 12);
    const x = values(positions * patch, 13);
    const wholeGradient = (): Float32Array => {
      const out = values(outputs * patch, 14);
      matmul(transposed(g, outputs), rowMajor(x, patch), outputs, positions, patch, out, { accumulate: true });
      return out;
    };
    /** The same gradient from running sums over the positions cut at `cuts`, kept in `sums`. */
    const partsGradient = (cuts: readonly number[], sums: Float32Array): Float32Array => {
      const bounds = [0, ...cuts, positions];
      for (let part = 0; part + 1 < bounds.length; part++) {
        const [from, to] = [bounds[part]!, bounds[part + 1]!];
        const rows = g.subarray(from * outputs, to * outputs);
        runningProduct(transposed(rows, outputs), rowMajor(x.subarray(from * patch, to * patch), patch), outputs, to - from, patch, sums, part === 0);
      }
      const out = values(outputs * patch, 14);
      addRunningSums(sums, outputs, patch, out);
      return out;
    };
    const bits = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    // Parts inside one of the kernel's 256-step blocks, across them, of one step, of none, and one part alone.
    const CUTS = [[1], [100, 200, 300, 400, 500, 600], [255, 256, 257], [3, 511, 699], [0, 300, 300], []];

    it.each(['strict', 'relaxed'] as const)('%s: the parts, in order, give the bits of one product over every step, then of its accumulation', (kernel) => {
      useKernel(kernel);
      const expected = bits(wholeGradient());
      expect(runningSumsLength(outputs, patch)).toBe(16 * 24);
      for (const cuts of CUTS) expect(bits(partsGradient(cuts, new Float32Array(runningSumsLength(outputs, patch)).fill(Number.NaN))).equals(expected), `cuts ${cuts}`).toBe(true);
    });

    it('sums in a shared kernel memory are carried in place, with the same bits', () => {
      const expected = bits(wholeGradient());
      const memory = kernelMemory(1 << 16, 'a test memory', 1 << 26);
      const sums = new Float32Array(memory.buffer, 0, runningSumsLength(outputs, patch));
      try {
        useKernelMemory(memory, [memory.buffer]);
        expect(bits(partsGradient([255, 256, 257], sums)).equals(expected)).toBe(true);
      } finally {
        useKernelMemory(null);
      }
    });

    it('sums too short for the padded product are refused with the size to give', () => {
      expect(() => runningProduct(transposed(g, outputs), rowMajor(x, patch), outputs, positions, patch, new Float32Array(outputs * patch), true)).toThrow(
        'running product: 13 x 21 sums take 384 floats, got 273; size them with runningSumsLength',
      );
    });
  });

  describe('withParametersFixed', () => {
    const forward = (x: Float32Array, weights: Float32Array, bIsParameter: boolean): Float32Array => {
      const out = new Float32Array(m * n);
      matmul(rowMajor(x, k), transposed(weights, k), m, k, n, out, { bIsParameter });
      return out;
    };
    const bits = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

    it.each(['strict', 'relaxed'] as const)('%s: a parameter is packed once per scope, and the products keep their bits', (kernel) => {
      useKernel(kernel);
      const x2 = values(m * k, 7);
      const weights = w.slice();
      const expected = [forward(a, weights, false), forward(x2, weights, false)];
      const seen = withParametersFixed(() => {
        const first = [forward(a, weights, true), forward(x2, weights, true)];
        // Changing a fixed parameter breaks the promise; it shows the kept panels are what is multiplied.
        weights.fill(0);
        return [...first, forward(a, weights, true)];
      });
      expect(bits(seen[0]!).equals(bits(expected[0]!))).toBe(true);
      expect(bits(seen[1]!).equals(bits(expected[1]!))).toBe(true);
      expect(bits(seen[2]!).equals(bits(expected[0]!))).toBe(true);
      // Outside the scope the panels are packed again, from the values the parameter holds now.
      expect(forward(a, weights, true).every((v) => v === 0)).toBe(true);
    });

    it('panels are kept per parameter: the same offset and shape in another buffer, or another view, is packed on its own', () => {
      const other = values(n * k, 9);
      const params = new Float32Array(2 * n * k);
      params.set(w, 0);
      params.set(other, n * k);
      const views = [params.subarray(0, n * k), params.subarray(n * k)];
      const expected = [forward(a, w, false), forward(a, other, false)];
      const seen = withParametersFixed(() => [forward(a, w, true), forward(a, other, true), forward(a, views[0]!, true), forward(a, views[1]!, true)]);
      expect(seen.map((out) => bits(out).equals(bits(expected[0]!)))).toEqual([true, false, true, false]);
      expect(seen.map((out) => bits(out).equals(bits(expected[1]!)))).toEqual([false, true, false, true]);
    });

    it('without bIsParameter nothing is kept: an activation in a reused buffer is packed at every product', () => {
      const activations = w.slice();
      const expected = forward(a, values(n * k, 11), false);
      const seen = withParametersFixed(() => {
        forward(a, activations, false);
        activations.set(values(n * k, 11));
        return forward(a, activations, false);
      });
      expect(bits(seen).equals(bits(expected))).toBe(true);
    });

    it('in a shared memory whose scratch moves to a larger region, the kept panels are packed again there', () => {
      const memory = kernelMemory(1 << 16, 'a test memory', 1 << 26);
      const weights = new Float32Array(memory.buffer, 0, n * k);
      weights.set(w);
      const big = 64;
      const xBig = values(big * 4 * k, 13);
      const expected = { small: forward(a, w, false), big: new Float32Array(big * 4 * n) };
      matmul(rowMajor(xBig, k), transposed(w, k), big * 4, k, n, expected.big);
      const seen = { small: new Float32Array(m * n), big: new Float32Array(big * 4 * n), again: new Float32Array(m * n) };
      const size = memory.buffer.byteLength;
      try {
        useKernelMemory(memory, [memory.buffer]);
        withParametersFixed(() => {
          matmul(rowMajor(a, k), transposed(weights, k), m, k, n, seen.small, { bIsParameter: true });
          matmul(rowMajor(xBig, k), transposed(weights, k), big * 4, k, n, seen.big, { bIsParameter: true });
          matmul(rowMajor(a, k), transposed(weights, k), m, k, n, seen.again, { bIsParameter: true });
        });
      } finally {
        useKernelMemory(null);
      }
      expect(memory.buffer.byteLength).toBeGreaterThan(size);
      expect(bits(seen.small).equals(bits(expected.small))).toBe(true);
      expect(bits(seen.big).equals(bits(expected.big))).toBe(true);
      expect(bits(seen.again).equals(bits(expected.small))).toBe(true);
    });

    it('scopes nest, and a scope that throws still ends', () => {
      const weights = w.slice();
      const expected = forward(a, w, false);
      expect(() =>
        withParametersFixed(() => {
          forward(a, weights, true);
          withParametersFixed(() => forward(a, weights, true));
          weights.fill(0);
          // Still inside the outer scope: the panels of the first product are kept.
          expect(bits(forward(a, weights, true)).equals(bits(expected))).toBe(true);
          throw new Error('thrown inside');
        }),
      ).toThrow('thrown inside');
      expect(forward(a, weights, true).every((v) => v === 0)).toBe(true);
    });
  });

  it('kernelFloats: with a kernel memory, zeroed floats in a new region of it that products write in place; without one, an ordinary array', () => {
    const expected = new Float32Array(m * n);
    matmul(rowMajor(a, k), transposed(w, k), m, k, n, expected);
    expect(kernelFloats(3)).toEqual(new Float32Array(3));
    expect(kernelFloats(3).buffer).toBeInstanceOf(ArrayBuffer);
    const memory = kernelMemory(1 << 16, 'a test memory', 1 << 26);
    const size = memory.buffer.byteLength;
    try {
      useKernelMemory(memory);
      const out = kernelFloats(m * n);
      const second = kernelFloats(5);
      expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(out.byteOffset).toBe(size);
      expect(second.byteOffset).toBeGreaterThanOrEqual(out.byteOffset + out.byteLength);
      expect(out.every((v) => v === 0)).toBe(true);
      matmul(rowMajor(a, k), transposed(w, k), m, k, n, out);
      expect(Buffer.from(out.slice().buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      const scratch = new Scratch().take(4);
      expect(scratch.buffer).toBeInstanceOf(SharedArrayBuffer);
    } finally {
      useKernelMemory(null);
    }
  });

  it('refuses a kernel buffer before a kernel memory, in one line', () => {
    expect(() => addKernelBuffer(new SharedArrayBuffer(16))).toThrow('addKernelBuffer: call useKernelMemory first, with the memory this buffer belongs to');
  });

  it('rejects an unknown kernel in one line', () => {
    expect(() => useKernel('fast' as 'strict')).toThrow("kernel must be one of 'strict', 'relaxed', got \"fast\"");
  });
});
