import { LockstepError, describeValue } from './errors.js';
import { layerDeclaration, layerModuleFile, layerTypes, type LayerFactory, type LayerEntry } from './layer-registry.js';
import { BUILTIN_LAYERS, type LayerSpec } from './modules/builtin-layers.js';
import { Module } from './modules/module.js';
import { Sequential } from './modules/sequential.js';
import { MAX_MODEL_VALUES, Model } from './model.js';
import { checkFields, specError } from './spec-fields.js';
import { formatShape, sizeOf } from './tensor.js';

/** A whole model: the shape of one input sample and the layers, in order. */
export interface ModelSpec {
  input: number[];
  layers: LayerSpec[];
}

/** The declaration of an entry's type, once the entry's fields are checked against it. */
function checkLayer(where: string, entry: unknown): LayerFactory {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    specError(where, `must be an object like {"type": "relu"}, got ${describeValue(entry)}`);
  }
  const record = entry as Record<string, unknown>;
  const declaration = typeof record.type === 'string' ? layerDeclaration(record.type) : undefined;
  if (declaration === undefined) specError(where, `"type" must be one of ${layerTypes().join(', ')}, got ${describeValue(record.type)}`);
  checkFields(`${where} (${declaration.type})`, declaration.fields, record);
  return declaration;
}

function buildLayers(where: string, entries: unknown, inputShape: readonly number[]): Module[] {
  if (!Array.isArray(entries)) specError(where, `"layers" must be a list, got ${describeValue(entries)}`);
  let shape = [...inputShape];
  return entries.map((entry, index) => {
    const at = `${where}[${index}]`;
    const declaration = checkLayer(at, entry);
    const context = { layers: (field: string, fieldShape: readonly number[]) => buildLayers(`${at}.${field}`, (entry as Record<string, unknown>)[field], fieldShape) };
    const layer = buildLayer(`${at} (${registeredType(declaration.type)})`, declaration, () => declaration.fromSpec(entry as LayerEntry, shape, context));
    layer.builtFrom = entry as LayerEntry;
    try {
      shape = layer.outputShape(shape);
    } catch (error) {
      specError(at, error instanceof Error ? error.message.replace(/^[^:]*: /, '') : String(error));
    }
    checkSampleSize(at, shape);
    return layer;
  });
}

/** A layer type, with the module file that registered it where one did: the code that its `fromSpec` runs. */
function registeredType(type: string): string {
  const file = layerModuleFile(type);
  return file === undefined ? type : `${type}, registered by ${file}`;
}

function checkSampleSize(where: string, shape: readonly number[]): void {
  if (sizeOf(shape) > MAX_MODEL_VALUES) {
    specError(where, `${formatShape(shape)} per sample is ${sizeOf(shape)} values, more than the limit of ${MAX_MODEL_VALUES}; use smaller layers`);
  }
}

/**
 * Runs a layer's `fromSpec`, re-labelling its option and shape errors with the spec entry. Any other
 * error, and a result that is no Module, is a bug in that layer's code. A registered layer's is its
 * module's: one line naming the entry (and the module file, in `where`, where the registry knows it),
 * with the original error as its cause so its stack is not lost. A built-in layer's is lockstep's own, and goes on as it is, to be reported as one.
 */
function buildLayer(where: string, declaration: LayerFactory, build: () => unknown): Module {
  let layer: unknown;
  try {
    layer = build();
  } catch (error) {
    if (error instanceof LockstepError && error.code === 'E_SPEC') throw error;
    if (error instanceof LockstepError) specError(where, error.message.replace(/^[A-Za-z0-9]+: /, ''));
    if ((BUILTIN_LAYERS as readonly LayerFactory[]).includes(declaration)) throw error;
    specError(where, `fromSpec threw: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!(layer instanceof Module)) {
    specError(where, `fromSpec must return a Module (an instance of a class that extends Module from @lockstep/core), got ${describeValue(layer)}`);
  }
  return layer;
}

const isEntry = (value: unknown): value is LayerEntry => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The layer lists an entry holds (a container's children): its fields whose declared kind is "layers". */
function childLists(entry: LayerEntry): Array<[string, unknown[]]> {
  const fields = layerDeclaration(entry.type)?.fields;
  const kinds = { ...fields?.required, ...fields?.optional };
  return Object.keys(kinds)
    .filter((field) => kinds[field] === 'layers')
    .flatMap((field): Array<[string, unknown[]]> => {
      const list = (entry as unknown as Record<string, unknown>)[field];
      return Array.isArray(list) ? [[field, list]] : [];
    });
}

/**
 * The entries of `layers` with `change` applied to each one at any depth: a container's children are
 * changed before the container itself. Nothing is checked here; what is not an entry stays as it is,
 * for the spec's own checks to name.
 */
export function mapLayerEntries<Entry extends LayerEntry>(layers: readonly Entry[], change: (entry: Entry) => Entry): Entry[] {
  return layers.map((entry) => {
    if (!isEntry(entry)) return entry;
    const lists = childLists(entry);
    if (lists.length === 0) return change(entry);
    return change({ ...entry, ...Object.fromEntries(lists.map(([field, list]) => [field, mapLayerEntries(list as Entry[], change)])) });
  });
}

/** Every entry of `layers` at any depth, each container before its children. */
export function layerEntries<Entry extends LayerEntry>(layers: readonly Entry[]): Entry[] {
  return layers.filter(isEntry).flatMap((entry) => [entry, ...childLists(entry).flatMap(([, list]) => layerEntries(list as Entry[]))]);
}

/** Checks a parsed JSON model spec and builds its Sequential; errors name the offending entry. */
export function sequentialFromSpec(spec: unknown): Sequential {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    specError('', `must be an object {"input": [...], "layers": [...]}, got ${describeValue(spec)}`);
  }
  const { input, layers } = spec as Record<string, unknown>;
  if (!Array.isArray(input) || input.length === 0 || !input.every((d) => Number.isInteger(d) && d >= 1)) {
    specError('"input"', `must be a non-empty list of positive integers (one sample's shape), got ${JSON.stringify(input)}`);
  }
  checkSampleSize('"input"', input);
  return new Sequential(...buildLayers('layers', layers, input));
}

/** Builds a Model from a spec, with parameters initialized from `seed`. */
export function modelFromSpec(spec: unknown, seed: number): Model {
  const sequential = sequentialFromSpec(spec);
  return new Model(sequential, (spec as ModelSpec).input).initialize(seed);
}

/** The spec entry of a module tree built in code, so it can be rebuilt elsewhere (a worker, a checkpoint). */
export function layerSpecOf(module: Module): LayerSpec {
  // A layer added with registerLayer writes its own entry, which the built-in union does not name.
  return module.toSpec() as LayerSpec;
}

export function specOf(model: Model): ModelSpec {
  const root = layerSpecOf(model.module);
  return { input: [...model.inputShape], layers: root.type === 'sequential' ? (root.layers as LayerSpec[]) : [root] };
}
