import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkIdxPair, Dataset, idxImagesToFloat, idxLabels, parseIdx } from '@lockstep/core';
import { UserError } from '../errors.js';
import { dataFingerprint } from './data-fingerprint.js';
import { checkTwoClasses, isLabel, MAX_LABEL } from './labels.js';
import { readBytes } from './read.js';
import type { LoadedData } from './sources.js';

/** The labels of the IDX file `name` at `path`, each checked to be a class (isLabel), or one line naming the sample. */
function labelsOf(bytes: Uint8Array, name: string, path: string): Int32Array {
  const labels = idxLabels(parseIdx(bytes, name), name);
  const bad = labels.findIndex((label) => !isLabel(label));
  if (bad >= 0) {
    throw new UserError(`${path}: sample ${bad} (counting from 0) has label ${labels[bad]}; a label must be an integer from 0 to ${MAX_LABEL}, its class, so pass the labels file that belongs to these images`);
  }
  return labels;
}

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
  const pair = (prefixes: string[]): { data: Dataset; labels: Int32Array; labelsPath: string; fingerprint: string } | null => {
    const images = find(prefixes, 'images');
    const labels = find(prefixes, 'labels');
    if (images === undefined || labels === undefined) return null;
    const imageBytes = readBytes(join(dir, images));
    const labelBytes = readBytes(join(dir, labels));
    const pixels = idxImagesToFloat(parseIdx(imageBytes, images), images);
    const classes = labelsOf(labelBytes, labels, join(dir, labels));
    const count = pixels.data.length / pixels.sampleShape.reduce((a, b) => a * b, 1);
    checkIdxPair(count, classes.length, `${images} and ${labels}`);
    return { data: Dataset.classification(pixels.data, [1, ...pixels.sampleShape], classes), labels: classes, labelsPath: join(dir, labels), fingerprint: dataFingerprint([imageBytes, labelBytes]) };
  };
  const train = pair(['train']);
  if (train === null) throw new UserError(`${dir} has no train-images-* and train-labels-* IDX files`);
  checkTwoClasses(train.labels, train.labelsPath, 'pass a labels file with samples of every class');
  // Training sees only the train pair, so only it is fingerprinted.
  return { train: train.data, test: pair(['t10k', 'test'])?.data ?? null, fingerprint: train.fingerprint };
}
