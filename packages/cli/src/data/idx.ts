import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkIdxPair, Dataset, idxImagesToFloat, idxLabels, parseIdx } from '@lockstep/core';
import { UserError } from '../errors.js';
import { dataFingerprint } from './data-fingerprint.js';
import { readBytes } from './read.js';
import type { LoadedData } from './sources.js';

/** The train-images-* and train-labels-* IDX files in `dir`, and the t10k-* or test-* pair as the test set if present. */
export function idxFolder(dir: string): LoadedData {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new UserError(`cannot read the data folder ${dir}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const find = (prefixes: string[], kind: 'images' | 'labels'): string | undefined =>
    names.find((name) => prefixes.some((prefix) => name.startsWith(`${prefix}-${kind}`)));
  const pair = (prefixes: string[]): { data: Dataset; fingerprint: string } | null => {
    const images = find(prefixes, 'images');
    const labels = find(prefixes, 'labels');
    if (images === undefined || labels === undefined) return null;
    const imageBytes = readBytes(join(dir, images));
    const labelBytes = readBytes(join(dir, labels));
    const pixels = idxImagesToFloat(parseIdx(imageBytes, images), images);
    const classes = idxLabels(parseIdx(labelBytes, labels), labels);
    const count = pixels.data.length / pixels.sampleShape.reduce((a, b) => a * b, 1);
    checkIdxPair(count, classes.length, `${images} and ${labels}`);
    return { data: Dataset.classification(pixels.data, [1, ...pixels.sampleShape], classes), fingerprint: dataFingerprint([imageBytes, labelBytes]) };
  };
  const train = pair(['train']);
  if (train === null) throw new UserError(`${dir} has no train-images-* and train-labels-* IDX files`);
  // Training sees only the train pair, so only it is fingerprinted.
  return { train: train.data, test: pair(['t10k', 'test'])?.data ?? null, fingerprint: train.fingerprint };
}
