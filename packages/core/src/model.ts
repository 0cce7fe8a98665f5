import { checkInteger, LockstepError } from './errors.js';
import type { ForwardContext, Module, ParameterSpec } from './modules/module.js';
import { foldInString, rootKey } from './random/key.js';
import { dropoutRunKey } from './random/mask.js';
import { formatShape, sizeOf, type Tensor } from './tensor.js';

/**
 * The most float32 values (1 GiB) in a model's parameters, or in one sample's output of any layer: past
 * it a model is refused with one line rather than failing to allocate, or swapping the machine to a halt.
 */
export const MAX_MODEL_VALUES = 2 ** 28;

/** Where one parameter tensor lives in the model's flat buffers. */
export interface ParameterEntry {
  /** "layerPath.name", for example "0.weight". */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly shape: readonly number[];
  readonly spec: ParameterSpec;
  readonly owner: Module;
}

/** Every parameter tensor of a module tree, in a fixed order, packed end to end. */
export function parameterLayout(root: Module): { entries: ParameterEntry[]; size: number } {
  const entries: ParameterEntry[] = [];
  let offset = 0;
  const visit = (module: Module): void => {
    for (const spec of module.parameterSpecs()) {
      const length = sizeOf(spec.shape);
      const path = module.path === '' ? spec.name : `${module.path}.${spec.name}`;
      entries.push({ path, offset, length, shape: spec.shape, spec, owner: module });
      offset += length;
    }
    for (const child of module.children()) visit(child);
  };
  visit(root);
  return { entries, size: offset };
}

export interface ModelBuffers {
  /** All parameters, end to end; may live in a SharedArrayBuffer. */
  readonly params: Float32Array;
  /** Gradients, same layout as `params`. */
  readonly grads: Float32Array;
}

/**
 * A module tree bound to one flat parameter buffer and one flat gradient buffer. Layers hold views
 * into them, so the buffers can be swapped for shared memory without touching any layer.
 */
export class Model {
  readonly module: Module;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly entries: readonly ParameterEntry[];
  readonly size: number;
  params: Float32Array;
  grads: Float32Array;
  private calls = 0;

  constructor(module: Module, inputShape: readonly number[], buffers?: ModelBuffers) {
    this.module = module;
    this.inputShape = [...inputShape];
    this.outputShape = module.outputShape(inputShape);
    const layout = parameterLayout(module);
    if (layout.size > MAX_MODEL_VALUES) {
      throw new LockstepError('E_SPEC', `the model has ${layout.size} parameters, more than the limit of ${MAX_MODEL_VALUES} (1 GiB of float32); use smaller layers`);
    }
    this.entries = layout.entries;
    this.size = layout.size;
    this.params = buffers?.params ?? new Float32Array(this.size);
    this.grads = buffers?.grads ?? new Float32Array(this.size);
    this.bind(this.params, this.grads);
  }

  /** Points every layer at new buffers (for example SharedArrayBuffer views); values are not copied. */
  bind(params: Float32Array, grads: Float32Array): void {
    for (const [name, buffer] of [['params', params], ['grads', grads]] as const) {
      if (buffer.length !== this.size) {
        throw new LockstepError('E_SHAPE', `Model.bind: ${name} has ${buffer.length} values, the model needs ${this.size}`);
      }
    }
    this.params = params;
    this.grads = grads;
    const byOwner = new Map<Module, { value: Float32Array; grad: Float32Array }[]>();
    for (const entry of this.entries) {
      const views = byOwner.get(entry.owner) ?? [];
      views.push({
        value: params.subarray(entry.offset, entry.offset + entry.length),
        grad: grads.subarray(entry.offset, entry.offset + entry.length),
      });
      byOwner.set(entry.owner, views);
    }
    for (const [owner, views] of byOwner) owner.bindParameters(views);
  }

  /** Fills every parameter with its initializer, keyed by (seed, parameter path): adding a layer does not change the others. */
  initialize(seed: number): this {
    const initKey = foldInString(rootKey(seed), 'init');
    for (const entry of this.entries) {
      const view = this.params.subarray(entry.offset, entry.offset + entry.length);
      entry.spec.init(foldInString(initKey, entry.path), view, entry.spec.fanIn, entry.spec.fanOut);
    }
    return this;
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  get training(): boolean {
    return this.module.training;
  }

  train(mode = true): this {
    this.module.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** A tensor of `rows` samples of this model's input shape over `data`, checked. */
  inputTensor(data: Float32Array): Tensor {
    const perSample = sizeOf(this.inputShape);
    if (data.length % perSample !== 0) {
      throw new LockstepError(
        'E_SHAPE',
        `input has ${data.length} values, not a whole number of samples of shape ${formatShape(this.inputShape)}`,
      );
    }
    return { data, shape: [data.length / perSample, ...this.inputShape] };
  }

  /**
   * Runs the model. Without a context, training-mode dropout uses the key of `seed` (default 0) and a
   * call counter as the step, so repeated calls draw fresh masks, PyTorch style, yet replay exactly.
   */
  forward(input: Tensor | Float32Array, context?: ForwardContext, seed = 0): Tensor {
    const x = input instanceof Float32Array ? this.inputTensor(input) : input;
    const rows = checkInteger('forward: batch size', x.shape[0], 0);
    const ctx = context ?? { key: dropoutRunKey(seed), step: this.calls++, samples: rowIndices(rows) };
    return this.module.forward(x, ctx);
  }

  backward(gradOutput: Tensor): void {
    this.module.backward(gradOutput, false);
  }
}

export function rowIndices(rows: number, first = 0): Uint32Array {
  const indices = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) indices[i] = first + i;
  return indices;
}
