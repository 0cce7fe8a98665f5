import { sizeOf, type Tensor } from '../tensor.js';
import type { LayerFactory } from '../layer-registry.js';
import { Module } from './module.js';

/** Reshapes each sample to one dimension, without copying. */
export class Flatten extends Module {
  readonly kind = 'Flatten';
  private inputShape: readonly number[] = [];

  override toSpec(): FlattenSpec {
    return { type: 'flatten' };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [sizeOf(inputShape)];
  }

  override forward(input: Tensor): Tensor {
    this.inputShape = input.shape;
    const rows = input.shape[0] ?? 0;
    return { data: input.data, shape: [rows, sizeOf(input.shape.slice(1))] };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? { data: gradOutput.data, shape: this.inputShape } : null;
  }
}

export type FlattenSpec = { type: 'flatten' };

export const flattenLayer: LayerFactory<FlattenSpec> = { type: 'flatten', fields: {}, fromSpec: () => new Flatten() };
