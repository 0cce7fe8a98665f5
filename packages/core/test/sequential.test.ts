import { describe, expect, it } from 'vitest';
import { Flatten, Linear, Model, Module, Sequential, type Tensor } from '@lockstep/core';

/** Passes values through and records each backward call's needInputGrad. */
class Recorder extends Module {
  readonly kind = 'Recorder';
  readonly calls: boolean[] = [];

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    return input;
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    this.calls.push(needInputGrad);
    return needInputGrad ? gradOutput : null;
  }
}

describe('Sequential backward', () => {
  it('asks no layer below the first one with parameters for an input gradient', () => {
    const below = new Recorder();
    const between = new Recorder();
    const first = new Linear({ inFeatures: 6, outFeatures: 4 });
    const module = new Sequential(below, new Flatten(), first, between, new Linear({ inFeatures: 4, outFeatures: 2 }));
    const model = new Model(module, [2, 3]);
    model.initialize(0);
    const output = model.forward(new Float32Array(12).fill(0.5), { key: [0, 0], step: 0, samples: [0, 1] });
    model.backward({ data: new Float32Array(output.data.length).fill(1), shape: output.shape });
    expect(between.calls).toEqual([true]);
    expect(below.calls).toEqual([]);
    // Skipping its input gradient leaves its weight gradient in place.
    expect(first.weight!.grad.some((g) => g !== 0)).toBe(true);
  });

  it('passes the gradient through every layer when the caller needs the input gradient', () => {
    const below = new Recorder();
    const module = new Sequential(below, new Linear({ inFeatures: 3, outFeatures: 2 }));
    const model = new Model(module, [3]);
    model.initialize(0);
    const output = model.forward(new Float32Array(3).fill(1), { key: [0, 0], step: 0, samples: [0] });
    const gradIn = module.backward({ data: new Float32Array(output.data.length).fill(1), shape: output.shape }, true);
    expect(below.calls).toEqual([true]);
    expect(gradIn?.shape).toEqual([1, 3]);
  });
});
