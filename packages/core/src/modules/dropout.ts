import { checkOptionsObject } from '../errors.js';
import { checkNoiseShape, checkNoiseShapeFits } from '../ops/noise-shape.js';
import { DropConnectLinear } from './drop-connect.js';
import { KeyedDropout, type KeyedDropoutOptions } from './keyed-dropout.js';
import { MaskDropout } from './mask-dropout.js';
import type { Module } from './module.js';
import type { LayerFactory } from '../layer-registry.js';
import type { DropoutScaling } from '../ops/dropout.js';

export interface DropoutLayerOptions extends KeyedDropoutOptions {
  /**
   * The per-sample shape of the mask (Keras' noise_shape): each entry the sample's size on that axis,
   * or 1 to share one decision along it. Default: the sample's shape, one decision per element.
   */
  noiseShape?: readonly number[];
}

/**
 * Drops each unit with probability p while training, with a fresh keyed mask per step and sample.
 * Every element of a sample is a unit, whatever the sample's shape, unless `noiseShape` makes several
 * elements share one unit.
 */
export class Dropout extends MaskDropout {
  readonly kind = 'Dropout';
  readonly noiseShape: readonly number[] | null;

  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super('Dropout', p, checkOptionsObject('Dropout options', options, '(scaling, noiseShape)'));
    this.noiseShape = options.noiseShape === undefined ? null : checkNoiseShape(options.noiseShape, 'Dropout');
  }

  override toSpec(): DropoutSpec {
    const { p, scaling, noiseShape } = this;
    return noiseShape === null ? { type: 'dropout', p, scaling } : { type: 'dropout', p, scaling, noiseShape: [...noiseShape] };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (this.noiseShape !== null) checkNoiseShapeFits(this.noiseShape, inputShape, this.describe());
    return [...inputShape];
  }

  protected maskShape(): readonly number[] | null {
    return this.noiseShape;
  }
}

export type DropoutSpec = { type: 'dropout'; p: number; scaling?: DropoutScaling; noiseShape?: number[] };

export const dropoutLayer: LayerFactory<DropoutSpec> = {
  type: 'dropout',
  fields: { required: { p: 'number' }, optional: { scaling: 'scaling', noiseShape: 'shape' } },
  fromSpec: (entry) => new Dropout(entry.p, { scaling: entry.scaling ?? 'inverted', noiseShape: entry.noiseShape }),
};

/** Monte Carlo dropout: dropout layers (DropConnect included) in training mode, every other layer in eval mode. */
export function trainDropoutOnly(root: Module): void {
  root.eval();
  const visit = (module: Module): void => {
    if (module instanceof KeyedDropout || module instanceof DropConnectLinear) module.train();
    module.children().forEach(visit);
  };
  visit(root);
}
