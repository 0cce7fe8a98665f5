import { foldInString, permutation, rootKey, type Dataset } from '@lockstep/core';
import type { RecordedImageData } from '../config/image-settings.js';
import type { RunConfig } from '../config/settings.js';
import { UserError } from '../errors.js';
import type { SkippedImage } from './images/folder.js';
import { normalizeImages } from './images/source.js';
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
}

/**
 * The data of a run: the same seeded validation split every time the same config is loaded. Image
 * data is normalized before the split, with numbers computed over the training samples alone.
 */
export function runData(config: RunConfig, dataOverride?: string): RunData {
  const loaded = loadData(dataOverride ?? config.data, config.seed, config);
  let imageData: RecordedImageData | undefined;
  if (loaded.images !== undefined) {
    const split = validationOrder(loaded.train.size, config.validationSplit, config.seed);
    const rows = split === null ? Uint32Array.from({ length: loaded.train.size }, (_, i) => i) : split.order.slice(split.validation).sort();
    imageData = normalizeImages(config, loaded.images.classes, loaded.train, loaded.test, rows);
  }
  return {
    ...splitValidation(loaded.train, config.validationSplit, config.seed),
    test: loaded.test,
    fingerprint: loaded.fingerprint,
    ...(imageData === undefined ? {} : { imageData, classNames: imageData.classes }),
    skipped: loaded.images?.skipped ?? [],
  };
}
