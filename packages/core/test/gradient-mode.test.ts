import { afterEach, describe, expect, it } from 'vitest';
import { chunkGradient, crossEntropy, DropConnectLinear, Linear, Model, modelFromSpec, Module, ReLU, Sequential, useKernel, useKernelMemory, type KernelChoice, type Tensor } from '@lockstep/core';
import { kernelMemory } from '../src/wasm/memory.js';
import { kernelFloats } from '../src/wasm/kernel-memory.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every layer kind that writes a gradient: Linear and DropConnect weights (set), the rest (added). */
const SPEC = {
  input: [1, 8, 8],
  layers: [
    { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'batch-norm2d' },
    { type: 'flatten' },
    { type: 'linear', out: 24, dropConnect: 0.3 },
    { type: 'layer-norm' },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 16 },
  ],
};
const ROWS = 12;
const inputs = Float32Array.from({ length: ROWS * 64 }, (_, i) => Math.sin(i * 0.37) * (i % 5 === 0 ? 0 : 1));
const outputGradient = Float32Array.from({ length: ROWS * 16 }, (_, i) => Math.cos(i * 0.91) / ROWS);

/** The gradients of one forward and backward of SPEC's model in training mode, written in `mode` into grads that held `start`. */
function gradients(mode: 'add' | 'set', start: number, inKernelMemory = false): Float32Array {
  const model = modelFromSpec(SPEC, 3);
  if (inKernelMemory) model.bind(model.params, kernelFloats(model.size));
  model.grads.fill(start);
  model.train();
  const output = model.forward(inputs, { key: [5, 6], step: 2, samples: Array.from({ length: ROWS }, (_, i) => 40 + i) });
  model.backward({ data: outputGradient, shape: output.shape }, { gradients: mode });
  return model.grads.slice();
}

describe("backward's gradient modes", () => {
  afterEach(() => {
    useKernel('strict');
    useKernelMemory(null);
  });

  it.each(['strict', 'relaxed'] as KernelChoice[])("'set' over any values gives the bits of 'add' over zeros (%s kernel)", (kernel) => {
    useKernel(kernel);
    const added = gradients('add', 0);
    expect(added.some((g) => g !== 0)).toBe(true);
    expect(bytes(gradients('set', Number.NaN)).equals(bytes(added))).toBe(true);
    expect(bytes(gradients('set', -7.5)).equals(bytes(added))).toBe(true);
  });

  it("'set' gives the same bits with the gradients in a kernel memory, where a product goes straight into them", () => {
    const added = gradients('add', 0);
    useKernelMemory(kernelMemory(1 << 20, 'a test memory', 1 << 26));
    expect(bytes(gradients('set', Number.NaN, true)).equals(bytes(added))).toBe(true);
  });

  it("'add' (the default) adds to what the gradients held, and 'set' then replaces it", () => {
    const model = modelFromSpec(SPEC, 3);
    model.train();
    const context = { key: [5, 6] as const, step: 2, samples: Array.from({ length: ROWS }, (_, i) => 40 + i) };
    const once = gradients('add', 0);
    model.grads.fill(0);
    for (let pass = 0; pass < 2; pass++) {
      const output = model.forward(inputs, context);
      model.backward({ data: outputGradient, shape: output.shape });
    }
    // g + g is exact in float32: twice each gradient.
    expect(bytes(model.grads).equals(bytes(once.map((g) => g + g)))).toBe(true);
    const output = model.forward(inputs, context);
    model.backward({ data: outputGradient, shape: output.shape }, { gradients: 'set' });
    expect(bytes(model.grads).equals(bytes(once))).toBe(true);
  });

  it.each(['strict', 'relaxed'] as KernelChoice[])("'set' writes +0, as adding to zeros does, where a weight's gradient is -0 (%s kernel)", (kernel) => {
    useKernel(kernel);
    // Linear: zero inputs times negative output gradients, so every term of every sum is -0.
    // DropConnect: a dropped weight's negative gradient times its mask's 0 is -0.
    const cases = [
      { layer: new Linear({ inFeatures: 4, outFeatures: 8 }), input: 0, output: (_: number) => -1 },
      { layer: new DropConnectLinear({ inFeatures: 4, outFeatures: 8, p: 0.5 }), input: 1, output: (i: number) => (i % 3 === 0 ? 1 : -1) },
    ];
    for (const { layer, input, output } of cases) {
      const model = new Model(new Sequential(layer), [4]).initialize(1);
      model.train();
      const forward = model.forward(new Float32Array(4 * 4).fill(input), { key: [0, 1], step: 0, samples: [0, 1, 2, 3] });
      const gradOutput = { data: Float32Array.from({ length: forward.data.length }, (_, i) => output(i)), shape: forward.shape };
      model.grads.fill(-0);
      model.backward(gradOutput, { gradients: 'set' });
      const weight = layer.weight!.grad;
      expect(weight.some((g) => g === 0)).toBe(true);
      expect(weight.every((g) => g !== 0 || Object.is(g, 0))).toBe(true);
    }
  });

  it("a container that does not pass the mode on gets its children's gradients right: the model zeros them", () => {
    /** A container written before 'set' existed: its backward calls its children's with two arguments. */
    class Twice extends Module {
      readonly kind = 'Twice';
      constructor(private readonly inner: Linear, private readonly passes: boolean) {
        super();
      }
      override children(): readonly Module[] {
        return [this.inner];
      }
      override passesGradientMode(): boolean {
        return this.passes;
      }
      override outputShape(inputShape: readonly number[]): number[] {
        return this.inner.outputShape(inputShape);
      }
      override forward(input: Tensor): Tensor {
        return this.inner.forward(input, { key: [0, 0], step: 0, samples: [] });
      }
      override backward(gradOutput: Tensor, needInputGrad: boolean, gradients?: 'add' | 'set'): Tensor | null {
        return this.passes ? this.inner.backward(gradOutput, needInputGrad, gradients) : this.inner.backward(gradOutput, needInputGrad);
      }
    }
    for (const passes of [false, true]) {
      const build = (): Model => new Model(new Sequential(new Twice(new Linear({ inFeatures: 6, outFeatures: 5 }), passes), new ReLU(), new Linear({ inFeatures: 5, outFeatures: 3 })), [6]).initialize(2);
      const run = (model: Model, mode: 'add' | 'set'): Float32Array => {
        model.train();
        const output = model.forward(Float32Array.from({ length: 4 * 6 }, (_, i) => Math.sin(i)), { key: [1, 1], step: 0, samples: [0, 1, 2, 3] });
        model.backward({ data: Float32Array.from({ length: output.data.length }, (_, i) => Math.cos(i)), shape: output.shape }, { gradients: mode });
        return model.grads.slice();
      };
      const added = run(build(), 'add');
      const garbage = build();
      garbage.grads.fill(Number.NaN);
      expect(bytes(run(garbage, 'set')).equals(bytes(added))).toBe(true);
    }
  });

  it('refuses a mode it does not know, in one line, before it changes a gradient', () => {
    const model = modelFromSpec(SPEC, 3);
    model.grads.fill(1.5);
    const output = model.forward(inputs);
    expect(() => model.backward({ data: outputGradient, shape: output.shape }, { gradients: 'replace' as 'set' })).toThrow(
      `backward: gradients must be one of 'add', 'set', got "replace"`,
    );
    expect(model.grads.every((g) => g === 1.5)).toBe(true);
  });

  it('chunkGradient writes its slot whatever the slot held', () => {
    const model = modelFromSpec(SPEC, 3);
    const chunk = { inputs, targets: { kind: 'classes' as const, labels: Int32Array.from({ length: ROWS }, (_, i) => i % 16), classes: 16 }, samples: Array.from({ length: ROWS }, (_, i) => i) };
    const fromZeros = new Float32Array(model.size);
    const fromGarbage = new Float32Array(model.size).fill(Number.NaN);
    const first = chunkGradient(model, crossEntropy, chunk, 2 * ROWS, 4, [9, 9], fromZeros);
    const second = chunkGradient(model, crossEntropy, chunk, 2 * ROWS, 4, [9, 9], fromGarbage);
    expect(second).toEqual(first);
    expect(fromZeros.some((g) => g !== 0)).toBe(true);
    expect(bytes(fromGarbage).equals(bytes(fromZeros))).toBe(true);
  });
});
