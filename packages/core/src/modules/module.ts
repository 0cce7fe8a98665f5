import { describeValue, LockstepError } from '../errors.js';
import type { LayerEntry } from '../layer-registry.js';
import type { Key } from '../random/key.js';
import type { Tensor } from '../tensor.js';

/**
 * What a forward pass needs to know to draw keyed randomness: the run's dropout key, the optimizer
 * step, and the global index of each row's sample. Layers without randomness ignore it.
 */
export interface ForwardContext {
  readonly key: Key;
  readonly step: number;
  readonly samples: ArrayLike<number>;
}

/** Fills a parameter tensor; `key` is derived from the run seed and the parameter's path. */
export type Initializer = (key: Key, out: Float32Array, fanIn: number, fanOut: number) => void;

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly fanIn: number;
  readonly fanOut: number;
  readonly init: Initializer;
  /** After every optimizer step, each slice along the first axis is rescaled to norm at most this (see `applyMaxNorm`). */
  readonly maxNorm?: number;
  /**
   * In a backward pass that sets the gradients (`GradientMode` 'set'), the layer writes this
   * parameter's whole gradient, whatever its view held; the model zeros every other parameter's
   * gradient before such a pass (and this one's too where a container between the model and the
   * layer does not pass the mode on: `Module.passesGradientMode`).
   */
  readonly setByBackward?: boolean;
}

/**
 * How a backward pass writes parameter gradients: 'add' adds them into the gradient views, as
 * PyTorch's backward accumulates; 'set' leaves each view holding this pass's gradient alone, what it
 * held before no matter, as `zero_grad()` and then a backward would. A layer may write a 'set'
 * gradient straight from its matrix product, sparing a pass that zeros it and one that adds to it.
 */
export type GradientMode = 'add' | 'set';
export const GRADIENT_MODES: readonly GradientMode[] = ['add', 'set'];

/**
 * A tensor of state the optimizer does not learn (PyTorch's buffers: BatchNorm's running mean and
 * variance). It lives in the model's flat `buffers`, is saved in checkpoints and starts at `initial`.
 */
export interface BufferSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly initial: number;
}

/** Views of one parameter tensor and its gradient, both into the model's flat buffers. */
export interface ParameterViews {
  readonly value: Float32Array;
  readonly grad: Float32Array;
}

/**
 * A layer or a container. Modules start in eval mode (`training === false`), so inference is the
 * safe default. `forward` keeps what `backward` needs; `backward` adds parameter gradients into the
 * bound gradient views (with `gradients` 'set', it sets those of its `setByBackward` parameters) and
 * returns the gradient with respect to the input.
 */
export abstract class Module {
  training = false;
  /** Stable id from the module's place in the model ("2", "1.0"); keys its randomness. */
  path = '';

  abstract readonly kind: string;

  children(): readonly Module[] {
    return [];
  }

  /**
   * A container whose backward passes its `gradients` argument on to every child's says so here;
   * only then may its children set their gradients. The children of any other container add into
   * theirs, zeroed first, so a container written before 'set' existed still gets right gradients.
   */
  passesGradientMode(): boolean {
    return false;
  }

  train(mode = true): this {
    this.training = mode;
    for (const child of this.children()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  setPath(path: string): void {
    this.path = path;
  }

  /** This module's own parameters (not its children's), in a fixed order. */
  parameterSpecs(): readonly ParameterSpec[] {
    return [];
  }

  /** Receives views for `parameterSpecs()`, in the same order. */
  bindParameters(_views: readonly ParameterViews[]): void {}

  /** This module's own buffers (not its children's), in a fixed order. */
  bufferSpecs(): readonly BufferSpec[] {
    return [];
  }

  /** Receives views of the model's `buffers` for `bufferSpecs()`, in the same order. */
  bindBuffers(_views: readonly Float32Array[]): void {}

  /**
   * Float64 values this module writes per chunk in training mode, as (count, mean, centred sum of
   * squares) triples: its batch statistics, which a step combines over its chunks in chunk order
   * (engine/statistics.ts) and gives back to `updateBuffers`. 0 for a layer without running statistics.
   */
  statisticsWidth(): number {
    return 0;
  }

  /** Where the next training-mode forward writes its statistics (`statisticsWidth()` values). */
  bindStatistics(_view: Float64Array): void {}

  /** Folds a step's combined statistics (`statisticsWidth()` values) into this module's buffers. */
  updateBuffers(_combined: Float64Array): void {}

  /**
   * The fewest rows a forward in training mode, or in eval mode, takes: BatchNorm with one value per
   * channel a row needs 2 wherever it normalizes by the batch's statistics.
   */
  minimumRows(_training: boolean): number {
    return 1;
  }

  /** The per-sample output shape for a per-sample input shape; throws E_SHAPE if the input does not fit. */
  abstract outputShape(inputShape: readonly number[]): number[];

  abstract forward(input: Tensor, context: ForwardContext): Tensor;

  /**
   * `needInputGrad: false` lets the first layer skip the gradient nobody reads. A layer that declares
   * no `setByBackward` parameter may ignore `gradients`: the model has zeroed its views in 'set'
   * mode. A container passes it on to its children if its `passesGradientMode()` says so.
   */
  abstract backward(gradOutput: Tensor, needInputGrad: boolean, gradients?: GradientMode): Tensor | null;

  /** The spec entry this module was built from, when the spec walker built it. */
  builtFrom: LayerEntry | null = null;

  /**
   * This module's entry in a model spec, which the registered `fromSpec` of its type builds back. By
   * default the entry it was built from: a class whose settings can change after construction, or
   * that is built in code, writes its own.
   */
  toSpec(): LayerEntry {
    if (this.builtFrom !== null) return structuredClone(this.builtFrom);
    throw new LockstepError('E_SPEC', `${this.describe()} has no spec form; give its class a toSpec() and register its type with registerLayer`);
  }

  describe(): string {
    return this.path === '' ? this.kind : `layer ${this.path} (${this.kind})`;
  }
}

/** Throws E_SPEC unless `value` is a Module: a layer, or a container of layers. */
export function checkModule(name: string, value: unknown): void {
  if (!(value instanceof Module)) {
    throw new LockstepError('E_SPEC', `${name} must be a Module (a layer such as new Linear({ inFeatures, outFeatures }), or a Sequential of them), got ${describeValue(value)}`);
  }
}
