import { layerEntries, mapLayerEntries, MAX_MODEL_VALUES, type Dataset, type LayerSpec, type ModelSpec } from '@lockstep/core';
import { UserError } from '../errors.js';
import type { Checkpoint } from '../run/checkpoint.js';
import type { RunConfig } from './settings.js';

const DEFAULT_DROPOUT = 0.5;

/**
 * The model a config describes for samples of `inputShape` and `classes` classes, as a spec: the
 * model is built once, by `buildModel`, which is where a bad layer entry is found.
 */
export function modelSpecOf(config: RunConfig, inputShape: readonly number[], classes: number): ModelSpec {
  const layers: LayerSpec[] =
    config.layers === undefined
      ? [
          ...(inputShape.length > 1 ? [{ type: 'flatten' } as const] : []),
          ...config.hidden.flatMap((width): LayerSpec[] => [
            { type: 'linear', out: width },
            { type: 'relu' },
            { type: 'dropout', p: config.dropout ?? DEFAULT_DROPOUT },
          ]),
          { type: 'linear', out: classes },
        ]
      : withDropoutRate(config.layers as LayerSpec[], config.dropout);
  return { input: [...inputShape], layers };
}

/** `layers` with `p` as the rate of every dropout entry, containers' children included (dropout2d and the noise layers keep theirs); as they are where `p` is undefined. */
export function withDropoutRate(layers: readonly LayerSpec[], p: number | undefined): LayerSpec[] {
  return mapLayerEntries(layers, (layer) => (layer.type === 'dropout' && p !== undefined ? { ...layer, p } : layer));
}

/** The p of every dropout entry of `spec`, containers' children included, in order. */
export function dropoutRates(spec: ModelSpec): number[] {
  return layerEntries(spec.layers).flatMap((layer) => (layer.type === 'dropout' ? [layer.p] : []));
}

export function classesOf(data: Dataset): number {
  if (data.targets.kind !== 'classes') throw new UserError('lockstep trains classifiers: the data needs class labels');
  return data.targets.classes;
}

/**
 * Core's limits on a model (values per sample at any layer, parameters), checked for the default MLP
 * in terms of "hidden": core would name layer entries the user never wrote.
 */
function checkHiddenFits(config: RunConfig, inputShape: readonly number[], classes: number): void {
  if (config.layers !== undefined) return;
  const limit = `more than the limit of ${MAX_MODEL_VALUES}`;
  const wide = config.hidden.find((width) => width > MAX_MODEL_VALUES);
  if (wide !== undefined) throw new UserError(`hidden [${config.hidden.join(',')}]: a layer of ${wide} units is ${limit} values per sample; use smaller widths`);
  const widths = [inputShape.reduce((a, b) => a * b, 1), ...config.hidden, classes];
  // Each linear layer has a weight and a bias per output.
  const parameters = widths.slice(1).reduce((sum, out, i) => sum + (widths[i]! + 1) * out, 0);
  if (parameters > MAX_MODEL_VALUES) throw new UserError(`hidden [${config.hidden.join(',')}] gives a model of ${parameters} parameters, ${limit} (1 GiB of float32); use smaller widths`);
}

/** The model spec of a config for this data, checked against a checkpoint's when there is one. */
export function runModel(config: RunConfig, data: Dataset, checkpoint: Checkpoint | null, checkpointPath = ''): ModelSpec {
  checkHiddenFits(config, data.sampleShape, classesOf(data));
  const spec = modelSpecOf(config, data.sampleShape, classesOf(data));
  if (checkpoint !== null && JSON.stringify(spec) !== JSON.stringify(checkpoint.spec)) {
    throw new UserError(`${checkpointPath} was written for a different model (${describeModel(checkpoint.spec)}) than this run's (${describeModel(spec)})`);
  }
  return spec;
}

export function describeModel(spec: ModelSpec): string {
  const layers = spec.layers.map((l) => (l.type === 'linear' ? `linear ${l.out}` : l.type === 'dropout' ? `dropout ${l.p}` : l.type));
  return `input [${spec.input.join(',')}]: ${layers.join(', ')}`;
}
