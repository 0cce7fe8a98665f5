import { relative } from 'node:path';
import { Dataset } from '@lockstep/core';
import type { ImageSettings } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import { DataHash } from '../data-fingerprint.js';
import { BadImage } from './decode.js';
import { imageValues, readTreeFile, type ImageValues, type PixelSettings } from './image-file.js';
import { scanImageTree, type ImageFile, type ScannedSplit } from './scan.js';

// Where other files (predict's inputs.ts) have always found them.
export { MAX_FILE_BYTES, readImage, type PixelSettings } from './image-file.js';

/** A bad file that --skip-bad-images left out, and why. */
export interface SkippedImage {
  readonly path: string;
  readonly reason: string;
  /** The split it was left out of; a file given to predict is of none. */
  readonly split?: ScannedSplit['name'];
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

/** The fix a bad file's line gives where --skip-bad-images would leave it out (train, data, compare, eval of a test set, predict on a folder). */
export const BAD_IMAGE_FIX = 'replace or remove it, or add --skip-bad-images to leave bad images out';

/**
 * The fix where eval measures the validation split of a run that did not skip bad images: the split
 * is drawn from the training files as the run read them, so skipping one now would draw another.
 */
export const VALIDATION_BAD_IMAGE_FIX = 'replace or remove it (--skip-bad-images cannot apply to the validation split of a run trained without it)';

export function pixelSettings(settings: ImageSettings): PixelSettings {
  return { channels: settings.imageChannels ?? 3, size: settings.imageSize, fit: settings.imageFit ?? 'resize' };
}

/** What reading one file gave: the size of its image, or why it is bad. */
export type FileOutcome = { readonly height: number; readonly width: number } | { readonly bad: string };

/** The first image's size, which every image must share when no imageSize is given. */
export interface SizeRule {
  first: { path: string; height: number; width: number } | null;
}

/**
 * The rules of a split's files, taken in order whoever read them: a bad file stops the run with one
 * line, or with skip is left out and listed; every image must have the first good image's size (of
 * either split); a class folder must keep an image.
 */
export class SplitRules {
  private readonly good: number[];
  private readonly bad = new Map<number, SkippedImage[]>();

  constructor(
    private readonly split: ScannedSplit,
    private readonly classes: string[],
    private readonly skip: boolean,
    private readonly size: SizeRule,
    private readonly skipped: SkippedImage[],
    private readonly fix: string = BAD_IMAGE_FIX,
  ) {
    this.good = new Array<number>(classes.length).fill(0);
  }

  /** Whether `file` trains; throws the run's one line where it stops the run. */
  accept(file: ImageFile, outcome: FileOutcome): boolean {
    if ('bad' in outcome) {
      if (!this.skip) throw new UserError(`${file.path} ${outcome.bad}; ${this.fix}`);
      const entry = { path: file.path, reason: outcome.bad, split: this.split.name };
      this.skipped.push(entry);
      this.bad.set(file.label, [...(this.bad.get(file.label) ?? []), entry]);
      return false;
    }
    const { size } = this;
    if (size.first === null) size.first = { path: file.path, height: outcome.height, width: outcome.width };
    else if (outcome.height !== size.first.height || outcome.width !== size.first.width) {
      const { path, height, width } = size.first;
      throw new UserError(
        `${file.path} is ${outcome.width} wide and ${outcome.height} high, but ${path} is ${width} wide and ${height} high; give "imageSize" (e.g. --image-size ${height},${width}) to bring every image to one size`,
      );
    }
    this.good[file.label]++;
    return true;
  }

  /** Throws where a class folder has no image left. */
  finish(): void {
    this.classes.forEach((name, label) => {
      const left = this.bad.get(label);
      if (this.good[label] === 0 && left !== undefined) {
        throw new UserError(`the class folder ${this.split.dir}/${name} has no image left: all ${left.length} of its files are bad (${left[0].path} ${left[0].reason})`);
      }
    });
  }
}

/** The hash a data fingerprint starts from: the settings that decide an image tree's samples. */
export function imageDataHash(settings: ImageSettings): DataHash {
  const { imageSize, imageFit, imageChannels, imageNormalize, skipBadImages } = settings;
  return new DataHash().add(Buffer.from(JSON.stringify({ imageSize, imageFit, imageChannels, imageNormalize, skipBadImages })));
}

/** Adds a training file to the fingerprint: its path from the split's folder, then its bytes. */
export function hashTrainingFile(hash: DataHash, split: ScannedSplit, file: ImageFile, bytes: Uint8Array): void {
  hash.add(Buffer.from(relative(split.dir, file.path))).add(bytes);
}

function readSplit(split: ScannedSplit, classes: string[], settings: PixelSettings, skip: boolean, size: SizeRule, skipped: SkippedImage[], hash?: DataHash): Dataset {
  let inputs: Float32Array | null = null;
  const labels = new Int32Array(split.files.length);
  const rules = new SplitRules(split, classes, skip, size, skipped);
  let count = 0;
  for (const file of split.files) {
    let read: ImageValues | null = null;
    let outcome: FileOutcome;
    try {
      const { bytes } = readTreeFile(file);
      if (hash !== undefined) hashTrainingFile(hash, split, file, bytes);
      read = imageValues(bytes, settings);
      outcome = { height: read.height, width: read.width };
    } catch (error) {
      if (!(error instanceof BadImage)) throw error;
      outcome = { bad: error.reason };
    }
    if (!rules.accept(file, outcome)) continue;
    inputs ??= new Float32Array(split.files.length * read!.values.length);
    inputs.set(read!.values, count * read!.values.length);
    labels[count++] = file.label;
  }
  rules.finish();
  const { channels } = settings;
  const [height, width] = [size.first!.height, size.first!.width];
  const sampleSize = channels * height * width;
  const kept = count === split.files.length ? inputs! : inputs!.slice(0, count * sampleSize);
  return Dataset.classification(kept, [channels, height, width], labels.slice(0, count), classes.length);
}

/**
 * Reads an images:DIR tree (see scanImageTree) with the run's image settings, on this thread, every
 * sample in memory: the reference that the streamed reading (stream.ts) matches bit for bit. Every
 * file must be a PNG or JPEG image, and a bad one stops the run with one line, or with skipBadImages
 * is left out and listed. The fingerprint covers the settings and each training file's path and bytes.
 */
export function readImageFolder(dir: string, settings: ImageSettings): ImageFolder {
  const tree = scanImageTree(dir);
  const pixels = pixelSettings(settings);
  const skip = settings.skipBadImages === true;
  const hash = imageDataHash(settings);
  const size: SizeRule = { first: null };
  const skipped: SkippedImage[] = [];
  const train = readSplit(tree.train, tree.classes, pixels, skip, size, skipped, hash);
  const test = tree.test === null ? null : readSplit(tree.test, tree.classes, pixels, skip, size, skipped);
  return { train, test, fingerprint: hash.digest(), classes: tree.classes, skipped };
}
