import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkIdxPair, Dataset, idxImagesToFloat, idxLabels, parseIdx } from '@lockstep/core';

/** Where Debian's dataset-fashion-mnist package puts the files; FASHION_MNIST_DIR overrides it. */
export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

export function fashionMnistInstalled(dir = FASHION_MNIST_DIR): boolean {
  return existsSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
}

function readPair(dir: string, prefix: 'train' | 't10k'): Dataset {
  const imagesFile = `${prefix}-images-idx3-ubyte.gz`;
  const labelsFile = `${prefix}-labels-idx1-ubyte.gz`;
  const images = idxImagesToFloat(parseIdx(readFileSync(join(dir, imagesFile)), imagesFile), imagesFile);
  const labels = idxLabels(parseIdx(readFileSync(join(dir, labelsFile)), labelsFile), labelsFile);
  checkIdxPair(images.data.length / 784, labels.length, `${prefix} images and labels`);
  return Dataset.classification(images.data, [1, ...images.sampleShape], labels, 10);
}

/** Fashion-MNIST's 60,000 training and 10,000 test images (1x28x28 values in [0, 1]) with labels 0-9. */
export function loadFashionMnist(dir = FASHION_MNIST_DIR): { train: Dataset; test: Dataset } {
  if (!fashionMnistInstalled(dir)) {
    throw new Error(`Fashion-MNIST not found in ${dir}; run "apt-get install -y dataset-fashion-mnist" or set FASHION_MNIST_DIR`);
  }
  return { train: readPair(dir, 'train'), test: readPair(dir, 't10k') };
}
