import { afterEach, describe, expect, it } from 'vitest';
import { matmul, nativeMatmulIsa, rowMajor, runningProduct, runningSumsLength, transposed, useKernel, useKernelMemory, useNativeMatmul, type KernelChoice, type MatrixView } from '@lockstep/core';
import { loadNativeKernels, useNativeKernels } from '@lockstep/native';

const native = loadNativeKernels();
const available = 'kernels' in native;

/** A deterministic mix of magnitudes, signs and float32 subnormals, so any reordering or flushing shows. */
function values(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length }, (_, i) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const unit = state / 2 ** 32 - 0.5;
    return i % 97 === 0 ? unit * 1e-39 : i % 13 === 0 ? unit * 1e4 : unit;
  });
}

type Product = { a: MatrixView; b: MatrixView; m: number; k: number; n: number; bias: Float32Array | null; accumulate: Float32Array | null };

/** The product's bits on the calling thread's current kernels. */
function bitsOf({ a, b, m, k, n, bias, accumulate }: Product): Uint32Array {
  const out = accumulate === null ? new Float32Array(m * n) : accumulate.slice();
  matmul(a, b, m, k, n, out, { bias, accumulate: accumulate !== null });
  return new Uint32Array(out.buffer);
}

function product(m: number, k: number, n: number, seed: number): Product {
  // Alternate the operands' layouts, as dense layers use them: X W^T, G^T X and G W.
  const a = seed % 2 === 0 ? rowMajor(values(m * k, seed), k) : transposed(values(m * k, seed), m);
  const b = seed % 3 === 0 ? rowMajor(values(k * n, seed + 1), n) : transposed(values(k * n, seed + 1), k);
  return { a, b, m, k, n, bias: seed % 4 === 1 ? values(n, seed + 2) : null, accumulate: seed % 5 === 2 ? values(m * n, seed + 3) : null };
}

// Rows around the kernel's 4- and 8-row blocks, columns around its 8-, 16-, 32- and 128-column ones,
// and sums around its 256-step blocks.
const ROWS = [1, 3, 4, 5, 8, 12, 13, 64, 100];
const COLUMNS = [1, 7, 8, 9, 16, 24, 31, 32, 33, 40, 100, 128, 129, 200, 300];
const STEPS = [1, 2, 9, 255, 256, 257, 600];
const SHAPES = Array.from({ length: 70 }, (_, i) => [ROWS[i % ROWS.length], STEPS[(i * 3) % STEPS.length], COLUMNS[(i * 7) % COLUMNS.length]] as const);

describe.skipIf(!available)('@lockstep/native matrix kernels', () => {
  afterEach(() => {
    useNativeMatmul(null);
    useKernel('strict');
    useKernelMemory(null);
  });

  it('useNativeKernels() puts the thread on them and names the instruction set', () => {
    expect(nativeMatmulIsa()).toBeNull();
    const isa = useNativeKernels();
    expect(['avx512', 'avx2']).toContain(isa);
    expect(nativeMatmulIsa()).toBe(isa);
  });

  it('lists the kernels of every instruction set this CPU has, the widest first', () => {
    if (!('kernels' in native)) return;
    expect(native.variants.map(({ isa }) => isa)).toEqual(native.kernels.isa === 'avx512' ? ['avx512', 'avx2'] : ['avx2']);
    expect(native.variants[0]).toBe(native.kernels);
  });

  const variants = 'kernels' in native ? native.variants : [];
  for (const variant of variants) {
    for (const kernel of ['strict', 'relaxed'] as KernelChoice[]) {
      it(`${variant.isa} ${kernel}: every one of ${SHAPES.length} products, with bias or accumulation, has the WebAssembly kernel's bits`, () => {
        useKernel(kernel);
        let compared = 0;
        SHAPES.forEach(([m, k, n], seed) => {
          const operands = product(m, k, n, seed);
          useNativeMatmul(null);
          const wasm = bitsOf(operands);
          useNativeMatmul(variant);
          expect(bitsOf(operands), `${m} x ${k} x ${n}`).toEqual(wasm);
          compared += wasm.length;
        });
        expect(compared).toBeGreaterThan(100_000);
      });

      it(`${variant.isa} ${kernel}: running sums carried over parts of the steps, an empty part among them, have the WebAssembly kernel's bits`, () => {
        useKernel(kernel);
        const [m, k, n] = [13, 700, 21];
        const aT = values(k * m, 3);
        const b = values(k * n, 4);
        const sumsBits = (): Uint32Array => {
          const sums = new Float32Array(runningSumsLength(m, n));
          const bounds = [0, 255, 255, 256, 600, 700];
          for (let part = 0; part + 1 < bounds.length; part++) {
            const [from, to] = [bounds[part]!, bounds[part + 1]!];
            runningProduct(transposed(aT.subarray(from * m, to * m), m), rowMajor(b.subarray(from * n, to * n), n), m, to - from, n, sums, part === 0);
          }
          return new Uint32Array(sums.buffer);
        };
        useNativeMatmul(null);
        const wasm = sumsBits();
        useNativeMatmul(variant);
        expect(sumsBits()).toEqual(wasm);
      });
    }
  }

  it('in a shared kernel memory (a trainer worker\'s), operands read and written in place', () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096, shared: true });
    useKernelMemory(memory as unknown as Parameters<typeof useKernelMemory>[0]);
    const operands = product(64, 784, 512, 7);
    useNativeMatmul(null);
    const wasm = bitsOf(operands);
    useNativeKernels();
    expect(bitsOf(operands)).toEqual(wasm);
  });

  it('a call outside what the WebAssembly kernel takes is refused with one line, touching nothing', () => {
    if (!('kernels' in native)) return;
    const memory = new Float32Array(64).fill(2);
    const call = (...args: number[]) => () => native.kernels.matmul(memory, args[0], args[1], args[2], args[3], args[4], args[5], false, false);
    expect(call(0, 0, 160, 4, 4, 8)).toThrow(new RangeError("matmul: an operand reaches past the memory's end"));
    expect(call(0, 0, 0, 3, 1, 8)).toThrow(new RangeError('matmul: m must be a multiple of 4 and n of 8'));
    expect(call(2, 0, 0, 4, 1, 8)).toThrow(new RangeError('matmul: offsets must be multiples of 4 bytes'));
    expect(call(-4, 0, 0, 4, 1, 8)).toThrow(new RangeError('matmul: offsets and sizes must be non-negative integers'));
    expect(() => (native.kernels.matmul as (...args: unknown[]) => void)(new Float64Array(8), 0, 0, 0, 4, 1, 8, false, false)).toThrow(new RangeError('matmul: the memory must be a Float32Array'));
    const untyped = native.kernels.matmul as (...args: unknown[]) => void;
    expect(() => untyped(memory, 0, 0, 0, 4, 1, 8, false)).toThrow(new RangeError('matmul: expected 9 arguments'));
    expect(() => untyped(memory, 0, 0, 0, 4, 1, 8, false, 1)).toThrow(new RangeError('matmul: the last two arguments (fused, carry) must be booleans'));
    expect(memory.every((value) => value === 2)).toBe(true);
  });

  it('pack refuses a width the kernels do not use, and operands past the memory, touching nothing', () => {
    if (!('kernels' in native)) return;
    const memory = new Float32Array(64).fill(2);
    // pack(memory, src, lines, k, width, lineStride, stepStride, dst)
    const call = (...args: number[]) => () => native.kernels.pack(memory, args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
    expect(call(0, 8, 4, 16, 1, 8, 0)).toThrow(new RangeError('pack: width must be 4 or 8'));
    expect(call(0, 8, 4, 8, 1, 8, 160)).toThrow(new RangeError("pack: an operand reaches past the memory's end"));
    expect(call(0, 8, 9, 8, 1, 8, 0)).toThrow(new RangeError("pack: an operand reaches past the memory's end"));
    expect(call(6, 8, 4, 8, 1, 8, 0)).toThrow(new RangeError('pack: offsets must be multiples of 4 bytes'));
    expect(memory.every((value) => value === 2)).toBe(true);
  });
});

// Says in the report why the tests above did not run.
if (!available) it.skip(`skipped: ${'unavailable' in native ? native.unavailable : ''}`);
