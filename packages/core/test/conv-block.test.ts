import { describe, expect, it } from 'vitest';
import { Conv2d, dropoutRunKey, Model, Module, ReLU, sequentialFromSpec, Sequential, type Tensor } from '@lockstep/core';

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

/**
 * The model's output, input gradient and parameter gradients: through its Sequential, and one layer at
 * a time; and how many convs the Sequential ran with their ReLU.
 */
function fusedAndLayered(model: Model, layers: readonly Module[], samples: number): [Buffer[], Buffer[], number] {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: samples * size }, (_, i) => Math.sin(i * 0.71) * 2);
  const context = { key: dropoutRunKey(0), step: 0, samples: Array.from({ length: samples }, (_, i) => i) };
  const input = { data: x, shape: [samples, ...model.inputShape] };
  const gradientOf = (y: Tensor): Tensor => ({ data: Float32Array.from(y.data, (_, i) => Math.cos(i * 0.37)), shape: y.shape });
  model.train();
  model.grads.fill(0);
  const y = model.forward(input, context);
  const rectifying = layers.filter((layer) => layer instanceof Conv2d && layer.rectifies).length;
  const fused = [bytes(y.data.slice()), bytes(model.backward(gradientOf(y), { inputGradient: true })!.data.slice()), bytes(model.grads.slice())];
  model.grads.fill(0);
  let z: Tensor = input;
  for (const layer of layers) z = layer.forward(z, context);
  let g: Tensor = gradientOf(z);
  const out = z.data.slice();
  for (let i = layers.length - 1; i >= 0; i--) g = layers[i]!.backward(g, true)!;
  return [fused, [bytes(out), bytes(g.data.slice()), bytes(model.grads.slice())], rectifying];
}

describe('a Conv2d with the ReLU and max pool after it runs fused', () => {
  // Planes of 8 x 8 go through the transposes in 4 x 4 blocks, planes of 9 x 7 one value at a time;
  // 3 x 3 pools of stride 2 overlap, so some input gradients are sums of several outputs' terms.
  it.each([
    [[2, 8, 8], 2, { type: 'max-pool2d', kernelSize: 2 }],
    [[4, 9, 7], 1, { type: 'max-pool2d', kernelSize: 2 }],
    [[2, 8, 8], 1, { type: 'max-pool2d', kernelSize: 3, stride: 2, padding: 1 }],
  ])('with the bits of the layers run one at a time, forward and backward: samples %j, groups %i, %j', (inputShape, groups, pool) => {
    const module = sequentialFromSpec({
      input: inputShape,
      layers: [
        { type: 'conv2d', out: 8, kernelSize: 3, padding: 1, groups },
        { type: 'relu' },
        pool as { type: 'max-pool2d'; kernelSize: number },
        { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
        { type: 'max-pool2d', kernelSize: 2 },
        { type: 'conv2d', out: 4, kernelSize: 1 },
        { type: 'relu' },
        { type: 'relu' },
        { type: 'flatten' },
        { type: 'linear', out: 3 },
      ],
    });
    const model = new Model(module, inputShape).initialize(1);
    const [fused, layered, rectifying] = fusedAndLayered(model, module.layers, 5);
    expect(rectifying).toBe(2);
    fused.forEach((b, i) => expect(b.equals(layered[i]!)).toBe(true));
    expect((module.layers[0] as Conv2d).rectifies).toBe(false);
    // After a forward pass one layer at a time (the non-finite replay), the model's backward is the layers' own.
    const again = fusedAndLayered(model, module.layers, 5)[1];
    model.grads.fill(0);
    const g = model.backward({ data: Float32Array.from({ length: 15 }, (_, i) => Math.cos(i * 0.37)), shape: [5, 3] }, { inputGradient: true })!;
    expect(bytes(g.data).equals(again[1]!)).toBe(true);
    expect(bytes(model.grads).equals(again[2]!)).toBe(true);
  });

  it('a conv alone, or a subclass of either layer, is left as it is', () => {
    class Doubled extends ReLU {
      override forward(input: Tensor): Tensor {
        const y = super.forward(input);
        return { data: y.data.map((v) => 2 * v), shape: y.shape };
      }
    }
    const conv = new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1, bias: false });
    const model = new Model(new Sequential(conv, new Doubled()), [1, 2, 2]).initialize(0);
    model.params.set([1, -1]);
    const y = model.forward(new Float32Array([1, -2, 3, -4]));
    expect(Array.from(y.data)).toEqual([2, 0, 6, 0, 0, 4, 0, 8]);
    expect(conv.rectifies).toBe(false);
    expect(Array.from(conv.forward({ data: new Float32Array([1, -2, 3, -4]), shape: [1, 1, 2, 2] }).data)).toEqual([1, -2, 3, -4, -1, 2, -3, 4]);
  });
});
