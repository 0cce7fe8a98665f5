import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  checkIdxPair,
  Dataset,
  foldInString,
  idxImagesToFloat,
  idxLabels,
  parseIdx,
  permutation,
  rootKey,
  syntheticClassification,
} from '@lockstep/core';
import { UserError } from '../errors.js';

export const FASHION_MNIST_DIR_VARIABLE = 'FASHION_MNIST_DIR';
const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
/** The largest class label a CSV may hold: a larger one is far more likely a value than a class. */
const MAX_LABEL = 65535;

/** Training samples, and the source's own test set where it has one. */
export interface LoadedData {
  readonly train: Dataset;
  readonly test: Dataset | null;
}

export const DATA_HELP = `data sets (--data):
  default          built in: 5,000 + 1,000 test samples of 128 features in 10 classes, generated from --seed
  fashion-mnist    Debian's dataset-fashion-mnist (${DEBIAN_FASHION_MNIST}), or the folder in $${FASHION_MNIST_DIR_VARIABLE}
  idx:DIR          an IDX pair train-images-*/train-labels-* in DIR (gzip or raw), and t10k-*/test-* if present
  csv:FILE         a CSV of numbers, one sample per row; the label is the column named "label", else the last`;

export function loadData(spec: string, seed: number): LoadedData {
  if (spec === 'default') return builtIn(seed);
  if (spec === 'fashion-mnist') {
    const dir = process.env[FASHION_MNIST_DIR_VARIABLE] ?? DEBIAN_FASHION_MNIST;
    if (!existsSync(dir)) {
      throw new UserError(`Fashion-MNIST is not in ${dir}; run "apt-get install -y dataset-fashion-mnist" or set ${FASHION_MNIST_DIR_VARIABLE}`);
    }
    return idxFolder(dir);
  }
  if (spec.startsWith('idx:')) return idxFolder(spec.slice(4));
  if (spec.startsWith('csv:')) return { train: parseCsvDataset(readBytes(spec.slice(4)).toString(), spec.slice(4)), test: null };
  throw new UserError(`--data must be default, fashion-mnist, idx:DIR or csv:FILE, got "${spec}"`);
}

function builtIn(seed: number): LoadedData {
  const all = syntheticClassification({ seed, samples: 6000, features: 128, classes: 10 });
  return { train: all.slice(0, 5000), test: all.slice(5000, 6000) };
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function idxFolder(dir: string): LoadedData {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new UserError(`cannot read the data folder ${dir}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const find = (prefixes: string[], kind: 'images' | 'labels'): string | undefined =>
    names.find((name) => prefixes.some((prefix) => name.startsWith(`${prefix}-${kind}`)));
  const pair = (prefixes: string[]): Dataset | null => {
    const images = find(prefixes, 'images');
    const labels = find(prefixes, 'labels');
    if (images === undefined || labels === undefined) return null;
    const pixels = idxImagesToFloat(parseIdx(readBytes(join(dir, images)), images), images);
    const classes = idxLabels(parseIdx(readBytes(join(dir, labels)), labels), labels);
    const count = pixels.data.length / pixels.sampleShape.reduce((a, b) => a * b, 1);
    checkIdxPair(count, classes.length, `${images} and ${labels}`);
    return Dataset.classification(pixels.data, [1, ...pixels.sampleShape], classes);
  };
  const train = pair(['train']);
  if (train === null) throw new UserError(`${dir} has no train-images-* and train-labels-* IDX files`);
  return { train, test: pair(['t10k', 'test']) };
}

/** A classification data set from the text of a CSV file named `path`. */
export function parseCsvDataset(text: string, path: string): Dataset {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new UserError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (rows.length === 0) throw new UserError(`${path} has no rows`);
  const header = rows[0]!.some((field) => field !== '' && Number.isNaN(Number(field))) ? rows.shift()! : null;
  const labelColumn = header?.indexOf('label') ?? -1;
  const width = rows[0]?.length ?? 0;
  if (rows.length === 0 || width < 2) throw new UserError(`${path} needs at least one row of two or more columns (features and a label)`);
  const label = labelColumn >= 0 ? labelColumn : width - 1;
  const inputs = new Float32Array(rows.length * (width - 1));
  const labels = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const line = r + (header === null ? 1 : 2);
    let at = r * (width - 1);
    row.forEach((field, c) => {
      const value = Number(field);
      // Quoted fields may hold newlines: JSON.stringify keeps the message on one line.
      if (field === '' || !Number.isFinite(value)) throw new UserError(`${path}: line ${line}, column ${c + 1}: ${JSON.stringify(field)} is not a number`);
      if (c === label) {
        if (!Number.isInteger(value) || value < 0 || value > MAX_LABEL) {
          throw new UserError(`${path}: line ${line}: label ${JSON.stringify(field)} must be an integer from 0 to ${MAX_LABEL}`);
        }
        labels[r] = value;
      } else {
        inputs[at++] = value;
      }
    });
  });
  return Dataset.classification(inputs, [width - 1], labels);
}

/** Reads rows to predict: a CSV of numbers (no label column), or an IDX images file. */
export function readInputs(path: string, sampleSize: number): Float32Array {
  if (path.endsWith('.csv')) return parseInputsCsv(readBytes(path).toString(), path, sampleSize);
  const images = idxImagesToFloat(parseIdx(readBytes(path), path), path);
  if (images.sampleShape.reduce((a, b) => a * b, 1) !== sampleSize) {
    throw new UserError(`${path}: images of shape [${images.sampleShape.join(',')}] do not fit the model's input of ${sampleSize} values`);
  }
  return images.data;
}

/** Rows of `sampleSize` numbers from the text of a CSV file named `path`. */
export function parseInputsCsv(text: string, path: string, sampleSize: number): Float32Array {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new UserError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const values = rows.flat().map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${path}: ${JSON.stringify(rows.flat()[bad])} is not a number`);
  if (rows.some((row) => row.length !== sampleSize)) {
    throw new UserError(`${path}: every row needs ${sampleSize} numbers (the model's input size)`);
  }
  return Float32Array.from(values);
}

/** A seeded split of `data` into training and validation samples. */
export function splitValidation(data: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset | null } {
  const count = Math.round(data.size * fraction);
  if (count === 0) return { train: data, validation: null };
  const order = permutation(foldInString(rootKey(seed), 'validation-split'), data.size);
  return { train: data.select(order.subarray(count)), validation: data.select(order.subarray(0, count)) };
}
