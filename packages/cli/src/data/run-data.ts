import { foldInString, permutation, rootKey, type Dataset } from '@lockstep/core';
import { DEFAULT_CACHE_MB, type RecordedImageData } from '../config/image-settings.js';
import type { RunConfig } from '../config/settings.js';
import { UserError } from '../errors.js';
import type { CsvHeader } from './csv.js';
import type { SkippedImage } from './images/folder.js';
import { normalizeImages } from './images/source.js';
import { streamImageSource } from './images/stream.js';
import { loadData } from './sources.js';

/** The seeded order of a validation split: the first `validation` indices validate, the rest train; null where none validate. */
function validationOrder(size: number, fraction: number, seed: number): { order: Uint32Array; validation: number } | null {
  const count = Math.round(size * fraction);
  if (count === 0) return null;
  if (count === size) {
    throw new UserError(`"validationSplit": ${fraction} of ${size} sample${size === 1 ? '' : 's'} leaves none to train on; lower "validationSplit" or add samples`);
  }
  return { order: permutation(foldInString(rootKey(seed), 'validation-split'), size), validation: count };
}

/** A seeded split of `data` into training and validation samples. */
export function splitValidation(data: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset | null } {
  const split = validationOrder(data.size, fraction, seed);
  if (split === null) return { train: data, validation: null };
  return { train: data.select(split.order.subarray(split.validation)), validation: data.select(split.order.subarray(0, split.validation)) };
}

/** The sorted indices of the samples that train, of `size`: all but the seeded validation split's. */
function trainingRows(size: number, fraction: number, seed: number): Uint32Array {
  const split = validationOrder(size, fraction, seed);
  return split === null ? Uint32Array.from({ length: size }, (_, i) => i) : split.order.slice(split.validation).sort();
}

export interface RunData {
  readonly train: Dataset;
  readonly validation: Dataset | null;
  readonly test: Dataset | null;
  readonly fingerprint: string;
  /** images:DIR only: what train records in config.json and checkpoints (class names, computed normalization). */
  readonly imageData?: RecordedImageData;
  /** images:DIR only: the class names in label order (what `lockstep data` labels samples with). */
  readonly classNames?: string[];
  /** The bad image files --skip-bad-images left out. */
  readonly skipped: SkippedImage[];
  /** images:DIR only, where the cache does not hold every training image: how many it holds. */
  readonly cacheNote?: string;
  /** csv:FILE only: the file's header, whose feature columns a checkpoint records. */
  readonly csv?: CsvHeader;
}

/**
 * The data of a run, in memory, read on this thread: the same seeded validation split every time the
 * same config is loaded. Image data is normalized before the split, with numbers computed over the
 * training samples alone. The commands read image data with `loadRunData` instead.
 */
export function runData(config: RunConfig, dataOverride?: string): RunData {
  const loaded = loadData(dataOverride ?? config.data, config.seed, config);
  let imageData: RecordedImageData | undefined;
  if (loaded.images !== undefined) {
    const rows = trainingRows(loaded.train.size, config.validationSplit, config.seed);
    imageData = normalizeImages(config, loaded.images.classes, loaded.train, loaded.test, rows);
  }
  return {
    ...splitValidation(loaded.train, config.validationSplit, config.seed),
    test: loaded.test,
    fingerprint: loaded.fingerprint,
    ...(imageData === undefined ? {} : { imageData, classNames: imageData.classes }),
    skipped: loaded.images?.skipped ?? [],
    ...(loaded.csv === undefined ? {} : { csv: loaded.csv }),
  };
}

/**
 * The data of a run as the commands read it: `runData`, except that images:DIR is streamed
 * (images/stream.ts): a first pass on `threads` loader threads, a cache of decoded samples up to the
 * run's cacheMb, and the other samples read from their files when a step needs them. The samples,
 * the split and the normalization are those of `runData`, bit for bit.
 */
export async function loadRunData(config: RunConfig, options: { threads: number; dataOverride?: string; badImageFix?: string }): Promise<RunData> {
  const spec = options.dataOverride ?? config.data;
  if (!spec.startsWith('images:')) return runData(config, options.dataOverride);
  const trainRows = (size: number): Uint32Array => trainingRows(size, config.validationSplit, config.seed);
  const images = await streamImageSource(spec.slice('images:'.length), config, { threads: options.threads, trainRows, badImageFix: options.badImageFix });
  return {
    ...splitValidation(images.train, config.validationSplit, config.seed),
    test: images.test,
    fingerprint: images.fingerprint,
    imageData: images.imageData,
    classNames: images.imageData.classes,
    skipped: images.skipped,
    ...(images.cached.train < images.train.size ? { cacheNote: cacheNote(images.cached.train, images.train.size, config.cacheMb ?? DEFAULT_CACHE_MB) } : {}),
  };
}

function cacheNote(cached: number, samples: number, mb: number): string {
  return `note: the image cache (${mb} MiB, --cache-mb) holds ${cached} of the ${samples} training images; the others are read and decoded again each epoch, on the worker threads`;
}
