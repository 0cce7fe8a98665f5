import { afterEach, describe, expect, it } from 'vitest';
import { activeKernel, addKernelBuffer, kernelMemory, matmul, rowMajor, transposed, useKernel, useKernelMemory, type MatrixView } from '../src/index.js';

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

  it('strict: every operand layout gives the bits of the scalar definition (one float32 sum per element, p in order, mul then add)', () => {
    const b = values(k * n, 4);
    const layouts = {
      'A, B': [rowMajor(a, k), rowMajor(b, n)],
      'A, B^T': [rowMajor(a, k), transposed(w, k)],
      'A^T, B': [transposed(values(k * m, 5), m), rowMajor(b, n)],
      'A^T, B^T': [transposed(values(k * m, 5), m), transposed(w, k)],
    } as const;
    for (const [layout, [left, right]] of Object.entries(layouts)) {
      const out = new Float32Array(m * n);
      matmul(left, right, m, k, n, out);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) {
            sum = Math.fround(sum + Math.fround(left.data[i * left.rowStride + p * left.colStride]! * right.data[p * right.rowStride + j * right.colStride]!));
          }
          if (!Object.is(out[i * n + j], sum)) expect.fail(`${layout}: element (${i}, ${j}) is ${out[i * n + j]}, the definition gives ${sum}`);
        }
      }
    }
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

      const memory = kernelMemory(1 << 16, 1 << 26);
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

  it('refuses a kernel buffer before a kernel memory, in one line', () => {
    expect(() => addKernelBuffer(new SharedArrayBuffer(16))).toThrow('addKernelBuffer: call useKernelMemory first, with the memory this buffer belongs to');
  });

  it('rejects an unknown kernel in one line', () => {
    expect(() => useKernel('fast' as 'strict')).toThrow("kernel must be one of 'strict', 'relaxed', got \"fast\"");
  });
});
