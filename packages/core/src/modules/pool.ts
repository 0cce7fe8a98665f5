import { checkOptionsObject, LockstepError } from '../errors.js';
import { outputSize } from '../ops/im2col.js';
import { runPatchPass } from '../ops/patches.js';
import { formatShape, Scratch, type Tensor } from '../tensor.js';
import { pair, type Pair } from './conv2d.js';
import { Module } from './module.js';

export interface Pool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

export type MaxPool2dSpec = { type: 'max-pool2d' } & Pool2dOptions;
export type AvgPool2dSpec = { type: 'avg-pool2d' } & AvgPool2dOptions;
export type GlobalAvgPool2dSpec = { type: 'global-avg-pool2d' };

interface Window {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** Pooling over windows of each channel of NCHW batches; subclasses reduce a window. */
abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  protected input: Tensor | null = null;
  protected readonly output = new Scratch();
  protected readonly gradInput = new Scratch();

  constructor(name: string, options: Pool2dOptions) {
    super();
    checkOptionsObject(`${name} options`, options, 'with at least kernelSize');
    this.kernelSize = pair(`${name} kernelSize`, options.kernelSize, 1);
    this.stride = pair(`${name} stride`, options.stride ?? this.kernelSize, 1);
    this.padding = pair(`${name} padding`, options.padding ?? 0, 0);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new LockstepError('E_OPTION', `${name}: padding ${formatShape(this.padding)} must be at most half the kernel ${formatShape(this.kernelSize)}`);
    }
  }

  protected windowFor(inputShape: readonly number[]): Window {
    const [channels, height, width] = inputShape;
    if (inputShape.length !== 3) throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape [C,H,W], got ${formatShape(inputShape)}`);
    const outHeight = outputSize(height, this.kernelSize[0], this.stride[0], this.padding[0], 1);
    const outWidth = outputSize(width, this.kernelSize[1], this.stride[1], this.padding[1], 1);
    if (outHeight < 1 || outWidth < 1) {
      throw new LockstepError(
        'E_SHAPE',
        `${this.describe()}: kernel ${formatShape(this.kernelSize)} is larger than the padded input ` +
          `${formatShape([height + 2 * this.padding[0], width + 2 * this.padding[1]])} of samples ${formatShape(inputShape)}`,
      );
    }
    return { channels, height, width, outHeight, outWidth };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const w = this.windowFor(inputShape);
    return [w.channels, w.outHeight, w.outWidth];
  }

  private indices = new Int32Array(0);
  private indexedFor = '';

  /**
   * For every output, the input positions of its window in a fixed order, `area` slots each (-1 for
   * padding), computed once per batch shape and reused: the pooling loops then only read and compare.
   */
  protected windows(samples: number, w: Window): { indices: Int32Array; area: number } {
    const [kH, kW] = this.kernelSize;
    const area = kH * kW;
    const key = `${samples}:${w.channels}:${w.height}:${w.width}`;
    if (key !== this.indexedFor) {
      const outputs = samples * w.channels * w.outHeight * w.outWidth;
      if (this.indices.length < outputs * area) this.indices = new Int32Array(outputs * area);
      let at = 0;
      for (let plane = 0; plane < samples * w.channels; plane++) {
        for (let oh = 0; oh < w.outHeight; oh++) {
          for (let ow = 0; ow < w.outWidth; ow++) {
            for (let kh = 0; kh < kH; kh++) {
              const ih = oh * this.stride[0] - this.padding[0] + kh;
              for (let kw = 0; kw < kW; kw++, at++) {
                const iw = ow * this.stride[1] - this.padding[1] + kw;
                const inside = ih >= 0 && ih < w.height && iw >= 0 && iw < w.width;
                this.indices[at] = inside ? (plane * w.height + ih) * w.width + iw : -1;
              }
            }
          }
        }
      }
      this.indexedFor = key;
    }
    return { indices: this.indices, area };
  }

  protected shapeOf(samples: number, w: Window): number[] {
    return [samples, w.channels, w.outHeight, w.outWidth];
  }
}

/** The largest value of each window (padding never wins); the gradient goes to that position. */
export class MaxPool2d extends Pool2d {
  readonly kind = 'MaxPool2d';
  /** Int32 indices, in floats' clothing so that they lie in the kernel memory like the layer's other buffers. */
  private readonly winners = new Scratch();
  private size = 0;

  constructor(options: Pool2dOptions) {
    super('MaxPool2d', options);
  }

  override toSpec(): MaxPool2dSpec {
    return { type: 'max-pool2d', kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
  }

  override forward(input: Tensor): Tensor {
    const samples = input.shape[0] ?? 0;
    const w = this.windowFor(input.shape.slice(1));
    const size = samples * w.channels * w.outHeight * w.outWidth;
    const out = this.output.take(size);
    // Each window's first largest value, in (kh, kw) order, and its input index (int32) in `winners`.
    const winners = this.winners.take(size);
    const planes = samples * w.channels;
    runPatchPass(
      'maxPool',
      [
        [input.data.subarray(0, planes * w.height * w.width), 'read'],
        [out, 'write'],
        [winners, 'write'],
      ],
      [planes, w.height, w.width, ...this.kernelSize, ...this.stride, ...this.padding, w.outHeight, w.outWidth],
    );
    this.input = input;
    this.size = size;
    return { data: out, shape: this.shapeOf(samples, w) };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    if (this.input === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const gradIn = this.gradInput.take(this.input.data.length);
    // gradIn = 0, then gradIn[winner] += gradient, in output order.
    runPatchPass(
      'maxPoolBackward',
      [
        [gradOutput.data.subarray(0, this.size), 'read'],
        [this.winners.take(this.size), 'read'],
        [gradIn, 'write'],
      ],
      [this.size, gradIn.length],
    );
    return { data: gradIn, shape: this.input.shape };
  }

  /**
   * This layer's input gradient for channels [first, first + count), laid out as `planesToRows` lays
   * out planes (a convolution's product rows), and, with `rectified` (a ReLU ran right before this
   * layer), taken back through that ReLU: a term is kept where this layer's output, the ReLU's output
   * at the window's winner, is > 0. The bits of `backward`, the ReLU's backward and `planesToRows`, in
   * one pass that never writes the input gradient's planes.
   */
  backwardToRows(gradOutput: Tensor, first: number, count: number, rows: Float32Array, rectified: boolean): void {
    const input = this.input;
    if (input === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const [samples = 0, channels = 0, height = 0, width = 0] = input.shape;
    const rowFloats = samples * height * width * count;
    if (rows.length < rowFloats || first + count > channels) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: channels [${first}, ${first + count}) of ${formatShape(input.shape)} need ${rowFloats} row values, got ${rows.length}`);
    }
    runPatchPass(
      'maxPoolBackwardToRows',
      [
        [gradOutput.data.subarray(0, this.size), 'read'],
        [this.winners.take(this.size), 'read'],
        [this.output.take(this.size), 'read'],
        [rows.subarray(0, rowFloats), 'write'],
      ],
      [samples, channels, first, count, height * width, this.size / (samples * channels), rectified ? 1 : 0],
    );
  }
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padding positions in the divisor, as PyTorch does by default (default true). */
  countIncludePad?: boolean;
}

/** The mean of each window. */
export class AvgPool2d extends Pool2d {
  readonly kind = 'AvgPool2d';
  readonly countIncludePad: boolean;
  private divisors = new Float32Array(0);
  private window: Window | null = null;

  constructor(options: AvgPool2dOptions) {
    super('AvgPool2d', options);
    this.countIncludePad = options.countIncludePad ?? true;
  }

  override toSpec(): AvgPool2dSpec {
    const { kernelSize, stride, padding, countIncludePad } = this;
    return { type: 'avg-pool2d', kernelSize, stride, padding, countIncludePad };
  }

  override forward(input: Tensor): Tensor {
    const samples = input.shape[0] ?? 0;
    const w = this.windowFor(input.shape.slice(1));
    const size = samples * w.channels * w.outHeight * w.outWidth;
    const out = this.output.take(size);
    if (this.divisors.length < size) this.divisors = new Float32Array(size);
    const divisors = this.divisors;
    const x = input.data;
    const { indices, area } = this.windows(samples, w);
    for (let o = 0; o < size; o++) {
      let sum = 0;
      let count = 0;
      for (let i = o * area; i < (o + 1) * area; i++) {
        const at = indices[i];
        if (at >= 0) {
          sum += x[at];
          count++;
        }
      }
      divisors[o] = this.countIncludePad ? this.windowArea(o, w, area) : count;
      out[o] = sum / divisors[o];
    }
    this.input = input;
    this.window = w;
    return { data: out, shape: this.shapeOf(samples, w) };
  }

  /** With countIncludePad, PyTorch divides by the window clipped to the padded input, not the image. */
  private windowArea(o: number, w: Window, full: number): number {
    const ow = o % w.outWidth;
    const oh = Math.floor(o / w.outWidth) % w.outHeight;
    const h0 = oh * this.stride[0] - this.padding[0];
    const w0 = ow * this.stride[1] - this.padding[1];
    const h1 = Math.min(h0 + this.kernelSize[0], w.height + this.padding[0]);
    const w1 = Math.min(w0 + this.kernelSize[1], w.width + this.padding[1]);
    return Math.min(full, (h1 - h0) * (w1 - w0));
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const input = this.input;
    const w = this.window;
    if (input === null || w === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const gradIn = this.gradInput.take(input.data.length).fill(0);
    const g = gradOutput.data;
    const { indices, area } = this.windows(input.shape[0] ?? 0, w);
    for (let o = 0; o < g.length; o++) {
      const share = g[o] / this.divisors[o];
      for (let i = o * area; i < (o + 1) * area; i++) if (indices[i] >= 0) gradIn[indices[i]] += share;
    }
    return { data: gradIn, shape: input.shape };
  }
}

/** The mean of each channel: [N, C, H, W] -> [N, C]. */
export class GlobalAvgPool2d extends Module {
  readonly kind = 'GlobalAvgPool2d';
  private input: Tensor | null = null;
  private readonly output = new Scratch();
  private readonly gradInput = new Scratch();

  override toSpec(): GlobalAvgPool2dSpec {
    return { type: 'global-avg-pool2d' };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape [C,H,W], got ${formatShape(inputShape)}`);
    return [inputShape[0]];
  }

  override forward(input: Tensor): Tensor {
    const [samples, channels] = input.shape;
    const area = input.data.length / (samples * channels) || 1;
    const out = this.output.take(samples * channels);
    for (let plane = 0; plane < samples * channels; plane++) {
      let sum = 0;
      for (let i = 0; i < area; i++) sum += input.data[plane * area + i];
      out[plane] = sum / area;
    }
    this.input = input;
    return { data: out, shape: [samples, channels] };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    if (this.input === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const gradIn = this.gradInput.take(this.input.data.length);
    const area = gradIn.length / gradOutput.data.length;
    for (let i = 0; i < gradIn.length; i++) gradIn[i] = gradOutput.data[Math.floor(i / area)] / area;
    return { data: gradIn, shape: this.input.shape };
  }
}
