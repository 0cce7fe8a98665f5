import { join } from 'node:path';
import { adam, adamw, KERNEL_CHOICES, sgd, type Dataset, type ModelSpec, type OptimizerConfig } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import type { Checkpoint } from './checkpoint.js';
import { modelSpecOf, type RunConfig } from '../config/run-config.js';
import { loadData, splitValidation } from '../data/sources.js';
import { UserError } from '../errors.js';
import { importModules } from './modules.js';
import { choiceFlag, integerFlag, numberFlag, positiveNumberFlag } from '../config/flags.js';

/** The flags that set config values, as commander hands them over. */
export interface ConfigFlags {
  data?: string;
  epochs?: string;
  batchSize?: string;
  chunkSize?: string;
  lr?: string;
  dropout?: string;
  clipNorm?: string;
  kernel?: string;
  seed?: string;
  checkpointEvery?: string;
}

/** The config values the flags set (only those given), checked one by one. */
export function flagConfig(flags: ConfigFlags): Partial<RunConfig> {
  const values: Partial<RunConfig> = {
    data: flags.data,
    epochs: integerFlag('--epochs', flags.epochs, 1),
    batchSize: integerFlag('--batch-size', flags.batchSize, 1),
    chunkSize: integerFlag('--chunk-size', flags.chunkSize, 1),
    lr: numberFlag('--lr', flags.lr, 0, 10),
    dropout: numberFlag('--dropout', flags.dropout, 0, 1),
    clipNorm: positiveNumberFlag('--clip-norm', flags.clipNorm),
    kernel: choiceFlag('--kernel', flags.kernel, KERNEL_CHOICES),
    seed: integerFlag('--seed', flags.seed, 0),
    checkpointEvery: integerFlag('--checkpoint-every', flags.checkpointEvery, 1),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

/** A new run folder's default name: runs/<prefix><time>. */
export function defaultOutFolder(prefix = ''): string {
  return join('runs', prefix + new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19));
}

export function optimizerOf(config: RunConfig): OptimizerConfig {
  const { lr, weightDecay, clipNorm } = config;
  if (config.optimizer === 'sgd') return sgd({ lr, momentum: config.momentum, weightDecay, clipNorm });
  return config.optimizer === 'adam' ? adam({ lr, weightDecay, clipNorm }) : adamw({ lr, weightDecay, clipNorm });
}

/** The data of a run: the same seeded validation split every time the same config is loaded. */
export function runData(config: RunConfig, dataOverride?: string): { train: Dataset; validation: Dataset | null; test: Dataset | null } {
  const loaded = loadData(dataOverride ?? config.data, config.seed);
  return { ...splitValidation(loaded.train, config.validationSplit, config.seed), test: loaded.test };
}

export function classesOf(data: Dataset): number {
  if (data.targets.kind !== 'classes') throw new UserError('lockstep trains classifiers: the data needs class labels');
  return data.targets.classes;
}

/** The model of a config for this data, checked against a checkpoint's when there is one. */
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

export async function trainerFor(checkpoint: Checkpoint, workers: number): Promise<Trainer> {
  const setup = await importModules(checkpoint.config.modules);
  const trainer = new Trainer({
    model: checkpoint.spec,
    seed: checkpoint.config.seed,
    optimizer: checkpoint.optimizer,
    chunkSize: checkpoint.config.chunkSize,
    kernel: checkpoint.config.kernel ?? 'strict',
    workers,
    setup,
  });
  trainer.load(checkpoint);
  return trainer;
}
