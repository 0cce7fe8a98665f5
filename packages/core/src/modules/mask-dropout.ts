import { applyMask, dropout } from '../ops/dropout.js';
import { applyBroadcastMask, noiseUnitIndex } from '../ops/noise-shape.js';
import { layerMaskKey } from '../random/mask.js';
import { formatShape, sizeOf, type Tensor } from '../tensor.js';
import { KeyedDropout } from './keyed-dropout.js';
import type { ForwardContext } from './module.js';

/** Which mask unit each element of a sample belongs to, for samples of one shape. */
interface MaskLayout {
  readonly sampleShape: string;
  /** Undefined: every element is its own unit. */
  readonly noise: { readonly unitOf: Uint32Array; readonly units: number } | undefined;
}

/**
 * Dropout that keeps or drops whole mask units: a thin module over the pure `dropout()`, with the
 * layer's rate, scaling, mask key and buffers. Subclasses say which elements of a sample share a
 * unit (`maskShape`, Keras' noise_shape): element dropout, a `noiseShape`, whole feature maps.
 */
export abstract class MaskDropout extends KeyedDropout {
  private layout: MaskLayout | null = null;

  /** The per-sample shape of the mask for samples of `sampleShape`; null for one unit per element. */
  protected abstract maskShape(sampleShape: readonly number[]): readonly number[] | null;

  override forward(input: Tensor, context: ForwardContext): Tensor {
    const rows = input.shape[0] ?? 0;
    const { output } = dropout(input, this.p, {
      training: this.training,
      scaling: this.scaling,
      key: layerMaskKey(context.key, this.path),
      step: context.step,
      samples: context.samples,
      noise: this.layoutOf(input.shape.slice(1)).noise,
      out: this.outputs.take(input.data.length),
      mask: this.training ? this.takeMultipliers(rows * this.unitsPerSample(input.shape)) : undefined,
    });
    this.trainedForward = this.training;
    return output;
  }

  protected unitsPerSample(shape: readonly number[]): number {
    const sampleShape = shape.slice(1);
    return sizeOf(this.maskShape(sampleShape) ?? sampleShape);
  }

  protected applyMultipliers(x: Float32Array, out: Float32Array): void {
    const noise = this.layout?.noise;
    if (noise === undefined) applyMask(x, this.multipliers.subarray(0, x.length), out);
    else applyBroadcastMask(x, this.multipliers, noise.unitOf, noise.units, out);
  }

  private layoutOf(sampleShape: readonly number[]): MaskLayout {
    const key = formatShape(sampleShape);
    if (this.layout?.sampleShape !== key) {
      const maskShape = this.maskShape(sampleShape);
      const noise = maskShape === null ? undefined : { unitOf: noiseUnitIndex(sampleShape, maskShape, this.describe()), units: sizeOf(maskShape) };
      this.layout = { sampleShape: key, noise };
    }
    return this.layout;
  }
}
