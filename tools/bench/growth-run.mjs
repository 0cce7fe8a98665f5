/**
 * One measurement of the growth bench (growth.bench.mjs), alone in its own process so that its peak
 * resident memory belongs to it: lockstep trains an MLP 784-W-W-10 or the CNN of
 * examples/configs/cnn.json with its own channel counts, after an untimed warm-up of two batches,
 * and prints one JSON line: samples/s, the process's peak RSS before the trainer was built (runtime
 * and data loaded: the whole Fashion-MNIST training set, or 60,000 synthetic samples) and at the end
 * (worker threads included: they share this process).
 *
 * Usage: node tools/bench/growth-run.mjs '{"model":"mlp","width":512,"batch":128,"kernel":"strict","workers":2,"samples":2048}'
 *   ("model":"cnn" takes "channels":[C1,C2] instead of "width").
 */
import { readFileSync } from 'node:fs';
import { sgd, syntheticClassification } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';
import { mlpLayers } from './reference-mlp.mjs';

const peakMiB = () => process.resourceUsage().maxRSS / 1024;

/** The CNN of examples/configs/cnn.json with `channels` for its two conv layers. */
function cnnLayers([c1, c2]) {
  const layers = JSON.parse(readFileSync(new URL('../../examples/configs/cnn.json', import.meta.url), 'utf8')).layers;
  const convs = layers.filter((layer) => layer.type === 'conv2d');
  convs[0].out = c1;
  convs[1].out = c2;
  return layers;
}

const run = JSON.parse(process.argv[2]);
const full = fashionMnistInstalled() ? loadFashionMnist().train : syntheticClassification({ seed: 0, samples: 60000, features: 784, classes: 10 });
const data = full.slice(0, Math.min(full.size, run.samples));
const dataRssMiB = peakMiB();
const layers = run.model === 'mlp' ? mlpLayers(run.width) : cnnLayers(run.channels);
// At most 64, and at least two chunks a batch, so that both workers have a chunk at every step.
const chunkSize = Math.min(64, Math.max(1, Math.floor(run.batch / run.workers)));
const trainer = new Trainer({ model: { input: [...data.sampleShape], layers }, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize, workers: run.workers, kernel: run.kernel });
try {
  // Untimed warm-up, as in the trainer bench and the PyTorch script: the first steps compile and allocate.
  await trainer.fit(data.slice(0, Math.min(data.size, 2 * run.batch)), { epochs: 1, batchSize: run.batch });
  const { history } = await trainer.fit(data, { epochs: 1, batchSize: run.batch });
  console.log(JSON.stringify({ samplesPerSecond: history[0].samplesPerSecond, params: trainer.model.size, chunkSize, dataRssMiB, maxRssMiB: peakMiB() }));
} finally {
  await trainer.close();
}
