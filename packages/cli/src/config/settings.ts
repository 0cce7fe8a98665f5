import { KERNEL_CHOICES, type CheckedAugmentSpec, type KernelChoice } from '@lockstep/core';
import { isDataSource } from '../data/sources.js';
import { IMAGE_SETTINGS, type ImageSettings } from './image-settings.js';
import { earlyStoppingRule, scheduleRule, type EarlyStoppingSetting, type ScheduleSetting } from './schedule.js';
import { augmentation, choice, dropoutRate, integer, integerList, number, objectList, positive, text, textList, type Rule } from './rules.js';

/** A run's settings: the config file's format, and what is saved as config.json in the run folder. */
export interface RunConfig extends ImageSettings {
  /** Where the samples come from: default, fashion-mnist, idx:DIR, csv:FILE or images:DIR. */
  data: string;
  epochs: number;
  batchSize: number;
  /** Samples per gradient chunk, the unit of parallel work. */
  chunkSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  /** The matrix-product kernel: strict (the same bits on every CPU) or relaxed (fused multiply-add, faster). */
  kernel?: KernelChoice;
  /** Clip the summed gradient to this global L2 norm before each update; absent: no clipping. */
  clipNorm?: number;
  /** The learning-rate schedule, PyTorch's schedulers with their parameter names (config/schedule.ts); absent: constant. */
  schedule?: ScheduleSetting;
  /** Stop when the monitored metric stops improving (Keras' EarlyStopping); the best epoch is kept as best.lockstep. */
  earlyStopping?: EarlyStoppingSetting;
  /** Dropout rate of the default MLP's layers; with custom `layers`, it replaces every dropout entry's p. */
  dropout?: number;
  /** Hidden layer widths of the default MLP; ignored when `layers` is given. */
  hidden: number[];
  /** A custom model: layer entries as in a model spec (the input shape comes from the data). */
  layers?: Array<Record<string, unknown>>;
  seed: number;
  /** Keyed augmentation of image training samples (core's AugmentSpec), every field given once checked. */
  augment?: CheckedAugmentSpec;
  validationSplit: number;
  /** Also save a checkpoint every this many optimizer steps (by default only at each epoch end). */
  checkpointEvery?: number;
  /** ES module files that call registerLayer, imported by the main thread and every worker. */
  modules?: string[];
}

/** A setting's rule, and the flag that sets it where one does. */
export interface Setting<T> {
  readonly rule: Rule<T>;
  readonly flag?: string;
}

type Settings = { readonly [K in keyof RunConfig]-?: Setting<NonNullable<RunConfig[K]>> };

/**
 * Every setting of a run and the one rule that checks it, for the config file and the flags alike.
 * The order is the order of config.json.
 */
export const SETTINGS: Settings = {
  data: { rule: text('default, fashion-mnist, idx:DIR, csv:FILE or images:DIR', isDataSource), flag: '--data' },
  ...IMAGE_SETTINGS,
  epochs: { rule: integer(1), flag: '--epochs' },
  batchSize: { rule: integer(1), flag: '--batch-size' },
  chunkSize: { rule: integer(1), flag: '--chunk-size' },
  optimizer: { rule: choice(['sgd', 'adam', 'adamw'] as const) },
  lr: { rule: number(0, 10), flag: '--lr' },
  momentum: { rule: number(0, 1) },
  weightDecay: { rule: number(0) },
  kernel: { rule: choice(KERNEL_CHOICES), flag: '--kernel' },
  clipNorm: { rule: positive(), flag: '--clip-norm' },
  schedule: { rule: scheduleRule, flag: '--schedule' },
  earlyStopping: { rule: earlyStoppingRule, flag: '--early-stopping' },
  dropout: { rule: dropoutRate, flag: '--dropout' },
  hidden: { rule: integerList(1, '1024,1024'), flag: '--hidden' },
  layers: { rule: objectList('a list of layer objects, e.g. [{"type": "linear", "out": 64}]') },
  seed: { rule: integer(0), flag: '--seed' },
  augment: { rule: augmentation, flag: '--augment' },
  validationSplit: { rule: number(0, 0.9) },
  checkpointEvery: { rule: integer(1), flag: '--checkpoint-every' },
  modules: { rule: textList('a list of module file paths') },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as Array<keyof RunConfig>;

/** The settings every run has; the others are absent unless given. */
export const DEFAULT_CONFIG: RunConfig = {
  data: 'default',
  epochs: 10,
  batchSize: 64,
  chunkSize: 32,
  optimizer: 'sgd',
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 0,
  hidden: [256, 256],
  seed: 0,
  validationSplit: 0.1,
};
