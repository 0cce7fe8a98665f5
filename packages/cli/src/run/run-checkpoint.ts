import type { ModelSpec, OptimizerConfig } from '@lockstep/core';
import type { RunConfig } from '../config/settings.js';
import { featureNames, type CsvHeader } from '../data/csv.js';
import type { Checkpoint, InitialWeights } from './checkpoint.js';
import type { ModuleFile } from './modules.js';

/** What every checkpoint of a run records besides its weights and position: the same at every save. */
export interface CheckpointedRun {
  readonly config: RunConfig;
  readonly spec: ModelSpec;
  readonly data: { readonly fingerprint: string; readonly csv?: CsvHeader };
  readonly initFrom?: InitialWeights;
  readonly modules: { readonly files: readonly ModuleFile[] };
  readonly scheduleFromRun: readonly string[];
}

/** The weights and position a checkpoint saves, with the optimizer and kernel family that reached them. */
export interface SavedWeights {
  readonly optimizer: OptimizerConfig;
  readonly kernel: string;
  readonly params: Float32Array;
  readonly optimizerState: Float32Array;
  readonly buffers: Float32Array;
  readonly state: Checkpoint['state'];
}

/** A checkpoint of `run` at `weights`: what train saves at each epoch end, and import once, at step 0. */
export function runCheckpoint(run: CheckpointedRun, weights: SavedWeights): Checkpoint {
  const { config, spec, data } = run;
  return {
    config,
    spec,
    optimizer: weights.optimizer,
    kernel: weights.kernel,
    params: weights.params,
    optimizerState: weights.optimizerState,
    ...(weights.buffers.length > 0 ? { buffers: weights.buffers } : {}),
    state: weights.state,
    dataFingerprint: data.fingerprint,
    ...(run.initFrom === undefined ? {} : { initFrom: run.initFrom }),
    ...(data.csv === undefined ? {} : { featureNames: featureNames(data.csv) }),
    ...(run.modules.files.length === 0 ? {} : { moduleFiles: run.modules.files }),
    ...(run.scheduleFromRun.length === 0 ? {} : { scheduleFromRun: run.scheduleFromRun }),
  };
}
