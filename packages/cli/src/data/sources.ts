import { existsSync } from 'node:fs';
import { syntheticClassification, type Dataset } from '@lockstep/core';
import { UserError } from '../errors.js';
import { parseCsvDataset, type CsvHeader } from './csv.js';
import { dataFingerprint, datasetBytes } from './data-fingerprint.js';
import { DEBIAN_FASHION_MNIST, FASHION_MNIST_DIR_VARIABLE } from './fashion-mnist-folder.js';
import { idxFolder } from './idx.js';
import { imageSource } from './images/source.js';
import type { ImageSettings } from '../config/image-settings.js';
import type { SkippedImage } from './images/folder.js';
import { readBytes } from './read.js';

/** Training samples, and the source's own test set where it has one. */
export interface LoadedData {
  readonly train: Dataset;
  readonly test: Dataset | null;
  /** The content fingerprint of the training samples' source (see dataFingerprint). */
  readonly fingerprint: string;
  /** images:DIR only: the class names (label order) and the bad files --skip-bad-images left out. */
  readonly images?: { readonly classes: string[]; readonly skipped: SkippedImage[] };
  /** csv:FILE only: the file's header, whose feature columns a checkpoint records. */
  readonly csv?: CsvHeader;
}

const PREFIXED_SOURCES = ['idx:', 'csv:', 'images:'];

/** Whether `spec` names a data source; the `data` setting's rule. */
export function isDataSource(spec: string): boolean {
  return spec === 'default' || spec === 'fashion-mnist' || PREFIXED_SOURCES.some((prefix) => spec.startsWith(prefix) && spec.length > prefix.length);
}

/** The samples of a source that `isDataSource` accepted; images:DIR reads them with `images`. */
export function loadData(spec: string, seed: number, images: ImageSettings = {}): LoadedData {
  if (spec === 'default') return builtIn(seed);
  if (spec === 'fashion-mnist') {
    const dir = process.env[FASHION_MNIST_DIR_VARIABLE] ?? DEBIAN_FASHION_MNIST;
    if (!existsSync(dir)) {
      throw new UserError(`Fashion-MNIST is not in ${dir}; run "apt-get install -y dataset-fashion-mnist" or set ${FASHION_MNIST_DIR_VARIABLE}`);
    }
    return idxFolder(dir);
  }
  if (spec.startsWith('idx:')) return idxFolder(spec.slice(4));
  if (spec.startsWith('images:')) {
    const { train, test, fingerprint, classes, skipped } = imageSource(spec.slice(7), images);
    return { train, test, fingerprint, images: { classes, skipped } };
  }
  const bytes = readBytes(spec.slice(4));
  const { data, header } = parseCsvDataset(bytes.toString(), spec.slice(4));
  return { train: data, test: null, fingerprint: dataFingerprint([bytes]), csv: header };
}

function builtIn(seed: number): LoadedData {
  const all = syntheticClassification({ seed, samples: 6000, features: 128, classes: 10 });
  const train = all.slice(0, 5000);
  return { train, test: all.slice(5000, 6000), fingerprint: dataFingerprint(datasetBytes(train)) };
}
