import { checkInteger, checkNumber } from '../errors.js';
import { fillNormal, foldIn, foldInString, rootKey, uniformAt } from '../random/key.js';
import { Dataset } from './dataset.js';

export interface SyntheticOptions {
  seed: number;
  samples: number;
  /** Features per sample. */
  features: number;
  classes: number;
  /** Gaussian clusters per class in the latent space (default 3). */
  clustersPerClass?: number;
  /** Dimension of the latent space the clusters live in (default 12). */
  latent?: number;
  /** Standard deviation of a sample around its cluster centre (default 0.9). */
  noise?: number;
  /** Fraction of labels replaced by a random class (default 0.05), so memorizing does not pay. */
  labelNoise?: number;
}

/**
 * A classification task generated from a seed: clusters in a low-dimensional latent space, mapped
 * to `features` dimensions by a fixed random projection and a tanh. The clusters overlap and some
 * labels are wrong, so a large network can overfit it while a regularized one generalizes.
 */
export function syntheticClassification(options: SyntheticOptions): Dataset {
  const samples = checkInteger('samples', options.samples, 1);
  const features = checkInteger('features', options.features, 1);
  const classes = checkInteger('classes', options.classes, 2);
  const clusters = checkInteger('clustersPerClass', options.clustersPerClass ?? 3, 1);
  const latent = checkInteger('latent', options.latent ?? 12, 1);
  const noise = checkNumber('noise', options.noise ?? 0.9, 0);
  const labelNoise = checkNumber('labelNoise', options.labelNoise ?? 0.05, 0, 1);
  const key = foldInString(rootKey(checkInteger('seed', options.seed, 0)), 'synthetic');

  const centres = new Float64Array(classes * clusters * latent);
  fillNormal(foldInString(key, 'centres'), centres, 0, 1.6);
  const projection = new Float64Array(latent * features);
  fillNormal(foldInString(key, 'projection'), projection, 0, 1 / Math.sqrt(latent));

  const inputs = new Float32Array(samples * features);
  const labels = new Int32Array(samples);
  const point = new Float64Array(latent);
  const pickKey = foldInString(key, 'pick');
  const noiseKey = foldInString(key, 'noise');
  for (let s = 0; s < samples; s++) {
    const label = Math.floor(uniformAt(pickKey, 4 * s) * classes);
    const cluster = Math.floor(uniformAt(pickKey, 4 * s + 1) * clusters);
    fillNormal(foldIn(noiseKey, s), point, 0, noise);
    const centre = (label * clusters + cluster) * latent;
    for (let d = 0; d < latent; d++) point[d] += centres[centre + d];
    for (let f = 0; f < features; f++) {
      let sum = 0;
      for (let d = 0; d < latent; d++) sum += point[d] * projection[d * features + f];
      inputs[s * features + f] = Math.tanh(sum);
    }
    const flipped = uniformAt(pickKey, 4 * s + 2) < labelNoise;
    labels[s] = flipped ? Math.floor(uniformAt(pickKey, 4 * s + 3) * classes) : label;
  }
  return Dataset.classification(inputs, [features], labels, classes);
}

/**
 * lockstep's built-in data set: 5,000 samples of 128 features in 10 classes, split 4,000 / 1,000 into
 * training and validation. Small enough to train in seconds, and an unregularized network overfits it.
 */
export function builtinDataset(seed = 0): { train: Dataset; validation: Dataset } {
  const all = syntheticClassification({ seed, samples: 5000, features: 128, classes: 10 });
  return { train: all.slice(0, 4000), validation: all.slice(4000, 5000) };
}
