import { randomUUID } from 'node:crypto';
import { Dataset } from '@lockstep/core';
import { DEFAULT_CACHE_MB, type ChannelStats, type ImageSettings, type RecordedImageData } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import type { DataHash } from '../data-fingerprint.js';
import { BadImage } from './decode.js';
import { hashTrainingFile, imageDataHash, pixelSettings, SplitRules, type SizeRule, type SkippedImage } from './folder.js';
import { readTreeFile, type PixelSettings } from './image-file.js';
import { combineMoments } from './normalize.js';
import { firstPass, type FirstPass, type SplitIndex } from './pass.js';
import { ImageReader } from './reader.js';
import { scanImageTree, type ScannedSplit, type ScannedTree } from './scan.js';
import { checkImageSettings, checkRecordedClasses, chooseStats, recordedImageData } from './source.js';

/** An images:DIR tree as streamed data sets: samples cached up to the budget, the rest read when needed. */
export interface StreamedImages {
  readonly train: Dataset;
  readonly test: Dataset | null;
  readonly fingerprint: string;
  readonly classes: string[];
  readonly skipped: SkippedImage[];
  /** What train records in config.json and every checkpoint (class names, computed normalization). */
  readonly imageData: RecordedImageData;
  /** Samples the cache holds, of each split (the first ones). */
  readonly cached: { readonly train: number; readonly test: number };
}

export interface StreamOptions {
  /** Loader threads of the first pass. */
  readonly threads: number;
  /** The training rows (sorted sample indices, the validation split left out) of a training split of `size` samples. */
  readonly trainRows: (size: number) => ArrayLike<number>;
  /** What a bad file's line says to do: the advice of the command that reads (BAD_IMAGE_FIX by default). */
  readonly badImageFix?: string;
}

/** The rules over a split's outcomes, in file order: the kept files' indices. */
function keptFiles(split: ScannedSplit, s: SplitIndex, pass: FirstPass, rules: SplitRules): number[] {
  const kept: number[] = [];
  split.files.forEach((file, index) => {
    const outcome = pass.outcome(s, index);
    // Every file before the one that stops the run was read; the rules stop at that one.
    if (outcome === null) throw new Error(`${file.path} was not read, and no file before it stopped the run`);
    if (rules.accept(file, outcome)) kept.push(index);
  });
  rules.finish();
  return kept;
}

/** A streamed data set of a split's kept files, read through its own ImageReader. */
function splitData(split: ScannedSplit, s: SplitIndex, kept: number[], pass: FirstPass, shape: readonly number[], pixels: PixelSettings, stats: ChannelStats | null, classes: number): Dataset {
  const paths = kept.map((index) => Buffer.from(split.files[index].path));
  const pathBytes = new SharedArrayBuffer(paths.reduce((sum, path) => sum + path.length, 0));
  const pathEnds = new SharedArrayBuffer(4 * kept.length);
  const ends = new Uint32Array(pathEnds);
  let end = 0;
  paths.forEach((path, i) => {
    Buffer.from(pathBytes).set(path, end);
    ends[i] = end += path.length;
  });
  const identities = new SharedArrayBuffer(8 * 2 * kept.length);
  const slots = new SharedArrayBuffer(4 * kept.length);
  const identity = new Float64Array(identities);
  const slot = new Int32Array(slots);
  kept.forEach((index, i) => {
    const { bytes, modified } = pass.identity(s, index);
    identity[2 * i] = bytes;
    identity[2 * i + 1] = modified;
    slot[i] = index < pass.slots[s] ? index : -1;
  });
  const reader = new ImageReader({ token: randomUUID(), sampleShape: shape, pixels, stats, paths: pathBytes, pathEnds, identities, slots, cache: pass.caches[s] });
  const labels = Int32Array.from(kept, (index) => split.files[index].label);
  return new Dataset({ reader, rows: null }, shape, { kind: 'classes', labels, classes });
}

/** The training files' bytes into the fingerprint, as folder.ts hashes them, until the pass stops. */
function hashTraining(tree: ScannedTree, settings: ImageSettings): { hash: DataHash; meanwhile: (stopped: () => boolean) => void } {
  const hash = imageDataHash(settings);
  const meanwhile = (stopped: () => boolean): void => {
    for (const file of tree.train.files) {
      if (stopped()) return;
      try {
        hashTrainingFile(hash, tree.train, file, readTreeFile(file).bytes);
      } catch (error) {
        if (!(error instanceof BadImage)) throw error;
      }
    }
  };
  return { hash, meanwhile };
}

/**
 * Reads images:DIR for training (docs/design.md, "Data that does not fit in memory"): a first pass on
 * loader threads checks every file (bad ones stop the run, or are skipped and listed, as in
 * folder.ts), caches the first samples up to `cacheMb` and gathers the training files' moments for
 * "train" normalization; the main thread meanwhile hashes the training files for the fingerprint.
 * The data sets it returns read the other samples from their files when a step needs them, on the
 * thread that needs them, and give the same values as readImageFolder's in-memory samples.
 */
export async function streamImageSource(dir: string, config: ImageSettings, options: StreamOptions): Promise<StreamedImages> {
  checkImageSettings({ ...config, data: `images:${dir}` });
  const tree = scanImageTree(dir);
  checkRecordedClasses(dir, config, tree.classes);
  const pixels = pixelSettings(config);
  const skip = config.skipBadImages === true;
  const cacheMb = config.cacheMb ?? DEFAULT_CACHE_MB;
  const { hash, meanwhile } = hashTraining(tree, config);
  let pass: FirstPass;
  try {
    pass = await firstPass(tree, { pixels, skip, threads: options.threads, cacheBytes: cacheMb * 2 ** 20, meanwhile });
  } catch (error) {
    if (error instanceof RangeError && /allocat/i.test(error.message)) {
      throw new UserError(`cannot set aside ${cacheMb} MiB for the image cache (--cache-mb ${cacheMb}): ${error.message}; lower --cache-mb`);
    }
    throw error;
  }
  try {
    const size: SizeRule = { first: null };
    const skipped: SkippedImage[] = [];
    const classes = tree.classes.length;
    const rules = (split: ScannedSplit): SplitRules => new SplitRules(split, tree.classes, skip, size, skipped, options.badImageFix);
    const keptTrain = keptFiles(tree.train, 0, pass, rules(tree.train));
    const keptTest = tree.test === null ? null : keptFiles(tree.test, 1, pass, rules(tree.test));
    const shape = pass.sampleShape!;
    const [channels, height, width] = shape;
    const stats = chooseStats(config, () => {
      const rows = Uint32Array.from(options.trainRows(keptTrain.length) as ArrayLike<number>, (row) => keptTrain[row]);
      return combineMoments(pass.moments, channels, height * width, rows);
    });
    if (stats !== null) await pass.normalize(stats);
    const train = splitData(tree.train, 0, keptTrain, pass, shape, pixels, stats, classes);
    const test = keptTest === null ? null : splitData(tree.test!, 1, keptTest, pass, shape, pixels, stats, classes);
    const cachedOf = (kept: number[] | null, s: SplitIndex): number => kept?.filter((index) => index < pass.slots[s]).length ?? 0;
    return {
      train,
      test,
      fingerprint: hash.digest(),
      classes: tree.classes,
      skipped,
      imageData: recordedImageData(config, tree.classes, stats),
      cached: { train: cachedOf(keptTrain, 0), test: cachedOf(keptTest, 1) },
    };
  } finally {
    await pass.close();
  }
}
