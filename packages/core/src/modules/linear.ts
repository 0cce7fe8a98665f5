import { checkInteger, checkOptionsObject, checkPositive, LockstepError } from '../errors.js';
import { initializer, type InitName } from '../init.js';
import { addColumnSums } from '../ops/elementwise.js';
import { matmul, rowMajor, transposed } from '../ops/matmul.js';
import { formatShape, Scratch, type Tensor } from '../tensor.js';
import { Module, type ForwardContext, type GradientMode, type ParameterSpec, type ParameterViews } from './module.js';

export interface LinearOptions {
  /** Features per input sample. */
  inFeatures: number;
  /** Features per output sample. */
  outFeatures: number;
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Weight initializer (default PyTorch's: uniform in +-1/sqrt(inFeatures)). */
  init?: InitName;
  /** Keras' MaxNorm: after every optimizer step, each output unit's incoming weights get norm at most this. */
  maxNorm?: number;
}

/** A linear layer's spec entry; `in` is inferred from the previous layer when left out. */
export type LinearSpec = { type: 'linear'; out: number; in?: number; bias?: boolean; init?: InitName; dropConnect?: number; maxNorm?: number };

/** y = x W^T + b, with W stored [outFeatures, inFeatures] as in PyTorch. */
export class Linear extends Module {
  readonly kind: string = 'Linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;
  readonly init: InitName;
  readonly maxNorm: number | null;
  weight: ParameterViews | null = null;
  bias: ParameterViews | null = null;
  private input: Tensor | null = null;
  /** The weights the last forward multiplied by, which its backward needs. */
  private weightsUsed: Float32Array | null = null;
  private readonly output = new Scratch();
  private readonly gradInput = new Scratch();

  /**
   * `name` is the class that a bad option's error names. A subclass passes its own: while this
   * constructor runs, `kind` still holds Linear's.
   */
  constructor(options: LinearOptions, name = 'Linear') {
    super();
    checkOptionsObject(`${name} options`, options, 'with at least inFeatures and outFeatures');
    this.inFeatures = checkInteger(`${name} inFeatures`, options.inFeatures, 1);
    this.outFeatures = checkInteger(`${name} outFeatures`, options.outFeatures, 1);
    this.hasBias = options.bias ?? true;
    this.init = options.init ?? 'torch-default';
    this.maxNorm = options.maxNorm === undefined ? null : checkPositive(`${name} maxNorm`, options.maxNorm);
  }

  override toSpec(): LinearSpec {
    const { inFeatures, outFeatures, hasBias, init, maxNorm } = this;
    const entry: LinearSpec = { type: 'linear', in: inFeatures, out: outFeatures, bias: hasBias, init };
    return maxNorm === null ? entry : { ...entry, maxNorm };
  }

  override parameterSpecs(): readonly ParameterSpec[] {
    const fanIn = this.inFeatures;
    const fanOut = this.outFeatures;
    const weight = { name: 'weight', shape: [fanOut, fanIn], fanIn, fanOut, init: initializer(this.init), setByBackward: true, ...(this.maxNorm === null ? {} : { maxNorm: this.maxNorm }) };
    if (!this.hasBias) return [weight];
    return [weight, { name: 'bias', shape: [fanOut], fanIn, fanOut, init: initializer('torch-default') }];
  }

  override bindParameters(views: readonly ParameterViews[]): void {
    this.weight = views[0] ?? null;
    this.bias = this.hasBias ? (views[1] ?? null) : null;
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1 || inputShape[0] !== this.inFeatures) {
      throw new LockstepError(
        'E_SHAPE',
        `${this.describe()}: expects samples of shape [${this.inFeatures}], got ${formatShape(inputShape)}; ` +
          'add a Flatten before it or fix inFeatures',
      );
    }
    return [this.outFeatures];
  }

  override forward(input: Tensor, context: ForwardContext): Tensor {
    const rows = input.shape[0] ?? 0;
    if (input.shape.length !== 2 || input.shape[1] !== this.inFeatures) this.outputShape(input.shape.slice(1));
    const weights = this.forwardWeights(context);
    const out = this.output.take(rows * this.outFeatures);
    const inF = this.inFeatures;
    matmul(rowMajor(input.data, inF), transposed(weights, inF), rows, inF, this.outFeatures, out, {
      bias: this.bias?.value ?? null,
      bIsParameter: weights === this.weight?.value,
    });
    this.input = input;
    this.weightsUsed = weights;
    return { data: out, shape: [rows, this.outFeatures] };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean, gradients: GradientMode = 'add'): Tensor | null {
    const weight = this.bound();
    const input = this.input;
    const weights = this.weightsUsed;
    if (input === null || weights === null) throw new LockstepError('E_SHAPE', `${this.describe()}: backward called before forward`);
    const rows = input.shape[0] ?? 0;
    const inF = this.inFeatures;
    const outF = this.outFeatures;
    this.writeWeightGradient(gradOutput.data, input.data, rows, weight.grad, gradients);
    if (this.bias !== null) addColumnSums(gradOutput.data, rows, outF, this.bias.grad);
    if (!needInputGrad) return null;
    const gradIn = this.gradInput.take(rows * inF);
    matmul(rowMajor(gradOutput.data, outF), rowMajor(weights, inF), rows, outF, inF, gradIn);
    return { data: gradIn, shape: input.shape };
  }

  /** The [out, in] weights this forward multiplies by: the parameters themselves (DropConnect masks them). */
  protected forwardWeights(_context: ForwardContext): Float32Array {
    return this.bound().value;
  }

  /**
   * grad += gradOutput^T x, the gradient with respect to the weights the forward used; with 'set',
   * grad = gradOutput^T x, the product stored as it is. The bits are those of adding it to zeros: the
   * product's sums start at +0, so no element is -0, the one value that adding to +0 changes (the
   * relaxed kernel's fused steps excepted, below float32's subnormals: docs/design.md).
   */
  protected writeWeightGradient(gradOutput: Float32Array, x: Float32Array, rows: number, grad: Float32Array, gradients: GradientMode): void {
    matmul(transposed(gradOutput, this.outFeatures), rowMajor(x, this.inFeatures), this.outFeatures, rows, this.inFeatures, grad, { accumulate: gradients === 'add' });
  }

  private bound(): ParameterViews {
    if (this.weight === null) {
      throw new LockstepError('E_SHAPE', `${this.describe()}: has no parameters yet; build a Model from it first`);
    }
    return this.weight;
  }
}
