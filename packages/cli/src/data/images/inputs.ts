import { statSync } from 'node:fs';
import type { ChannelStats, ImageSettings } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import { readBytes } from '../read.js';
import { BadImage } from './decode.js';
import { pixelSettings, readImage } from './folder.js';
import { normalizeInPlace } from './normalize.js';
import { filesUnder } from './scan.js';

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
function statsOf(config: ImageSettings): ChannelStats | null {
  const setting = config.imageNormalize;
  if (setting === undefined) return null;
  if (setting !== 'train') return setting;
  const { mean, std } = config.imageData ?? {};
  return mean !== undefined && std !== undefined ? { mean, std } : null;
}

/**
 * Rows to predict from an image file, or from every file under a folder (in the order a class folder's
 * files are read: sorted names, depth first), with each row's path, read as the checkpoint's run read its images: the same
 * channels, size and normalization. A model not trained on images:DIR takes its channels from its
 * input shape [channels, height, width].
 */
export function imageInputs(path: string, config: ImageSettings & { data: string }, input: readonly number[]): { rows: Float32Array; paths: string[] } {
  const fromImages = config.data.startsWith('images:');
  const channels = config.imageChannels ?? (fromImages || input.length !== 3 ? 3 : input[0]);
  const settings = { ...pixelSettings(config), channels };
  const folder = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  const files = folder ? filesUnder(path) : [{ path, label: 0 }];
  // predict takes no --skip-bad-images: it gives a row for every file it is given.
  const fix = folder ? 'replace or remove it' : 'replace it';
  const sampleSize = input.reduce((a, b) => a * b, 1);
  const rows = new Float32Array(files.length * sampleSize);
  files.forEach((file, r) => {
    let values: Float64Array;
    let shape: number[];
    try {
      if (file.bad !== undefined) throw new BadImage(file.bad);
      const planes = readImage(readBytes(file.path), settings);
      values = planes.data;
      shape = [planes.channels, planes.height, planes.width];
    } catch (error) {
      if (error instanceof BadImage) throw new UserError(`${file.path} ${error.reason}; ${fix}`);
      throw error;
    }
    if (values.length !== sampleSize) {
      throw new UserError(`${file.path} gives values of shape [${shape.join(',')}] and the model takes [${input.join(',')}]; give an image of that size, or train with "imageSize" to resize every image`);
    }
    rows.set(values, r * sampleSize);
  });
  if (files.length === 0) throw new UserError(`${path} holds no image files to predict`);
  const stats = statsOf(config);
  if (stats !== null) normalizeInPlace(rows, channels, sampleSize / channels, stats);
  return { rows, paths: files.map((file) => file.path) };
}
