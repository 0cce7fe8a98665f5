import { checkChoice, checkInteger, describeValue, LockstepError } from './errors.js';
import { loadStateDictInto, stateDictOf, type StateDict, type StateTensor } from './interop/state-dict.js';
import { checkModule, GRADIENT_MODES, type BufferSpec, type ForwardContext, type GradientMode, type Module, type ParameterSpec } from './modules/module.js';
import { foldInString, rootKey } from './random/key.js';
import { dropoutRunKey } from './random/mask.js';
import { formatShape, sizeOf, type Tensor } from './tensor.js';

/**
 * The most float32 values (1 GiB) in a model's parameters, or in one sample's output of any layer: past
 * it a model is refused with one line rather than failing to allocate, or swapping the machine to a halt.
 */
export const MAX_MODEL_VALUES = 2 ** 28;

/** Where one tensor of a module tree (a parameter, or a buffer) lives in the model's flat array of its kind. */
export interface TensorEntry<S> {
  /** "layerPath.name", for example "0.weight" or "1.runningMean". */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly shape: readonly number[];
  readonly spec: S;
  readonly owner: Module;
}

/** Where one parameter tensor lives in the model's flat buffers. */
export type ParameterEntry = TensorEntry<ParameterSpec>;
/** Where one buffer tensor (running statistics) lives in the model's flat `buffers`. */
export type BufferEntry = TensorEntry<BufferSpec>;

/** The tensors `specsOf` gives each module of a tree, in a fixed order (a module's own, then its children's), packed end to end. */
function tensorLayout<S extends { readonly name: string; readonly shape: readonly number[] }>(
  root: Module,
  specsOf: (module: Module) => readonly S[],
): { entries: TensorEntry<S>[]; size: number } {
  const entries: TensorEntry<S>[] = [];
  let offset = 0;
  const visit = (module: Module): void => {
    for (const spec of specsOf(module)) {
      const length = sizeOf(spec.shape);
      entries.push({ path: module.path === '' ? spec.name : `${module.path}.${spec.name}`, offset, length, shape: spec.shape, spec, owner: module });
      offset += length;
    }
    for (const child of module.children()) visit(child);
  };
  visit(root);
  return { entries, size: offset };
}

/** Every parameter tensor of a module tree, in a fixed order, packed end to end. */
export function parameterLayout(root: Module): { entries: ParameterEntry[]; size: number } {
  return tensorLayout(root, (module) => module.parameterSpecs());
}

/** Every buffer tensor of a module tree, in the order of `parameterLayout`, packed end to end. */
export function bufferLayout(root: Module): { entries: BufferEntry[]; size: number } {
  return tensorLayout(root, (module) => module.bufferSpecs());
}

/**
 * The ranges [from, to) of the entries whose layers add into their gradients in a backward pass that
 * sets them, adjacent ones joined: those without `setByBackward`, and those whose layer the mode does
 * not reach, below a container that does not pass it on.
 */
function addedGradientRanges(root: Module, entries: readonly ParameterEntry[]): [number, number][] {
  const reached = new Set<Module>();
  const visit = (module: Module): void => {
    reached.add(module);
    if (module.passesGradientMode()) module.children().forEach(visit);
  };
  visit(root);
  const ranges: [number, number][] = [];
  for (const { offset, length, spec, owner } of entries) {
    if (spec.setByBackward === true && reached.has(owner)) continue;
    const last = ranges.at(-1);
    if (last !== undefined && last[1] === offset) last[1] = offset + length;
    else ranges.push([offset, offset + length]);
  }
  return ranges;
}

/** Each owner's views of its entries' ranges, in entry order: what a layer binds. */
function viewsByOwner<S, V>(entries: readonly TensorEntry<S>[], view: (from: number, to: number) => V): Map<Module, V[]> {
  const byOwner = new Map<Module, V[]>();
  for (const entry of entries) {
    const views = byOwner.get(entry.owner) ?? [];
    views.push(view(entry.offset, entry.offset + entry.length));
    byOwner.set(entry.owner, views);
  }
  return byOwner;
}

/** Where each module with batch statistics writes them in a chunk's statistics slot (float64), in tree order. */
export interface StatisticsEntry {
  readonly offset: number;
  readonly width: number;
  readonly owner: Module;
}

function statisticsLayout(root: Module): { entries: StatisticsEntry[]; size: number } {
  const entries: StatisticsEntry[] = [];
  let offset = 0;
  const visit = (module: Module): void => {
    const width = module.statisticsWidth();
    if (width > 0) entries.push({ offset, width, owner: module });
    offset += width;
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
  /** Buffers (running statistics), `bufferLayout`; default: the model's own. */
  readonly buffers?: Float32Array;
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
  /** The gradient ranges a backward pass that sets the gradients zeros first: those its layers add into. */
  private readonly addedGradients: readonly (readonly [number, number])[];
  params: Float32Array;
  grads: Float32Array;
  /** State the optimizer does not learn (BatchNorm's running statistics), `bufferLayout`; empty for most models. */
  buffers: Float32Array;
  readonly bufferEntries: readonly BufferEntry[];
  /** Float64 values of batch statistics one chunk writes in training mode (0 without BatchNorm). */
  readonly statisticsSize: number;
  private readonly statisticsEntries: readonly StatisticsEntry[];
  /** Where training-mode forwards write their batch statistics: the model's own slot, or a step's chunk slot. */
  statistics: Float64Array;
  private readonly ownStatistics: Float64Array;
  private calls = 0;
  /** Whether `initialize` or a loader (`loadStateDictInto`) gave the parameters values; parameters set by hand are not seen. */
  private valuesGiven = false;
  /**
   * When true, `forward` and `backward` return tensors of their own, as PyTorch does. By default they
   * return a layer's scratch buffer, which the next call overwrites: no allocation per call.
   */
  copyOutputs = false;

  constructor(module: Module, inputShape: readonly number[], options?: ModelBuffers) {
    checkModule('Model: module', module);
    if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      const given = Array.isArray(inputShape) ? JSON.stringify(inputShape) : describeValue(inputShape);
      throw new LockstepError('E_SHAPE', `Model: inputShape must be a non-empty list of positive integers (one sample's shape, such as [784]), got ${given}`);
    }
    this.module = module;
    this.inputShape = [...inputShape];
    this.outputShape = module.outputShape(inputShape);
    const layout = parameterLayout(module);
    if (layout.size > MAX_MODEL_VALUES) {
      throw new LockstepError('E_SPEC', `the model has ${layout.size} parameters, more than the limit of ${MAX_MODEL_VALUES} (1 GiB of float32); use smaller layers`);
    }
    this.entries = layout.entries;
    this.size = layout.size;
    this.addedGradients = addedGradientRanges(module, layout.entries);
    this.params = options?.params ?? new Float32Array(this.size);
    this.grads = options?.grads ?? new Float32Array(this.size);
    this.bind(this.params, this.grads);
    const buffers = bufferLayout(module);
    this.bufferEntries = buffers.entries;
    this.buffers = options?.buffers ?? new Float32Array(buffers.size);
    this.bindBuffers(this.buffers);
    if (options?.buffers === undefined) this.resetBuffers();
    const statistics = statisticsLayout(module);
    this.statisticsEntries = statistics.entries;
    this.statisticsSize = statistics.size;
    this.ownStatistics = new Float64Array(statistics.size);
    this.statistics = this.ownStatistics;
    this.bindStatistics();
  }

  /** Points every layer at new buffers (for example a shared-memory view); values are not copied. */
  bindBuffers(buffers: Float32Array): void {
    const size = this.bufferEntries.reduce((total, entry) => total + entry.length, 0);
    if (buffers.length !== size) throw new LockstepError('E_SHAPE', `Model.bindBuffers: buffers has ${buffers.length} values, the model needs ${size}`);
    this.buffers = buffers;
    for (const [owner, views] of viewsByOwner(this.bufferEntries, (from, to) => buffers.subarray(from, to))) owner.bindBuffers(views);
  }

  /** Sets every buffer to its initial value (running mean 0, running variance 1). */
  resetBuffers(): void {
    for (const entry of this.bufferEntries) this.buffers.fill(entry.spec.initial, entry.offset, entry.offset + entry.length);
  }

  /** Where the next training-mode forwards write their batch statistics (`statisticsSize` values); default: the model's own slot. */
  bindStatistics(slot: Float64Array = this.ownStatistics): void {
    if (slot.length !== this.statisticsSize) throw new LockstepError('E_SHAPE', `Model.bindStatistics: the slot has ${slot.length} values, the model writes ${this.statisticsSize}`);
    this.statistics = slot;
    for (const entry of this.statisticsEntries) entry.owner.bindStatistics(slot.subarray(entry.offset, entry.offset + entry.width));
  }

  /**
   * Folds batch statistics into the running statistics: a step's chunks combined (engine/statistics.ts),
   * or by default those of the last training-mode forward, as one PyTorch forward does.
   */
  updateRunningStatistics(combined: Float64Array = this.statistics): void {
    for (const entry of this.statisticsEntries) entry.owner.updateBuffers(combined.subarray(entry.offset, entry.offset + entry.width));
  }

  /** The fewest rows a forward in training or eval mode takes, and the first layer that needs them (null: any batch). */
  minimumRows(training: boolean): { rows: number; layer: Module | null } {
    let found: { rows: number; layer: Module | null } = { rows: 1, layer: null };
    const visit = (module: Module): void => {
      const rows = module.minimumRows(training);
      if (rows > found.rows) found = { rows, layer: module };
      for (const child of module.children()) visit(child);
    };
    visit(this.module);
    return found;
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
    const views = viewsByOwner(this.entries, (from, to) => ({ value: params.subarray(from, to), grad: grads.subarray(from, to) }));
    for (const [owner, ownViews] of views) owner.bindParameters(ownViews);
  }

  /** Fills every parameter with its initializer, keyed by (seed, parameter path): adding a layer does not change the others. */
  initialize(seed: number): this {
    const initKey = foldInString(rootKey(seed), 'init');
    for (const entry of this.entries) {
      const view = this.params.subarray(entry.offset, entry.offset + entry.length);
      entry.spec.init(foldInString(initKey, entry.path), view, entry.spec.fanIn, entry.spec.fanOut);
    }
    this.resetBuffers();
    this.markInitialized();
    return this;
  }

  /**
   * Counts the parameters as given values, whatever they are, as `initialize` and every loader
   * (`loadStateDict`, `loadSafetensors`) do: `fit` then trains them even when every value is 0.
   */
  markInitialized(): void {
    this.valuesGiven = true;
  }

  /**
   * False for a model built with `new Model` whose parameters were never given values (they are all
   * 0, where PyTorch's layers initialize themselves): training it would only move the last biases.
   */
  get initialized(): boolean {
    return this.valuesGiven || this.params.some((value) => value !== 0);
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
   * The output is a layer's scratch buffer, not a new array: the next forward overwrites it (PyTorch
   * returns new tensors), so keep a result with `output.data.slice()`, or set `copyOutputs`.
   */
  forward(input: Tensor | Float32Array, context?: ForwardContext, seed = 0): Tensor {
    const x = input instanceof Float32Array ? this.inputTensor(input) : input;
    const rows = checkInteger('forward: batch size', x.shape[0], 0);
    const ctx = context ?? { key: dropoutRunKey(seed), step: this.calls++, samples: rowIndices(rows) };
    return this.returned(this.module.forward(x, ctx));
  }

  /**
   * Adds the gradients of the loss whose output gradient is `gradOutput` into `grads`; with
   * `{ gradients: 'set' }`, `grads` holds them alone afterwards, whatever it held (PyTorch's
   * `zero_grad()` then `backward()`, the same bits, with fewer passes over large layers' gradients).
   * With `{ inputGradient: true }` it also returns the gradient with respect to the input of the last
   * forward (saliency maps, adversarial examples); otherwise null, and the first layers skip it.
   * The returned tensor is the layer's scratch: the next backward overwrites it, so copy it to keep it
   * (or set `copyOutputs`).
   */
  backward(gradOutput: Tensor, options: { inputGradient?: boolean; gradients?: GradientMode } = {}): Tensor | null {
    const gradients = checkChoice('backward: gradients', options.gradients ?? 'add', GRADIENT_MODES);
    if (gradients === 'set') for (const [from, to] of this.addedGradients) this.grads.fill(0, from, to);
    const gradInput = this.module.backward(gradOutput, options.inputGradient === true, gradients);
    return gradInput === null ? null : this.returned(gradInput);
  }

  private returned(tensor: Tensor): Tensor {
    return this.copyOutputs ? { data: tensor.data.slice(), shape: [...tensor.shape] } : tensor;
  }

  /**
   * PyTorch's `state_dict()`: a copy of every parameter and buffer by its PyTorch name ("0.weight",
   * "2.running_mean"), in PyTorch's layouts and order (docs/design.md, "Names and layouts").
   */
  stateDict(): StateDict {
    return stateDictOf(this);
  }

  /**
   * Copies a state dict into the parameters and buffers, in place. Names and shapes must match the
   * model's exactly; otherwise nothing is loaded and one line lists every mismatch (missing,
   * unexpected, wrong shape).
   */
  loadStateDict(dict: ReadonlyMap<string, StateTensor> | Readonly<Record<string, StateTensor>>): void {
    loadStateDictInto(this, dict);
  }
}

export function rowIndices(rows: number, first = 0): Uint32Array {
  const indices = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) indices[i] = first + i;
  return indices;
}
