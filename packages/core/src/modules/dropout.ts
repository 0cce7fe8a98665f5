import { applyMask, dropout } from '../ops/dropout.js';
import { applyBroadcastMask, checkNoiseShape, checkNoiseShapeFits, noiseUnitIndex } from '../ops/noise-shape.js';
import { formatShape, sizeOf, type Tensor } from '../tensor.js';
import { DropConnectLinear } from './drop-connect.js';
import { KeyedDropout, type KeyedDropoutOptions } from './keyed-dropout.js';
import type { ForwardContext, Module } from './module.js';
import type { LayerFactory } from '../layer-registry.js';
import type { DropoutScaling } from '../ops/dropout.js';
import { layerMaskKey } from '../random/mask.js';

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
export class Dropout extends KeyedDropout {
  readonly kind = 'Dropout';
  readonly noiseShape: readonly number[] | null;
  /** With a noiseShape: the mask unit of each element of a sample, for the sample shape of the last forward. */
  private broadcast: { shape: string; unitOf: Uint32Array; units: number } | null = null;

  constructor(p = 0.5, options: DropoutLayerOptions = {}) {
    super('Dropout', p, options);
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

  /** The pure `dropout()`, with this layer's rate, scaling, mask key and buffers. */
  override forward(input: Tensor, context: ForwardContext): Tensor {
    const noiseShape = this.noiseShape;
    if (noiseShape !== null) {
      const sampleShape = input.shape.slice(1);
      const shape = formatShape(sampleShape);
      if (this.broadcast?.shape !== shape) {
        this.broadcast = { shape, unitOf: noiseUnitIndex(sampleShape, noiseShape, this.describe()), units: sizeOf(noiseShape) };
      }
    }
    const rows = input.shape[0] ?? 0;
    const { output } = dropout(input, this.p, {
      training: this.training,
      scaling: this.scaling,
      key: layerMaskKey(context.key, this.path),
      step: context.step,
      samples: context.samples,
      noise: this.broadcast ?? undefined,
      out: this.outputs.take(input.data.length),
      mask: this.training ? this.takeMultipliers(rows * this.unitsPerSample(input.shape)) : undefined,
    });
    this.trainedForward = this.training;
    return output;
  }

  protected unitsPerSample(shape: readonly number[]): number {
    return sizeOf(this.noiseShape ?? shape.slice(1));
  }

  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    if (this.broadcast === null) applyMask(x, this.multipliers.subarray(0, x.length), out);
    else applyBroadcastMask(x, this.multipliers, this.broadcast.unitOf, this.broadcast.units, out);
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
