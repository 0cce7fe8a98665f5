import { choice, numberOrText, rule, type Rule } from './rules.js';
import type { Setting } from './settings.js';

/** The largest height or width `imageSize` takes. */
export const MAX_IMAGE_SIDE = 4096;

/**
 * The image cache's default budget, in MiB: a fixed size rather than a share of this machine's
 * memory, so every machine and rank of a run caches the same files; it holds Fashion-MNIST (220 MB)
 * and CIFAR-10 (737 MB) whole, and leaves most of a small machine's memory to the rest.
 */
export const DEFAULT_CACHE_MB = 1024;

/** The largest cache budget --cache-mb takes: 1 TiB. */
export const MAX_CACHE_MB = 1024 * 1024;

/** Per-channel normalization: each value becomes (value - mean) / std. */
export interface ChannelStats {
  mean: number[];
  std: number[];
}

/** What an images:DIR run found in its data, recorded by train in config.json and every checkpoint. */
export interface RecordedImageData {
  /** The class names, in label order (sorted, as torchvision's ImageFolder). */
  classes: string[];
  /** The normalization computed over the training samples ("imageNormalize": "train"). */
  mean?: number[];
  std?: number[];
}

/** The settings of images:DIR data (see data/images/); the other data sources refuse them. */
export interface ImageSettings {
  /** The height and width every image is brought to (see imageFit); absent: every image must have one size. */
  imageSize?: number[];
  /** How imageSize is reached: "resize" (antialiased bilinear, the default) or "crop" (the centre, zero-padded where smaller). */
  imageFit?: 'resize' | 'crop';
  /** 1 (grey: ITU-R 601 luma of RGB) or 3 (RGB, the default); alpha is dropped. */
  imageChannels?: number;
  /** Per-channel mean and std, or "train": computed over the training samples and recorded in imageData. */
  imageNormalize?: 'train' | ChannelStats;
  /** Leave out bad image files rather than stop; train lists them in the run folder's skipped-images.txt. */
  skipBadImages?: boolean;
  /**
   * MiB of decoded samples kept in shared memory (default DEFAULT_CACHE_MB): the first files of the
   * training split, then of the test split; the others are decoded again each epoch. Changes no
   * number, so it is not part of the data fingerprint and may change on --resume.
   */
  cacheMb?: number;
  /** Recorded by train, not set: what the data gave the run, so that eval, predict and --resume read images the same way. */
  imageData?: RecordedImageData;
}

const isFiniteList = (value: unknown, length?: number): value is number[] =>
  Array.isArray(value) && value.length > 0 && (length === undefined || value.length === length) && value.every((item) => Number.isFinite(item));

const isStats = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { mean, std, ...rest } = value as Record<string, unknown>;
  return Object.keys(rest).length === 0 && isFiniteList(mean) && (mean.length === 1 || mean.length === 3) && isFiniteList(std, mean.length) && std.every((s) => s > 0);
};

const isSize = (value: unknown): boolean => Array.isArray(value) && value.length === 2 && value.every((side) => Number.isInteger(side) && side >= 1 && side <= MAX_IMAGE_SIDE);

const isRecorded = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { classes, mean, std, ...rest } = value as Record<string, unknown>;
  const statsOk = (mean === undefined && std === undefined) || isStats({ mean, std });
  return Object.keys(rest).length === 0 && Array.isArray(classes) && classes.length > 0 && classes.every((name) => typeof name === 'string' && name !== '') && statsOk;
};

const sizeRule: Rule<number[]> = rule(`[height, width], two integers from 1 to ${MAX_IMAGE_SIDE} (--image-size 32,32)`, isSize, (text) => text.split(',').map((item) => numberOrText(item.trim())));

/** A flag without a value: commander hands over `true`. */
const switchRule: Rule<boolean> = rule('true or false', (value) => typeof value === 'boolean', (text) => text);

type ImageSettingsTable = { readonly [K in keyof ImageSettings]-?: Setting<NonNullable<ImageSettings[K]>> };

export const IMAGE_SETTINGS: ImageSettingsTable = {
  imageSize: { rule: sizeRule, flag: '--image-size' },
  imageFit: { rule: choice(['resize', 'crop'] as const), flag: '--image-fit' },
  imageChannels: { rule: rule('1 or 3', (value) => value === 1 || value === 3), flag: '--image-channels' },
  imageNormalize: { rule: rule('"train" or {"mean": [...], "std": [...]} with 1 or 3 finite numbers each and every std > 0', (value) => value === 'train' || isStats(value), (text) => text) },
  skipBadImages: { rule: switchRule, flag: '--skip-bad-images' },
  cacheMb: { rule: rule(`a whole number of MiB from 0 to ${MAX_CACHE_MB} (0: decode every image each epoch)`, (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_CACHE_MB), flag: '--cache-mb' },
  imageData: { rule: rule('{"classes": [...], "mean": [...], "std": [...]} as train records it', isRecorded) },
};

/** The keys of the image settings that a user gives (imageData is recorded, not given). */
export const GIVEN_IMAGE_SETTINGS = ['imageSize', 'imageFit', 'imageChannels', 'imageNormalize', 'skipBadImages', 'cacheMb'] as const;
