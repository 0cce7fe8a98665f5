import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Dataset } from '@lockstep/core';
import type { ImageSettings } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import { DataHash } from '../data-fingerprint.js';
import { BadImage, decodeImage } from './decode.js';
import { toPlanes } from './pixels.js';
import { centreCrop, resize, type Planes } from './resize.js';
import { scanImageTree, unreadable, type ImageFile, type ScannedSplit } from './scan.js';

/** A file larger than this is refused before it is read. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** A bad file that --skip-bad-images left out, and why. */
export interface SkippedImage {
  readonly path: string;
  readonly reason: string;
}

/** The samples of an images:DIR tree, before any normalization. */
export interface ImageFolder {
  readonly train: Dataset;
  readonly test: Dataset | null;
  /** Of the training split's files (paths from it) and bytes, and the settings. */
  readonly fingerprint: string;
  readonly classes: string[];
  readonly skipped: SkippedImage[];
}

export const BAD_IMAGE_FIX = 'replace or remove it, or add --skip-bad-images to leave bad images out (they are listed in the run folder)';

/** The settings that decide the pixels of one image. */
export interface PixelSettings {
  readonly channels: number;
  readonly size: readonly number[] | undefined;
  readonly fit: 'resize' | 'crop';
}

export function pixelSettings(settings: ImageSettings): PixelSettings {
  return { channels: settings.imageChannels ?? 3, size: settings.imageSize, fit: settings.imageFit ?? 'resize' };
}

/** An image file's values: decoded, in the settings' channels, brought to their size; BadImage where it is not an image. */
export function readImage(bytes: Uint8Array, settings: PixelSettings): Planes {
  const image = decodeImage(bytes);
  const planes = { data: toPlanes(image, settings.channels), channels: settings.channels, height: image.height, width: image.width };
  if (settings.size === undefined) return planes;
  const [height, width] = settings.size;
  return settings.fit === 'crop' ? centreCrop(planes, height, width) : resize(planes, height, width);
}

/** The bytes of a file of the tree, or BadImage. */
function fileBytes(file: ImageFile): Buffer {
  if (file.bad !== undefined) throw new BadImage(file.bad);
  if (file.bytes !== undefined && file.bytes > MAX_FILE_BYTES) throw new BadImage(`is ${file.bytes} bytes, more than the ${MAX_FILE_BYTES / 2 ** 20} MiB lockstep reads for one image`);
  try {
    return readFileSync(file.path);
  } catch (error) {
    throw new BadImage(unreadable(error));
  }
}

/** The first image's size, which every image must share when no imageSize is given. */
interface SizeRule {
  first: { path: string; height: number; width: number } | null;
}

function readSplit(split: ScannedSplit, classes: string[], settings: PixelSettings, skip: boolean, size: SizeRule, skipped: SkippedImage[], hash?: DataHash): Dataset {
  let inputs: Float32Array | null = null;
  const labels = new Int32Array(split.files.length);
  const good = new Array<number>(classes.length).fill(0);
  const bad = new Map<number, SkippedImage[]>();
  let count = 0;
  for (const file of split.files) {
    let planes: Planes;
    try {
      const bytes = fileBytes(file);
      hash?.add(Buffer.from(relative(split.dir, file.path))).add(bytes);
      planes = readImage(bytes, settings);
    } catch (error) {
      if (!(error instanceof BadImage)) throw error;
      if (!skip) throw new UserError(`${file.path} ${error.reason}; ${BAD_IMAGE_FIX}`);
      const entry = { path: file.path, reason: error.reason };
      skipped.push(entry);
      bad.set(file.label, [...(bad.get(file.label) ?? []), entry]);
      continue;
    }
    if (size.first === null) size.first = { path: file.path, height: planes.height, width: planes.width };
    else if (planes.height !== size.first.height || planes.width !== size.first.width) {
      const { path, height, width } = size.first;
      throw new UserError(
        `${file.path} is ${planes.width} wide and ${planes.height} high, but ${path} is ${width} wide and ${height} high; give "imageSize" (e.g. --image-size ${height},${width}) to bring every image to one size`,
      );
    }
    inputs ??= new Float32Array(split.files.length * planes.data.length);
    inputs.set(planes.data, count * planes.data.length);
    labels[count++] = file.label;
    good[file.label]++;
  }
  classes.forEach((name, label) => {
    const left = bad.get(label);
    if (good[label] === 0 && left !== undefined) {
      throw new UserError(`the class folder ${split.dir}/${name} has no image left: all ${left.length} of its files are bad (${left[0].path} ${left[0].reason})`);
    }
  });
  const { channels } = settings;
  const [height, width] = [size.first!.height, size.first!.width];
  const sampleSize = channels * height * width;
  const kept = count === split.files.length ? inputs! : inputs!.slice(0, count * sampleSize);
  return Dataset.classification(kept, [channels, height, width], labels.slice(0, count), classes.length);
}

/**
 * Reads an images:DIR tree (see scanImageTree) with the run's image settings: every file must be a
 * PNG or JPEG image, and a bad one stops the run with one line, or with skipBadImages is left out and
 * listed. The fingerprint covers the settings and each training file's path and bytes.
 */
export function readImageFolder(dir: string, settings: ImageSettings): ImageFolder {
  const tree = scanImageTree(dir);
  const pixels = pixelSettings(settings);
  const skip = settings.skipBadImages === true;
  const { imageSize, imageFit, imageChannels, imageNormalize, skipBadImages } = settings;
  const hash = new DataHash().add(Buffer.from(JSON.stringify({ imageSize, imageFit, imageChannels, imageNormalize, skipBadImages })));
  const size: SizeRule = { first: null };
  const skipped: SkippedImage[] = [];
  const train = readSplit(tree.train, tree.classes, pixels, skip, size, skipped, hash);
  const test = tree.test === null ? null : readSplit(tree.test, tree.classes, pixels, skip, size, skipped);
  return { train, test, fingerprint: hash.digest(), classes: tree.classes, skipped };
}
