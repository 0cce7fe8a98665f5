// The variance shift of Li et al. (CVPR 2019), measured on trained lockstep models: for each BatchNorm
// layer, its running variance (estimated in training mode, dropout on) against the variance of its
// input in eval mode (dropout off) on the training samples; then the validation accuracy once every
// BatchNorm's running statistics are re-estimated in eval mode, layer by layer (Li et al.'s first fix).
// A model without dropout before a BatchNorm has ratios near 1 and gains nothing from the re-estimate.
//
//   node tools/variance-shift.mjs RUN_FOLDER...     (folders written by lockstep train: checkpoint.lockstep)
//
// Prints one Markdown table row per BatchNorm layer of each run. Measures the top-level batch-norm1d
// layers of the model spec (a `sequential` entry or batch-norm2d is not looked into). Needs `pnpm build`.
import { join } from 'node:path';
import { evaluate, modelFromSpec, predict } from '@lockstep/core';
import { fingerprint, loadCheckpoint } from '@lockstep/cli';
import { loadRunData } from '../packages/cli/dist/data/run-data.js';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Per-channel mean and unbiased variance of [rows, channels] values, summed in float64. */
function channelStatistics(values, rows) {
  const channels = values.length / rows;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let r = 0; r < rows; r++) for (let c = 0; c < channels; c++) mean[c] += values[r * channels + c];
  for (let c = 0; c < channels; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const d = values[r * channels + c] - mean[c];
      variance[c] += d * d;
    }
  }
  for (let c = 0; c < channels; c++) variance[c] /= rows - 1;
  return { mean, variance };
}

const folders = process.argv.slice(2);
if (folders.length === 0) {
  console.error('usage: node tools/variance-shift.mjs RUN_FOLDER...  (folders written by lockstep train)');
  process.exit(1);
}
console.log('| run | fingerprint | BatchNorm layer | median running var / eval-mode var | val acc | val acc, statistics re-estimated without dropout |');
console.log('|---|---|---|---|---|---|');
for (const folder of folders) {
  const checkpoint = loadCheckpoint(join(folder, 'checkpoint.lockstep'));
  const { spec, config } = checkpoint;
  const model = modelFromSpec(spec, config.seed);
  model.params.set(checkpoint.params);
  model.buffers.set(checkpoint.buffers);
  const data = await loadRunData(config, { threads: 1 });
  const inputs = data.train.inputs;
  const before = evaluate(model, data.validation).accuracy;
  /** This BatchNorm layer's input in eval mode: the layers before it, whose parameters and buffers come first in the flat arrays. */
  const inputOf = (index) => {
    const prefix = modelFromSpec({ input: spec.input, layers: spec.layers.slice(0, index) }, config.seed);
    prefix.params.set(model.params.subarray(0, prefix.size));
    prefix.buffers.set(model.buffers.subarray(0, prefix.buffers.length));
    return channelStatistics(predict(prefix, inputs), data.train.size);
  };
  const buffer = (index, name) => {
    const entry = model.bufferEntries.find((e) => e.path === `${index}.${name}`);
    return model.buffers.subarray(entry.offset, entry.offset + entry.length);
  };
  const layers = [...spec.layers.keys()].filter((index) => spec.layers[index].type === 'batch-norm1d');
  // The trained model as it is: each layer's running variance against its eval-mode input's.
  const rows = layers.map((index) => {
    const { variance } = inputOf(index);
    return { index, ratio: median(Array.from(buffer(index, 'runningVar'), (v, c) => v / variance[c])) };
  });
  // Li et al.'s re-estimate: each layer's statistics from eval-mode inputs, in order, so later layers see the corrected ones.
  for (const index of layers) {
    const { mean, variance } = inputOf(index);
    buffer(index, 'runningMean').set(Float32Array.from(mean));
    buffer(index, 'runningVar').set(Float32Array.from(variance));
  }
  const after = evaluate(model, data.validation).accuracy;
  for (const { index, ratio } of rows) {
    console.log(`| ${folder} | ${fingerprint(checkpoint.params, checkpoint.buffers)} | ${index} | ${ratio.toFixed(2)} | ${before.toFixed(4)} | ${after.toFixed(4)} |`);
  }
}
