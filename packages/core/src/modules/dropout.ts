import { applyMask } from '../ops/dropout.js';
import { sizeOf } from '../tensor.js';
import { KeyedDropout, type DropoutLayerOptions } from './keyed-dropout.js';
import type { Module } from './module.js';

export type { DropoutLayerOptions } from './keyed-dropout.js';

/**
 * Drops each unit with probability p while training, with a fresh keyed mask per step and sample.
 * Every element of a sample is a unit, whatever the sample's shape.
 */
export class Dropout extends KeyedDropout {
  readonly kind = 'Dropout';

  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super('Dropout', p, options);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  protected unitsPerSample(shape: readonly number[]): number {
    return sizeOf(shape.slice(1));
  }

  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    applyMask(x, this.multipliers.subarray(0, x.length), out);
  }
}

/** Monte Carlo dropout: dropout layers in training mode, every other layer in eval mode. */
export function trainDropoutOnly(root: Module): void {
  root.eval();
  const visit = (module: Module): void => {
    if (module instanceof KeyedDropout) module.train();
    module.children().forEach(visit);
  };
  visit(root);
}
