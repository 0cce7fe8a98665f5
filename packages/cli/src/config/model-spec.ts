import { layerEntries, mapLayerEntries, type Dataset, type LayerSpec, type ModelSpec } from '@lockstep/core';
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
      : mapLayerEntries(config.layers as LayerSpec[], (layer) =>
          layer.type === 'dropout' && config.dropout !== undefined ? { ...layer, p: config.dropout } : layer,
        );
  return { input: [...inputShape], layers };
}

/** The p of every dropout entry of `spec`, containers' children included, in order. */
export function dropoutRates(spec: ModelSpec): number[] {
  return layerEntries(spec.layers).flatMap((layer) => (layer.type === 'dropout' ? [layer.p] : []));
}

export function classesOf(data: Dataset): number {
  if (data.targets.kind !== 'classes') throw new UserError('lockstep trains classifiers: the data needs class labels');
  return data.targets.classes;
}

/** The model spec of a config for this data, checked against a checkpoint's when there is one. */
export function runModel(config: RunConfig, data: Dataset, checkpoint: Checkpoint | null, checkpointPath = ''): ModelSpec {
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
