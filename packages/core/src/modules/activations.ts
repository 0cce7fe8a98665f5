import { checkNumber, describeValue, LockstepError } from '../errors.js';
import { reluGradientInto, reluInto } from '../ops/elementwise.js';
import { erf } from '../ops/erf.js';
import { Scratch, type Tensor } from '../tensor.js';
import type { LayerFactory } from '../layer-registry.js';
import { Module } from './module.js';

/** A function applied to every element; subclasses give the forward map and its derivative. */
abstract class Elementwise extends Module {
  private input: Tensor | null = null;
  private output: Float32Array | null = null;
  private readonly outputs = new Scratch();
  private readonly gradInputs = new Scratch();

  protected abstract apply(input: Float32Array, out: Float32Array): void;

  /** gradIn[i] = gradOut[i] * f'(input[i]); `output` holds f(input) for layers that reuse it. */
  protected abstract gradient(input: Float32Array, output: Float32Array, gradOut: Float32Array, gradIn: Float32Array): void;

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    const out = this.outputs.take(input.data.length);
    this.apply(input.data, out);
    this.input = input;
    this.output = out;
    return { data: out, shape: input.shape };
  }

  /** Keeps what backward needs of a forward pass done elsewhere (a fused layer before this one). */
  protected remember(input: Tensor, output: Float32Array): void {
    this.input = input;
    this.output = output;
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    if (this.input === null || this.output === null) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    }
    const gradIn = this.gradInputs.take(gradOutput.data.length);
    this.gradient(this.input.data, this.output, gradOutput.data, gradIn);
    return { data: gradIn, shape: gradOutput.shape };
  }
}

export class ReLU extends Elementwise {
  readonly kind = 'ReLU';

  override toSpec(): ReluSpec {
    return { type: 'relu' };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    // NaN passes through, as in PyTorch, so a bad value reaches the loss and is reported.
    reluInto(x, out);
  }

  protected gradient(x: Float32Array, _y: Float32Array, g: Float32Array, out: Float32Array): void {
    reluGradientInto(x, g, out);
  }

  /**
   * This layer's forward pass when the layer before it has applied it already (`Conv2d.forwardRectified`):
   * `rectified` is returned as it is, and kept as both input and output. relu(x) > 0 exactly where
   * x > 0, so this layer's own backward gives the same bits from it.
   */
  takeRectified(rectified: Tensor): Tensor {
    this.remember(rectified, rectified.data);
    return rectified;
  }
}

export class LeakyReLU extends Elementwise {
  readonly kind = 'LeakyReLU';
  readonly negativeSlope: number;

  /** `negativeSlope` defaults to 0.01, as in PyTorch. */
  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = checkNumber('LeakyReLU negativeSlope', negativeSlope);
  }

  override toSpec(): LeakyReluSpec {
    return { type: 'leaky-relu', negativeSlope: this.negativeSlope };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    const slope = this.negativeSlope;
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : slope * x[i];
  }

  protected gradient(x: Float32Array, _y: Float32Array, g: Float32Array, out: Float32Array): void {
    const slope = this.negativeSlope;
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? g[i] : slope * g[i];
  }
}

export class Tanh extends Elementwise {
  readonly kind = 'Tanh';

  override toSpec(): TanhSpec {
    return { type: 'tanh' };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]);
  }

  protected gradient(_x: Float32Array, y: Float32Array, g: Float32Array, out: Float32Array): void {
    for (let i = 0; i < y.length; i++) out[i] = g[i] * (1 - y[i] * y[i]);
  }
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export class Sigmoid extends Elementwise {
  readonly kind = 'Sigmoid';

  override toSpec(): SigmoidSpec {
    return { type: 'sigmoid' };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = sigmoid(x[i]);
  }

  protected gradient(_x: Float32Array, y: Float32Array, g: Float32Array, out: Float32Array): void {
    for (let i = 0; i < y.length; i++) out[i] = g[i] * y[i] * (1 - y[i]);
  }
}

export type GeluApproximation = 'none' | 'tanh';

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_CUBIC = 0.044715;

/** x * Phi(x), exactly (`'none'`, PyTorch's default) or with the tanh approximation. */
export class GELU extends Elementwise {
  readonly kind = 'GELU';
  readonly approximate: GeluApproximation;

  constructor(approximate: GeluApproximation = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new LockstepError('E_OPTION', `GELU approximate must be "none" or "tanh", got ${describeValue(approximate)}`);
    }
    this.approximate = approximate;
  }

  override toSpec(): GeluSpec {
    return { type: 'gelu', approximate: this.approximate };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    if (this.approximate === 'tanh') {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v)));
      }
    } else {
      for (let i = 0; i < x.length; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] * SQRT_HALF));
    }
  }

  protected gradient(x: Float32Array, _y: Float32Array, g: Float32Array, out: Float32Array): void {
    if (this.approximate === 'tanh') {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v));
        const inner = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * v * v);
        out[i] = g[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * inner);
      }
    } else {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const cdf = 0.5 * (1 + erf(v * SQRT_HALF));
        out[i] = g[i] * (cdf + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
    }
  }
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** Scaled exponential linear unit (Klambauer et al. 2017): keeps activations at zero mean, unit variance. */
export class SELU extends Elementwise {
  readonly kind = 'SELU';

  override toSpec(): SeluSpec {
    return { type: 'selu' };
  }

  protected apply(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? SELU_SCALE * x[i] : SELU_SCALE * SELU_ALPHA * Math.expm1(x[i]);
  }

  protected gradient(x: Float32Array, _y: Float32Array, g: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? SELU_SCALE * g[i] : SELU_SCALE * SELU_ALPHA * Math.exp(x[i]) * g[i];
  }
}

export type ReluSpec = { type: 'relu' };
export type LeakyReluSpec = { type: 'leaky-relu'; negativeSlope?: number };
export type TanhSpec = { type: 'tanh' };
export type SigmoidSpec = { type: 'sigmoid' };
export type GeluSpec = { type: 'gelu'; approximate?: GeluApproximation };
export type SeluSpec = { type: 'selu' };

export const reluLayer: LayerFactory<ReluSpec> = { type: 'relu', fields: {}, fromSpec: () => new ReLU() };
export const leakyReluLayer: LayerFactory<LeakyReluSpec> = {
  type: 'leaky-relu',
  fields: { optional: { negativeSlope: 'number' } },
  fromSpec: (entry) => new LeakyReLU(entry.negativeSlope ?? 0.01),
};
export const tanhLayer: LayerFactory<TanhSpec> = { type: 'tanh', fields: {}, fromSpec: () => new Tanh() };
export const sigmoidLayer: LayerFactory<SigmoidSpec> = { type: 'sigmoid', fields: {}, fromSpec: () => new Sigmoid() };
export const geluLayer: LayerFactory<GeluSpec> = {
  type: 'gelu',
  fields: { optional: { approximate: 'approximate' } },
  fromSpec: (entry) => new GELU(entry.approximate ?? 'none'),
};
export const seluLayer: LayerFactory<SeluSpec> = { type: 'selu', fields: {}, fromSpec: () => new SELU() };
