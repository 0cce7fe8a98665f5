import { statSync } from 'node:fs';
import { idxImagesToFloat, parseIdx } from '@lockstep/core';
import type { RunConfig } from '../config/settings.js';
import { UserError } from '../errors.js';
import { parseInputsCsv } from './csv.js';
import type { SkippedImage } from './images/folder.js';
import { imageInputs, isImageInput } from './images/inputs.js';
import { readBytes } from './read.js';

/** Rows to predict, end to end, and for image files the path each row was read from and the bad files left out. */
export interface PredictInputs {
  readonly rows: Float32Array;
  readonly paths: readonly string[] | null;
  readonly skipped: readonly SkippedImage[];
}

/** The checkpoint rows are read for, and its path, which messages name. */
export interface InputsFor {
  readonly checkpoint: { readonly config: RunConfig; readonly spec: { readonly input: number[] }; readonly featureNames?: readonly string[] };
  readonly path: string;
}

/**
 * Reads rows to predict: a CSV of numbers (no label column; with a checkpoint that records its
 * training file's columns, those columns in that order), an IDX images file, or PNG/JPEG images (a
 * file or a folder), read with the settings of the checkpoint's run. With `skipBadImages` (a folder
 * only) a bad image file is left out rather than stop.
 */
export function readInputs(path: string, sampleSize: number, trained?: InputsFor, { skipBadImages = false } = {}): PredictInputs {
  const checkpoint = trained?.checkpoint;
  // A missing path is left to the read below, which names it.
  if (skipBadImages && statSync(path, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new UserError(`--skip-bad-images only applies to an --input folder of images, and ${path} is not a folder; leave it out`);
  }
  if (checkpoint !== undefined && isImageInput(path)) return imageInputs(path, checkpoint.config, checkpoint.spec.input, skipBadImages);
  if (path.endsWith('.csv')) {
    const columns = trained?.checkpoint.featureNames === undefined ? undefined : { names: trained.checkpoint.featureNames, checkpoint: trained.path };
    return { rows: parseInputsCsv(readBytes(path).toString(), path, sampleSize, columns), paths: null, skipped: [] };
  }
  const images = idxImagesToFloat(parseIdx(readBytes(path), path), path);
  if (images.sampleShape.reduce((a, b) => a * b, 1) !== sampleSize) {
    throw new UserError(`${path}: images of shape [${images.sampleShape.join(',')}] do not fit the model's input of ${sampleSize} values`);
  }
  return { rows: images.data, paths: null, skipped: [] };
}
