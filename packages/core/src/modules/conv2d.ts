import { checkInteger, checkOptionsObject, checkPositive, describeValue, LockstepError } from '../errors.js';
import { initializer, type InitName } from '../init.js';
import { addColumnSums } from '../ops/elementwise.js';
import { addColumnsToImages, imagesToColumns, outputSize, planesToRows, rowsToPlanes, type PatchGeometry } from '../ops/im2col.js';
import { addRunningSums, matmul, runningProduct, runningSumsLength, transposed } from '../ops/matmul.js';
import { formatShape, Scratch, type Tensor } from '../tensor.js';
import type { LayerFactory } from '../layer-registry.js';
import type { MaxPool2d } from './pool.js';
import { Module, type ParameterSpec, type ParameterViews } from './module.js';

export type Pair = number | readonly [number, number];

/**
 * The patches a pass takes at once, forward and backward: 512 KiB, so that they, their packed
 * panels and the block's product rows stay within a core's L2 cache on common CPUs (2 MiB here).
 */
const PATCH_BLOCK_BYTES = 1 << 19;

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  /** Kernel height and width (one number for a square kernel). */
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Channels are split into this many independent groups (default 1). */
  groups?: number;
  bias?: boolean;
  /** Weight initializer (default PyTorch's: uniform in +-1/sqrt(fan in)). */
  init?: InitName;
  /** Keras' MaxNorm: after every optimizer step, each output channel's [in/groups, kh, kw] weights get norm at most this. */
  maxNorm?: number;
}

/** A conv2d's spec entry; `in` (channels) is inferred from the previous layer when left out. */
export type Conv2dSpec = { type: 'conv2d'; out: number; in?: number } & Omit<Conv2dOptions, 'inChannels' | 'outChannels'>;

export function pair(name: string, value: Pair, min: number): [number, number] {
  if (typeof value !== 'number' && !Array.isArray(value)) {
    throw new LockstepError('E_OPTION', `${name} must be an integer >= ${min} or a pair of them, got ${describeValue(value)}`);
  }
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  return [checkInteger(`${name}[0]`, a, min), checkInteger(`${name}[1]`, b, min)];
}

/**
 * 2-D convolution over NCHW batches, weights [outChannels, inChannels / groups, kH, kW] as in
 * PyTorch. Lowered to the dense matrix kernel: patches of each group become rows (im2col), one
 * product with the group's weights gives every output position at once.
 */
export class Conv2d extends Module {
  readonly kind = 'Conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly hasBias: boolean;
  readonly init: InitName;
  readonly maxNorm: number | null;
  private weight: ParameterViews | null = null;
  private bias: ParameterViews | null = null;
  private input: Tensor | null = null;
  private geometry: PatchGeometry | null = null;
  private readonly columns = new Scratch();
  /** Whether `columns` hold the last forward pass's patches, all of them (training, one group). */
  private columnsHoldInput = false;
  private readonly products = new Scratch();
  private readonly output = new Scratch();
  /** The last forward's output when a ReLU rode along (`forwardRectified`), whose signs its backward takes the gradient back through. */
  private rectified: Float32Array | null = null;
  private readonly gradRows = new Scratch();
  /** The weight gradient's sums, carried from block to block of samples (`runningProduct`). */
  private readonly weightSums = new Scratch();
  private readonly gradInput = new Scratch();

  constructor(options: Conv2dOptions) {
    super();
    checkOptionsObject('Conv2d options', options, 'with at least inChannels, outChannels and kernelSize');
    this.inChannels = checkInteger('Conv2d inChannels', options.inChannels, 1);
    this.outChannels = checkInteger('Conv2d outChannels', options.outChannels, 1);
    this.kernelSize = pair('Conv2d kernelSize', options.kernelSize, 1);
    this.stride = pair('Conv2d stride', options.stride ?? 1, 1);
    this.padding = pair('Conv2d padding', options.padding ?? 0, 0);
    this.dilation = pair('Conv2d dilation', options.dilation ?? 1, 1);
    this.groups = checkInteger('Conv2d groups', options.groups ?? 1, 1);
    if (this.inChannels % this.groups !== 0 || this.outChannels % this.groups !== 0) {
      throw new LockstepError('E_OPTION', `Conv2d: groups=${this.groups} must divide inChannels=${this.inChannels} and outChannels=${this.outChannels}`);
    }
    this.hasBias = options.bias ?? true;
    this.init = options.init ?? 'torch-default';
    this.maxNorm = options.maxNorm === undefined ? null : checkPositive('Conv2d maxNorm', options.maxNorm);
  }

  override toSpec(): Conv2dSpec {
    const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, hasBias, init, maxNorm } = this;
    const entry: Conv2dSpec = { type: 'conv2d', in: inChannels, out: outChannels, kernelSize, stride, padding, dilation, groups, bias: hasBias, init };
    return maxNorm === null ? entry : { ...entry, maxNorm };
  }

  private get patchLength(): number {
    return (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
  }

  override parameterSpecs(): readonly ParameterSpec[] {
    const fanIn = this.patchLength;
    const fanOut = (this.outChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const shape = [this.outChannels, this.inChannels / this.groups, ...this.kernelSize];
    const weight = { name: 'weight', shape, fanIn, fanOut, init: initializer(this.init), ...(this.maxNorm === null ? {} : { maxNorm: this.maxNorm }) };
    if (!this.hasBias) return [weight];
    return [weight, { name: 'bias', shape: [this.outChannels], fanIn, fanOut, init: initializer('torch-default') }];
  }

  override bindParameters(views: readonly ParameterViews[]): void {
    this.weight = views[0] ?? null;
    this.bias = this.hasBias ? (views[1] ?? null) : null;
  }

  private geometryFor(inputShape: readonly number[]): PatchGeometry {
    const [channels, height, width] = inputShape;
    if (inputShape.length !== 3 || channels !== this.inChannels) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: expects samples of shape [${this.inChannels},H,W], got ${formatShape(inputShape)}`);
    }
    const outHeight = outputSize(height, this.kernelSize[0], this.stride[0], this.padding[0], this.dilation[0]);
    const outWidth = outputSize(width, this.kernelSize[1], this.stride[1], this.padding[1], this.dilation[1]);
    if (outHeight < 1 || outWidth < 1) {
      throw new LockstepError(
        'E_SHAPE',
        `${this.describe()}: kernel ${formatShape(this.kernelSize)} (dilation ${formatShape(this.dilation)}) is larger than the padded input ` +
          `${formatShape([height + 2 * this.padding[0], width + 2 * this.padding[1]])} of samples ${formatShape(inputShape)}`,
      );
    }
    const { kernelSize: kernel, stride, padding, dilation } = this;
    return { channels, height, width, kernel, stride, padding, dilation, outHeight, outWidth };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const g = this.geometryFor(inputShape);
    return [this.outChannels, g.outHeight, g.outWidth];
  }

  override forward(input: Tensor): Tensor {
    return this.convolve(input, false);
  }

  /**
   * relu(conv(input)) in one pass over the output (the ReLU applied as the bias is added), the same
   * bits as the two layers; the next backward then takes the gradient back through that ReLU too.
   * For a model that runs a ReLU right after this layer (`Sequential`).
   */
  forwardRectified(input: Tensor): Tensor {
    return this.convolve(input, true);
  }

  /** Whether the last forward pass was `forwardRectified`. */
  get rectifies(): boolean {
    return this.rectified !== null;
  }

  private convolve(input: Tensor, rectify: boolean): Tensor {
    const weight = this.bound();
    const samples = input.shape[0] ?? 0;
    const g = this.geometryFor(input.shape.slice(1));
    const plane = g.outHeight * g.outWidth;
    const groupIn = this.inChannels / this.groups;
    const groupOut = this.outChannels / this.groups;
    const k = this.patchLength;
    // A few samples at a time, so that their patches and products stay in the caches (the backward
    // pass makes each block's patches again, unless the whole batch fit in one). Each output value is
    // the same sum.
    const block = samplesPerBlock(samples, k, plane);
    const columns = this.columns.take(k * block * plane);
    const products = this.products.take(block * plane * groupOut);
    const out = this.output.take(samples * this.outChannels * plane);
    const inputFloats = this.inChannels * g.height * g.width;
    for (let first = 0; first < samples; first += block) {
      const count = Math.min(block, samples - first);
      const images = input.data.subarray(first * inputFloats, (first + count) * inputFloats);
      const planes = out.subarray(first * this.outChannels * plane, (first + count) * this.outChannels * plane);
      for (let group = 0; group < this.groups; group++) {
        imagesToColumns(g, count, group * groupIn, groupIn, images, columns);
        const weights = weight.value.subarray(group * groupOut * k, (group + 1) * groupOut * k);
        const bias = this.bias?.value.subarray(group * groupOut, (group + 1) * groupOut) ?? null;
        // The bias is added on the way to the planes: one pass over the output fewer.
        matmul(transposed(columns, count * plane), transposed(weights, k), count * plane, k, groupOut, products, { bIsParameter: true });
        rowsToPlanes(count, this.outChannels, group * groupOut, groupOut, plane, products, planes, bias, rectify);
      }
    }
    this.columnsHoldInput = block === samples && this.groups === 1;
    this.rectified = rectify ? out : null;
    this.input = input;
    this.geometry = g;
    return { data: out, shape: [samples, this.outChannels, g.outHeight, g.outWidth] };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    return this.backwardFrom(needInputGrad, (samples, first, count, plane, rows) =>
      planesToRows(samples, this.outChannels, first, count, plane, gradOutput.data, rows, this.rectified),
    );
  }

  /**
   * The backward pass of this layer (and of its ReLU, after `forwardRectified`) and of the max pool
   * right after them, given the pool's output gradient: the pool writes its input gradient straight
   * into this layer's product rows (`MaxPool2d.backwardToRows`). The same bits as the layers' own
   * backward passes one after another.
   */
  backwardThroughMaxPool(gradPooled: Tensor, pool: MaxPool2d, needInputGrad: boolean): Tensor | null {
    return this.backwardFrom(needInputGrad, (_samples, first, count, _plane, rows) => pool.backwardToRows(gradPooled, first, count, rows, this.rectifies));
  }

  /** `toRows` writes the output gradient of channels [first, first + count) as a product's rows. */
  private backwardFrom(needInputGrad: boolean, toRows: (samples: number, first: number, count: number, plane: number, rows: Float32Array) => void): Tensor | null {
    const weight = this.bound();
    const input = this.input;
    const g = this.geometry;
    if (input === null || g === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const samples = input.shape[0] ?? 0;
    const plane = g.outHeight * g.outWidth;
    const positions = samples * plane;
    const groupIn = this.inChannels / this.groups;
    const groupOut = this.outChannels / this.groups;
    const k = this.patchLength;
    const block = this.columnsHoldInput ? samples : samplesPerBlock(samples, k, plane);
    const columns = this.columns.take(k * block * plane);
    const gradRows = this.gradRows.take(positions * groupOut);
    const gradIn = needInputGrad ? this.gradInput.take(input.data.length).fill(0) : null;
    const inputFloats = this.inChannels * g.height * g.width;
    for (let group = 0; group < this.groups; group++) {
      toRows(samples, group * groupOut, groupOut, plane, gradRows);
      const weights = weight.value.subarray(group * groupOut * k, (group + 1) * groupOut * k);
      // The weight gradient sums over every position of the batch in order, block after block.
      const weightSums = this.weightSums.take(runningSumsLength(groupOut, k));
      for (let first = 0; first < samples; first += block) {
        const count = Math.min(block, samples - first);
        const blockPositions = count * plane;
        const rows = gradRows.subarray(first * plane * groupOut, (first + count) * plane * groupOut);
        const images = input.data.subarray(first * inputFloats, (first + count) * inputFloats);
        if (!this.columnsHoldInput) imagesToColumns(g, count, group * groupIn, groupIn, images, columns);
        runningProduct(transposed(rows, groupOut), transposed(columns, blockPositions), groupOut, blockPositions, k, weightSums, first === 0);
        if (gradIn !== null) {
          // The patches' gradient as columns, (W^T G^T): each value the same sum over output channels, in the same order, as (G W).
          matmul(transposed(weights, k), transposed(rows, groupOut), k, groupOut, blockPositions, columns);
          addColumnsToImages(g, count, group * groupIn, groupIn, columns, gradIn.subarray(first * inputFloats, (first + count) * inputFloats));
          this.columnsHoldInput = false;
        }
      }
      if (samples > 0) addRunningSums(weightSums, groupOut, k, weight.grad.subarray(group * groupOut * k, (group + 1) * groupOut * k));
      // Each output channel's sum over positions in float64, in order, then added to the float32 gradient.
      if (this.bias !== null) addColumnSums(gradRows, positions, groupOut, this.bias.grad.subarray(group * groupOut, (group + 1) * groupOut));
    }
    return gradIn === null ? null : { data: gradIn, shape: input.shape };
  }

  private bound(): ParameterViews {
    if (this.weight === null) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: has no parameters yet; build a Model from it first`);
    }
    return this.weight;
  }
}

function samplesPerBlock(samples: number, k: number, plane: number): number {
  return Math.max(1, Math.min(samples, Math.floor(PATCH_BLOCK_BYTES / (4 * k * plane))));
}

export const conv2dLayer: LayerFactory<Conv2dSpec> = {
  type: 'conv2d',
  fields: {
    required: { out: 'int', kernelSize: 'pair' },
    optional: { in: 'int', stride: 'pair', padding: 'pair0', dilation: 'pair', groups: 'int', bias: 'boolean', init: 'init', maxNorm: 'positive' },
  },
  fromSpec(entry, inputShape) {
    const { type: _type, out, in: inChannels, ...options } = entry;
    const channels = inChannels ?? (inputShape.length === 3 ? inputShape[0] : undefined);
    if (channels === undefined) throw new LockstepError('E_SHAPE', `conv2d: input samples have shape [${inputShape.join(',')}]; conv2d takes [channels, height, width]`);
    return new Conv2d({ ...options, inChannels: channels, outChannels: out });
  },
};
