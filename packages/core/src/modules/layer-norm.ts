import { checkOptionsObject, checkPositive, LockstepError } from '../errors.js';
import type { LayerFactory } from '../layer-registry.js';
import { normalizeRows, normalizeRowsBackward } from '../ops/normalization.js';
import { formatShape, Scratch, sizeOf, type Tensor } from '../tensor.js';
import { Module, type ParameterSpec, type ParameterViews } from './module.js';

export interface LayerNormOptions {
  /** The trailing dimensions of a sample that are normalized together, as PyTorch's normalized_shape. */
  normalizedShape: readonly number[];
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** A learned scale and shift of `normalizedShape` (default true). */
  elementwiseAffine?: boolean;
}

/**
 * PyTorch's LayerNorm: each sample's values over the trailing `normalizedShape` dimensions are
 * normalized by their own mean and biased variance, the same in training and eval mode. It looks at
 * one sample at a time, so it has no batch statistics and nothing to share between chunks.
 */
export class LayerNorm extends Module {
  readonly kind = 'LayerNorm';
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: ParameterViews | null = null;
  bias: ParameterViews | null = null;
  private readonly width: number;
  private inputShape: readonly number[] = [];
  private invStd = new Float64Array(0);
  /** Scratch of the float64 sums: a row's moments in the forward pass, the parameter gradients' sums in the backward. */
  private readonly moments = new Float64Array(3);
  private readonly sums: Float64Array;
  private readonly xHat = new Scratch();
  private readonly output = new Scratch();
  private readonly gradInput = new Scratch();

  constructor(options: LayerNormOptions) {
    super();
    checkOptionsObject('LayerNorm options', options, 'with at least normalizedShape');
    const shape = options.normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new LockstepError('E_OPTION', `LayerNorm normalizedShape must be a non-empty list of positive integers, got ${JSON.stringify(shape)}`);
    }
    this.normalizedShape = [...shape];
    this.width = sizeOf(shape);
    this.sums = new Float64Array(2 * this.width);
    this.eps = checkPositive('LayerNorm eps', options.eps ?? 1e-5);
    this.elementwiseAffine = options.elementwiseAffine ?? true;
  }

  override toSpec(): LayerNormSpec {
    return { type: 'layer-norm', normalizedShape: [...this.normalizedShape], eps: this.eps, elementwiseAffine: this.elementwiseAffine };
  }

  override parameterSpecs(): readonly ParameterSpec[] {
    if (!this.elementwiseAffine) return [];
    const { width, normalizedShape: shape } = this;
    return [
      { name: 'weight', shape, fanIn: width, fanOut: width, init: (_key, out) => out.fill(1) },
      { name: 'bias', shape, fanIn: width, fanOut: width, init: (_key, out) => out.fill(0) },
    ];
  }

  override bindParameters(views: readonly ParameterViews[]): void {
    this.weight = views[0] ?? null;
    this.bias = views[1] ?? null;
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const trailing = inputShape.slice(inputShape.length - this.normalizedShape.length);
    if (inputShape.length < this.normalizedShape.length || formatShape(trailing) !== formatShape(this.normalizedShape)) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: normalizedShape ${formatShape(this.normalizedShape)} must be the trailing dimensions of the samples, got ${formatShape(inputShape)}`);
    }
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    this.outputShape(input.shape.slice(1));
    const size = input.data.length;
    const rows = size / this.width;
    if (this.invStd.length < rows) this.invStd = new Float64Array(rows);
    const out = this.output.take(size);
    normalizeRows(input.data, rows, this.width, this.eps, this.weight?.value ?? null, this.bias?.value ?? null, this.invStd, this.xHat.take(size), out, this.moments);
    this.inputShape = input.shape;
    return { data: out, shape: input.shape };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    const size = gradOutput.data.length;
    const dx = needInputGrad ? this.gradInput.take(size) : null;
    normalizeRowsBackward(gradOutput.data, this.xHat.take(size), size / this.width, this.width, this.invStd, this.weight?.value ?? null, this.weight?.grad ?? null, this.bias?.grad ?? null, dx, this.sums);
    return dx === null ? null : { data: dx, shape: this.inputShape };
  }
}

/** A LayerNorm layer's spec entry; `normalizedShape` defaults to the whole sample shape. */
export type LayerNormSpec = { type: 'layer-norm'; normalizedShape?: number[]; eps?: number; elementwiseAffine?: boolean };

export const layerNormLayer: LayerFactory<LayerNormSpec> = {
  type: 'layer-norm',
  fields: { optional: { normalizedShape: 'shape', eps: 'positive', elementwiseAffine: 'boolean' } },
  fromSpec: ({ normalizedShape, eps, elementwiseAffine }, inputShape) => new LayerNorm({ normalizedShape: normalizedShape ?? [...inputShape], eps, elementwiseAffine }),
};
