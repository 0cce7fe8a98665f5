import { statSync } from 'node:fs';
import type { ChannelStats, ImageSettings } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import { readBytes } from '../read.js';
import { BadImage } from './decode.js';
import { BAD_IMAGE_FIX, pixelSettings, readImage, type PixelSettings, type SkippedImage } from './folder.js';
import { readTreeFile } from './image-file.js';
import { normalizeInPlace } from './normalize.js';
import { filesUnder, type ImageFile } from './scan.js';

/** Whether `predict --input` names images: a folder, or a .png, .jpg or .jpeg file. */
export function isImageInput(path: string): boolean {
  if (/\.(png|jpe?g)$/i.test(path)) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The normalization a run's images get: the given numbers, or those train computed and recorded. */
export function imageNormalization(config: ImageSettings): ChannelStats | null {
  const setting = config.imageNormalize;
  if (setting === undefined) return null;
  if (setting !== 'train') return setting;
  const { mean, std } = config.imageData ?? {};
  return mean !== undefined && std !== undefined ? { mean, std } : null;
}

/** Rows to predict from image files, each row's path, and the bad files left out. */
export interface ImageInputs {
  readonly rows: Float32Array;
  readonly paths: string[];
  readonly skipped: SkippedImage[];
}

/** A file's values as the run read its images, or BadImage; a folder's file is read as a tree's is (its size limit, its reasons). */
function fileValues(file: ImageFile, folder: boolean, settings: PixelSettings): { values: Float64Array; shape: number[] } {
  const bytes = folder ? readTreeFile(file).bytes : readBytes(file.path);
  const planes = readImage(bytes, settings);
  return { values: planes.data, shape: [planes.channels, planes.height, planes.width] };
}

/**
 * Rows to predict from an image file, or from every file under a folder (in the order a class folder's
 * files are read: sorted names, depth first), with each row's path, read as the checkpoint's run read its images: the same
 * channels, size and normalization. A model not trained on images:DIR takes its channels from its
 * input shape [channels, height, width]. A bad file stops with one line, or with `skipBadImages` is
 * left out and listed, its row with it, so every row keeps its own file's path.
 */
export function imageInputs(path: string, config: ImageSettings & { data: string }, input: readonly number[], skipBadImages = false): ImageInputs {
  const fromImages = config.data.startsWith('images:');
  const channels = config.imageChannels ?? (fromImages || input.length !== 3 ? 3 : input[0]);
  const settings = { ...pixelSettings(config), channels };
  const folder = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  const files = folder ? filesUnder(path) : [{ path, label: 0 }];
  const fix = folder ? BAD_IMAGE_FIX : 'replace it';
  const sampleSize = input.reduce((a, b) => a * b, 1);
  const rows = new Float32Array(files.length * sampleSize);
  const paths: string[] = [];
  const skipped: SkippedImage[] = [];
  for (const file of files) {
    let read: { values: Float64Array; shape: number[] };
    try {
      read = fileValues(file, folder, settings);
    } catch (error) {
      if (!(error instanceof BadImage)) throw error;
      if (!skipBadImages) throw new UserError(`${file.path} ${error.reason}; ${fix}`);
      skipped.push({ path: file.path, reason: error.reason });
      continue;
    }
    if (read.values.length !== sampleSize) {
      throw new UserError(`${file.path} gives values of shape [${read.shape.join(',')}] and the model takes [${input.join(',')}]; give an image of that size, or train with "imageSize" to resize every image`);
    }
    rows.set(read.values, paths.length * sampleSize);
    paths.push(file.path);
  }
  if (files.length === 0) throw new UserError(`${path} holds no image files to predict`);
  if (paths.length === 0) throw new UserError(`${path} has no image left to predict: all ${files.length} of its files are bad (${skipped[0].path} ${skipped[0].reason})`);
  const kept = skipped.length === 0 ? rows : rows.slice(0, paths.length * sampleSize);
  const stats = imageNormalization(config);
  if (stats !== null) normalizeInPlace(kept, channels, sampleSize / channels, stats);
  return { rows: kept, paths, skipped };
}
