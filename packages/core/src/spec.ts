import { LockstepError, describeValue } from './errors.js';
import { INIT_NAMES, type InitName } from './init.js';
import { GELU, LeakyReLU, ReLU, SELU, Sigmoid, Tanh, type GeluApproximation } from './modules/activations.js';
import { AlphaDropout, GaussianDropout } from './modules/noise-dropout.js';
import { DropConnectLinear } from './modules/drop-connect.js';
import { Dropout } from './modules/dropout.js';
import { Flatten } from './modules/flatten.js';
import { Linear } from './modules/linear.js';
import type { Module } from './modules/module.js';
import { Sequential } from './modules/sequential.js';
import { MAX_MODEL_VALUES, Model } from './model.js';
import type { DropoutScaling } from './ops/dropout.js';
import { Conv2d, type Conv2dOptions } from './modules/conv2d.js';
import { Dropout2d } from './modules/dropout2d.js';
import { AvgPool2d, GlobalAvgPool2d, MaxPool2d, type AvgPool2dOptions, type Pool2dOptions } from './modules/pool.js';
import { formatShape, sizeOf } from './tensor.js';

/** One layer of a model spec, plain JSON. `linear.in` is inferred from the previous layer when left out. */
export type LayerSpec =
  | { type: 'linear'; out: number; in?: number; bias?: boolean; init?: InitName; dropConnect?: number; maxNorm?: number }
  | { type: 'relu' }
  | { type: 'leaky-relu'; negativeSlope?: number }
  | { type: 'tanh' }
  | { type: 'sigmoid' }
  | { type: 'gelu'; approximate?: GeluApproximation }
  | { type: 'flatten' }
  | { type: 'dropout'; p: number; scaling?: DropoutScaling; noiseShape?: number[] }
  | { type: 'sequential'; layers: LayerSpec[] }
  | ({ type: 'conv2d'; out: number; in?: number } & Omit<Conv2dOptions, 'inChannels' | 'outChannels'>)
  | ({ type: 'max-pool2d' } & Pool2dOptions)
  | ({ type: 'avg-pool2d' } & AvgPool2dOptions)
  | { type: 'global-avg-pool2d' }
  | { type: 'dropout2d'; p: number; scaling?: DropoutScaling }
  | { type: 'selu' }
  | { type: 'gaussian-dropout'; p: number }
  | { type: 'alpha-dropout'; p: number };

/** A whole model: the shape of one input sample and the layers, in order. */
export interface ModelSpec {
  input: number[];
  layers: LayerSpec[];
}

type Field = 'int' | 'pair' | 'pair0' | 'number' | 'rate' | 'positive' | 'boolean' | 'shape' | 'init' | 'scaling' | 'approximate' | 'layers';

const FIELDS: Record<LayerSpec['type'], { required: Record<string, Field>; optional: Record<string, Field> }> = {
  linear: { required: { out: 'int' }, optional: { in: 'int', bias: 'boolean', init: 'init', dropConnect: 'rate', maxNorm: 'positive' } },
  relu: { required: {}, optional: {} },
  'leaky-relu': { required: {}, optional: { negativeSlope: 'number' } },
  tanh: { required: {}, optional: {} },
  sigmoid: { required: {}, optional: {} },
  gelu: { required: {}, optional: { approximate: 'approximate' } },
  flatten: { required: {}, optional: {} },
  dropout: { required: { p: 'number' }, optional: { scaling: 'scaling', noiseShape: 'shape' } },
  sequential: { required: { layers: 'layers' }, optional: {} },
  conv2d: {
    required: { out: 'int', kernelSize: 'pair' },
    optional: { in: 'int', stride: 'pair', padding: 'pair0', dilation: 'pair', groups: 'int', bias: 'boolean', init: 'init', maxNorm: 'positive' },
  },
  'max-pool2d': { required: { kernelSize: 'pair' }, optional: { stride: 'pair', padding: 'pair0' } },
  'avg-pool2d': { required: { kernelSize: 'pair' }, optional: { stride: 'pair', padding: 'pair0', countIncludePad: 'boolean' } },
  'global-avg-pool2d': { required: {}, optional: {} },
  dropout2d: { required: { p: 'number' }, optional: { scaling: 'scaling' } },
  selu: { required: {}, optional: {} },
  'gaussian-dropout': { required: { p: 'number' }, optional: {} },
  'alpha-dropout': { required: { p: 'number' }, optional: {} },
};

function isPair(value: unknown, min: number): boolean {
  const ok = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= min;
  return ok(value) || (Array.isArray(value) && value.length === 2 && value.every(ok));
}

const CHOICES: Partial<Record<Field, readonly string[]>> = {
  init: INIT_NAMES,
  scaling: ['inverted', 'classic'],
  approximate: ['none', 'tanh'],
};

/** Builds a custom layer from its spec entry; `inputShape` is the shape of one input sample. */
export type LayerFactory = (entry: Readonly<Record<string, unknown>>, inputShape: readonly number[]) => Module;

const customLayers = new Map<string, LayerFactory>();

/**
 * Adds a layer type to the spec format, for layers written outside lockstep. The factory checks its
 * own fields. A worker pool imports the module that registers it (see the trainer's `setup` option).
 */
export function registerLayer(type: string, factory: LayerFactory): void {
  if (Object.hasOwn(FIELDS, type)) throw new LockstepError('E_SPEC', `registerLayer: "${type}" is a built-in layer type; choose another name`);
  customLayers.set(type, factory);
}

function fail(where: string, message: string): never {
  throw new LockstepError('E_SPEC', `model spec${where === '' ? '' : ` ${where}`}: ${message}`);
}

function checkField(where: string, name: string, kind: Field, value: unknown): void {
  const ok =
    kind === 'int' ? Number.isInteger(value) && (value as number) >= 1
    : kind === 'pair' ? isPair(value, 1)
    : kind === 'pair0' ? isPair(value, 0)
    : kind === 'number' ? typeof value === 'number' && Number.isFinite(value)
    : kind === 'rate' ? typeof value === 'number' && value >= 0 && value <= 1
    : kind === 'positive' ? typeof value === 'number' && Number.isFinite(value) && value > 0
    : kind === 'boolean' ? typeof value === 'boolean'
    : kind === 'shape' ? Array.isArray(value) && value.length > 0 && value.every((d) => Number.isInteger(d) && d >= 1)
    : kind === 'layers' ? Array.isArray(value)
    : CHOICES[kind]!.includes(value as string);
  if (ok) return;
  const expected =
    kind === 'int' ? 'a positive integer'
    : kind === 'pair' ? 'a positive integer or a list of two'
    : kind === 'pair0' ? 'an integer >= 0 or a list of two'
    : kind === 'number' ? 'a finite number'
    : kind === 'rate' ? 'a number in [0, 1]'
    : kind === 'positive' ? 'a finite number > 0'
    : kind === 'boolean' ? 'true or false'
    : kind === 'shape' ? 'a non-empty list of positive integers'
    : kind === 'layers' ? 'a list of layers'
    : `one of ${CHOICES[kind]!.map((c) => JSON.stringify(c)).join(', ')}`;
  fail(where, `"${name}" must be ${expected}, got ${kind === 'shape' ? JSON.stringify(value) : describeValue(value)}`);
}

function checkLayer(where: string, entry: unknown): LayerSpec {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    fail(where, `must be an object like {"type": "relu"}, got ${describeValue(entry)}`);
  }
  const record = entry as Record<string, unknown>;
  const type = record.type;
  // Own properties only: "constructor" or "toString" is not a layer type or a field, though every object has one.
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    const known = [...Object.keys(FIELDS), ...customLayers.keys()].join(', ');
    fail(where, `"type" must be one of ${known}, got ${describeValue(type)}`);
  }
  const fields = FIELDS[type as LayerSpec['type']];
  const label = `${where} (${type})`;
  for (const [name, kind] of Object.entries(fields.required)) {
    if (!Object.hasOwn(record, name)) fail(label, `"${name}" is required`);
    checkField(label, name, kind, record[name]);
  }
  for (const [name, value] of Object.entries(record)) {
    if (name === 'type' || Object.hasOwn(fields.required, name)) continue;
    const kind = Object.hasOwn(fields.optional, name) ? fields.optional[name] : undefined;
    if (kind === undefined) {
      const known = [...Object.keys(fields.required), ...Object.keys(fields.optional)];
      fail(label, `unknown field "${name}"${known.length > 0 ? `; known fields: ${known.join(', ')}` : ''}`);
    }
    checkField(label, name, kind, value);
  }
  return record as LayerSpec;
}

function buildLayers(where: string, entries: unknown, inputShape: readonly number[]): Module[] {
  if (!Array.isArray(entries)) fail(where, `"layers" must be a list, got ${describeValue(entries)}`);
  let shape = [...inputShape];
  return entries.map((entry, index) => {
    const at = `${where}[${index}]`;
    const custom = customLayers.get((entry as { type?: unknown } | null)?.type as string);
    const layer = custom === undefined ? buildLayer(at, checkLayer(at, entry), shape) : custom(entry as Record<string, unknown>, shape);
    try {
      shape = layer.outputShape(shape);
    } catch (error) {
      fail(at, error instanceof Error ? error.message.replace(/^[^:]*: /, '') : String(error));
    }
    checkSampleSize(at, shape);
    return layer;
  });
}

function checkSampleSize(where: string, shape: readonly number[]): void {
  if (sizeOf(shape) > MAX_MODEL_VALUES) {
    fail(where, `${formatShape(shape)} per sample is ${sizeOf(shape)} values, more than the limit of ${MAX_MODEL_VALUES}; use smaller layers`);
  }
}

/** Runs a layer constructor, re-labelling its option errors with the spec entry. */
function withOptionErrors(where: string, build: () => Module): Module {
  try {
    return build();
  } catch (error) {
    if (error instanceof LockstepError && error.code === 'E_SPEC') throw error;
    return fail(where, (error as Error).message.replace(/^[A-Za-z0-9]+: /, ''));
  }
}

function buildLayer(where: string, spec: LayerSpec, inputShape: readonly number[]): Module {
  switch (spec.type) {
    case 'linear': {
      const inferred = inputShape.length === 1 ? inputShape[0] : undefined;
      const inFeatures = spec.in ?? inferred;
      if (inFeatures === undefined) {
        fail(`${where} (linear)`, `input samples have shape [${inputShape.join(',')}]; add {"type": "flatten"} before it`);
      }
      const options = { inFeatures, outFeatures: spec.out, bias: spec.bias ?? true, init: spec.init ?? 'torch-default', maxNorm: spec.maxNorm };
      return withOptionErrors(`${where} (linear)`, () => (spec.dropConnect === undefined ? new Linear(options) : new DropConnectLinear({ ...options, p: spec.dropConnect })));
    }
    case 'relu':
      return new ReLU();
    case 'leaky-relu':
      return new LeakyReLU(spec.negativeSlope ?? 0.01);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    case 'gelu':
      return new GELU(spec.approximate ?? 'none');
    case 'flatten':
      return new Flatten();
    case 'dropout':
      return withOptionErrors(`${where} (dropout)`, () => new Dropout(spec.p, { scaling: spec.scaling ?? 'inverted', noiseShape: spec.noiseShape }));
    case 'sequential':
      return new Sequential(...buildLayers(`${where}.layers`, spec.layers, inputShape));
    case 'conv2d':
      return withOptionErrors(`${where} (conv2d)`, () => {
        const { type: _type, out, in: inChannels, ...options } = spec;
        const channels = inChannels ?? (inputShape.length === 3 ? inputShape[0] : undefined);
        if (channels === undefined) fail(`${where} (conv2d)`, `input samples have shape [${inputShape.join(',')}]; conv2d takes [channels, height, width]`);
        return new Conv2d({ ...options, inChannels: channels, outChannels: out });
      });
    case 'max-pool2d':
      return withOptionErrors(`${where} (max-pool2d)`, () => new MaxPool2d(spec));
    case 'avg-pool2d':
      return withOptionErrors(`${where} (avg-pool2d)`, () => new AvgPool2d(spec));
    case 'global-avg-pool2d':
      return new GlobalAvgPool2d();
    case 'dropout2d':
      return withOptionErrors(`${where} (dropout2d)`, () => new Dropout2d(spec.p, { scaling: spec.scaling ?? 'inverted' }));
    case 'selu':
      return new SELU();
    case 'gaussian-dropout':
      return withOptionErrors(`${where} (gaussian-dropout)`, () => new GaussianDropout(spec.p));
    case 'alpha-dropout':
      return withOptionErrors(`${where} (alpha-dropout)`, () => new AlphaDropout(spec.p));
  }
}

/** Checks a parsed JSON model spec and builds its Sequential; errors name the offending entry. */
export function sequentialFromSpec(spec: unknown): Sequential {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    fail('', `must be an object {"input": [...], "layers": [...]}, got ${describeValue(spec)}`);
  }
  const { input, layers } = spec as Record<string, unknown>;
  if (!Array.isArray(input) || input.length === 0 || !input.every((d) => Number.isInteger(d) && d >= 1)) {
    fail('"input"', `must be a non-empty list of positive integers (one sample's shape), got ${JSON.stringify(input)}`);
  }
  checkSampleSize('"input"', input);
  return new Sequential(...buildLayers('layers', layers, input));
}

/** Builds a Model from a spec, with parameters initialized from `seed`. */
export function modelFromSpec(spec: unknown, seed: number): Model {
  const sequential = sequentialFromSpec(spec);
  return new Model(sequential, (spec as ModelSpec).input).initialize(seed);
}

/** The spec of a module tree built in code, so it can be rebuilt elsewhere (a worker, a checkpoint). */
export function layerSpecOf(module: Module): LayerSpec {
  if (module instanceof Linear) {
    return {
      type: 'linear',
      in: module.inFeatures,
      out: module.outFeatures,
      bias: module.hasBias,
      init: module.init,
      ...(module instanceof DropConnectLinear ? { dropConnect: module.p } : {}),
      ...(module.maxNorm === null ? {} : { maxNorm: module.maxNorm }),
    };
  }
  if (module instanceof ReLU) return { type: 'relu' };
  if (module instanceof LeakyReLU) return { type: 'leaky-relu', negativeSlope: module.negativeSlope };
  if (module instanceof Tanh) return { type: 'tanh' };
  if (module instanceof Sigmoid) return { type: 'sigmoid' };
  if (module instanceof GELU) return { type: 'gelu', approximate: module.approximate };
  if (module instanceof Flatten) return { type: 'flatten' };
  if (module instanceof Dropout) {
    const { p, scaling, noiseShape } = module;
    return noiseShape === null ? { type: 'dropout', p, scaling } : { type: 'dropout', p, scaling, noiseShape: [...noiseShape] };
  }
  if (module instanceof Sequential) return { type: 'sequential', layers: module.layers.map(layerSpecOf) };
  if (module instanceof Conv2d) {
    const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups, hasBias, init, maxNorm } = module;
    const entry = { type: 'conv2d', in: inChannels, out: outChannels, kernelSize, stride, padding, dilation, groups, bias: hasBias, init } as const;
    return maxNorm === null ? entry : { ...entry, maxNorm };
  }
  if (module instanceof MaxPool2d) return { type: 'max-pool2d', kernelSize: module.kernelSize, stride: module.stride, padding: module.padding };
  if (module instanceof AvgPool2d) {
    const { kernelSize, stride, padding, countIncludePad } = module;
    return { type: 'avg-pool2d', kernelSize, stride, padding, countIncludePad };
  }
  if (module instanceof GlobalAvgPool2d) return { type: 'global-avg-pool2d' };
  if (module instanceof Dropout2d) return { type: 'dropout2d', p: module.p, scaling: module.scaling };
  if (module instanceof SELU) return { type: 'selu' };
  if (module instanceof GaussianDropout) return { type: 'gaussian-dropout', p: module.p };
  if (module instanceof AlphaDropout) return { type: 'alpha-dropout', p: module.p };
  throw new LockstepError('E_SPEC', `${module.describe()} has no spec form`);
}

export function specOf(model: Model): ModelSpec {
  const root = layerSpecOf(model.module);
  return { input: [...model.inputShape], layers: root.type === 'sequential' ? root.layers : [root] };
}
