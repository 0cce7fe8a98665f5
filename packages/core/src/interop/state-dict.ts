import { describeValue, LockstepError } from '../errors.js';
import type { Model, TensorEntry } from '../model.js';
import type { Module } from '../modules/module.js';
import { formatShape, sizeOf } from '../tensor.js';

/** One tensor of a state dict: its shape and its float32 values, row-major. */
export interface StateTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * PyTorch's `state_dict()`: parameters and buffers by name, in the model's order. The names are those
 * of an `nn.Sequential` of the same layers ("0.weight", "3.running_mean", "1.0.bias" when nested) and
 * the layouts are PyTorch's (a Linear weight is [out, in], a Conv2d weight [out, in/groups, kh, kw]),
 * which are lockstep's own, so values are copied as they are.
 */
export type StateDict = Map<string, StateTensor>;

/** PyTorch's name of a lockstep tensor path: the layer path as is, the tensor's name in snake case ("3.runningMean" -> "3.running_mean"). */
export function torchName(path: string): string {
  const dot = path.lastIndexOf('.');
  const name = path.slice(dot + 1).replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  return path.slice(0, dot + 1) + name;
}

interface StateItem {
  readonly name: string;
  readonly entry: TensorEntry<unknown>;
  /** The flat array the tensor lives in: the model's parameters or its buffers. */
  readonly values: Float32Array;
}

/** Every tensor a state dict holds, in PyTorch's order: each module's parameters, then its buffers, modules in tree order. */
export function stateEntries(model: Model): StateItem[] {
  const items: StateItem[] = [];
  const visit = (module: Module): void => {
    for (const entry of model.entries) if (entry.owner === module) items.push({ name: torchName(entry.path), entry, values: model.params });
    for (const entry of model.bufferEntries) if (entry.owner === module) items.push({ name: torchName(entry.path), entry, values: model.buffers });
    for (const child of module.children()) visit(child);
  };
  visit(model.module);
  return items;
}

/** A copy of the model's parameters and buffers, by PyTorch name. */
export function stateDictOf(model: Model): StateDict {
  const dict: StateDict = new Map();
  for (const { name, entry, values } of stateEntries(model)) {
    dict.set(name, { shape: [...entry.shape], data: values.slice(entry.offset, entry.offset + entry.length) });
  }
  return dict;
}

/** Every way `dict` differs from the model's state dict (missing, unexpected, wrong shape), as phrases; empty when it fits. */
export function stateDictMismatches(model: Model, dict: ReadonlyMap<string, StateTensor>): string[] {
  const expected = new Map(stateEntries(model).map((item) => [item.name, item.entry.shape] as const));
  const problems: string[] = [];
  for (const name of expected.keys()) if (!dict.has(name)) problems.push(`missing ${name}`);
  for (const [name, tensor] of dict) {
    const shape = expected.get(name);
    if (shape === undefined) problems.push(`unexpected ${name}`);
    else if (!isStateTensor(tensor)) problems.push(`${name} is not { shape: number[], data: Float32Array }`);
    else if (formatShape(tensor.shape) !== formatShape(shape)) problems.push(`${name} has shape ${formatShape(tensor.shape)}, the model's is ${formatShape(shape)}`);
    else if (tensor.data.length !== sizeOf(shape)) problems.push(`${name} has ${tensor.data.length} values, its shape ${formatShape(shape)} needs ${sizeOf(shape)}`);
  }
  return problems;
}

function isStateTensor(value: unknown): value is StateTensor {
  const tensor = value as Partial<StateTensor> | null;
  return typeof tensor === 'object' && tensor !== null && Array.isArray(tensor.shape) && tensor.data instanceof Float32Array;
}

/** What the line that refuses a state dict of another model says to do, unless its caller knows better. */
export const SAME_MODEL_REMEDY = 'give the tensors of a model with the same layers and sizes';

/**
 * Throws one line listing every mismatch, unless `dict` fits the model; `what` names the dict in the
 * message, and `remedy` says what to do (a caller that built the model from settings can say to fix those too).
 */
export function checkStateDict(model: Model, dict: ReadonlyMap<string, StateTensor>, what = 'loadStateDict', remedy = SAME_MODEL_REMEDY): void {
  const problems = stateDictMismatches(model, dict);
  if (problems.length === 0) return;
  const count = problems.length === 1 ? '1 mismatch' : `${problems.length} mismatches`;
  throw new LockstepError('E_SHAPE', `${what}: ${count} with the model: ${problems.join('; ')}; ${remedy}`);
}

/**
 * Throws E_NUMERIC at the first value of `dict` that training cannot start from, in its order: a NaN
 * or infinite value (parameters and running statistics alike), or a negative running variance;
 * `what` names the dict. Loading takes such values, as PyTorch's `load_state_dict` does, but training
 * from a non-finite one stops at its first step with advice meant for a run that diverged, and a
 * negative variance makes every eval-mode output NaN.
 */
export function checkStateValues(dict: ReadonlyMap<string, StateTensor>, what = 'loadStateDict'): void {
  for (const [name, tensor] of dict) {
    const index = tensor.data.findIndex((value) => !Number.isFinite(value));
    if (index >= 0) {
      throw new LockstepError('E_NUMERIC', `${what}: tensor "${name}" holds ${tensor.data[index]} at index ${index}; training starts from finite weights, so save them again from a model that has no NaN or infinity`);
    }
    const negative = negativeVariance(name, tensor.data);
    if (negative !== null) throw new LockstepError('E_NUMERIC', `${what}: ${negative}; save it again from a model whose running variances are >= 0`);
  }
}

/**
 * The first negative running variance among `buffers` (the model's buffers, or an array of their
 * layout), described for an error message that says where they came from; null when there is none.
 * Training never writes one: its variances are sums of squares.
 */
export function negativeRunningVariance(model: Model, buffers: Float32Array): string | null {
  for (const entry of model.bufferEntries) {
    const negative = negativeVariance(torchName(entry.path), buffers.subarray(entry.offset, entry.offset + entry.length));
    if (negative !== null) return negative;
  }
  return null;
}

/** PyTorch names BatchNorm's running variance `running_var`; a value below 0 is no variance. */
function negativeVariance(name: string, values: Float32Array): string | null {
  if (name.split('.').at(-1) !== 'running_var') return null;
  const index = values.findIndex((value) => value < 0);
  return index < 0 ? null : `tensor "${name}" holds ${values[index]} at index ${index}, a negative running variance, which makes eval-mode outputs NaN`;
}

/** A Map, or a plain object of name -> tensor, as a Map. */
export function asStateDict(dict: ReadonlyMap<string, StateTensor> | Readonly<Record<string, StateTensor>>): ReadonlyMap<string, StateTensor> {
  if (typeof dict !== 'object' || dict === null) throw new LockstepError('E_OPTION', `loadStateDict: the state dict must be a Map or an object of name -> { shape, data }, got ${describeValue(dict)}`);
  return dict instanceof Map ? dict : new Map(Object.entries(dict));
}

/**
 * Copies `dict` into the model's parameters and buffers, in place (shared memory stays shared), after
 * checking all of it. The model then counts as initialized, even if every loaded value is 0.
 */
export function loadStateDictInto(model: Model, given: ReadonlyMap<string, StateTensor> | Readonly<Record<string, StateTensor>>, what = 'loadStateDict', remedy = SAME_MODEL_REMEDY): void {
  const dict = asStateDict(given);
  checkStateDict(model, dict, what, remedy);
  for (const { name, entry, values } of stateEntries(model)) values.set(dict.get(name)!.data, entry.offset);
  model.markInitialized();
}
