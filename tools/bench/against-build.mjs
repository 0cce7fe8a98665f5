/**
 * Before/after in one run: training samples/s of one epoch, and eval samples/s of the same samples,
 * of the reference MLP (784-512-512-10, ReLU, dropout 0.5), the small MLP (784-128-64-10, the study
 * note's 128-64-10 on Fashion-MNIST) or the CNN of examples/configs/cnn.json
 * (batch 128, chunk 64, SGD with momentum, strict kernel) with this checkout's Trainer and with
 * another checkout's build (for example a worktree of the commit before a change, built with
 * `pnpm build`), interleaved, each after the same untimed warm-up; medians of the repetitions and
 * their ratio, at 1 and 2 workers (or --workers N only). Not part of `pnpm bench`: it needs the other build.
 *
 * Usage: node tools/bench/against-build.mjs --other DIR [--model mlp|small|cnn (default mlp)] [--workers N]
 *   [--reps R (default 5)] [--samples N (default: the whole epoch for the MLP, 12,800 for the CNN)]
 * Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else 60,000 synthetic samples.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sgd, syntheticClassification } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';
import { median } from './median.mjs';
import { REFERENCE_MLP_LAYERS, SMALL_MLP_LAYERS } from './reference-mlp.mjs';
import { oneOf, parseFlags, positiveInteger } from './options.mjs';

const values = parseFlags({
  other: { type: 'string' },
  model: { type: 'string', default: 'mlp' },
  workers: { type: 'string' },
  reps: { type: 'string', default: '5' },
  samples: { type: 'string' },
});
const modelName = oneOf('model', values.model, ['mlp', 'small', 'cnn']);
const workerCounts = values.workers === undefined ? [1, 2] : [positiveInteger('workers', values.workers)];
const reps = positiveInteger('reps', values.reps);
const otherWorkers = join(resolve(values.other ?? ''), 'packages/workers/dist/index.js');
if (values.other === undefined || !existsSync(otherWorkers)) {
  console.error(`--other must name a checkout built with pnpm build (no ${otherWorkers})`);
  process.exit(2);
}
const { Trainer: OtherTrainer } = await import(pathToFileURL(otherWorkers).href);
// Each build takes only the Dataset class of its own core, so the other build gets the same samples as its own.
const { Dataset: OtherDataset } = await import(pathToFileURL(join(resolve(values.other), 'packages/core/dist/index.js')).href);

const full = fashionMnistInstalled() ? loadFashionMnist().train : syntheticClassification({ seed: 0, samples: 60000, features: 784, classes: 10 });
const samples = values.samples === undefined ? (modelName === 'cnn' ? 12800 : full.size) : positiveInteger('samples', values.samples);
const data = samples >= full.size ? full : full.slice(0, samples);
const layers = modelName === 'cnn' ? JSON.parse(readFileSync(new URL('../../examples/configs/cnn.json', import.meta.url), 'utf8')).layers : modelName === 'small' ? SMALL_MLP_LAYERS : REFERENCE_MLP_LAYERS;
const model = { input: [...data.sampleShape], layers };
const otherData = OtherDataset.classification(data.inputs, [...data.sampleShape], data.targets.labels);

/** One epoch's training samples/s, then eval samples/s over the same samples. */
async function samplesPerSecond(TrainerClass, data, workers) {
  const trainer = new TrainerClass({ model, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: 64, workers, kernel: 'strict' });
  try {
    await trainer.fit(data.slice(0, 256), { epochs: 1, batchSize: 128 });
    await trainer.evaluate(data.slice(0, 1024));
    const { history } = await trainer.fit(data, { epochs: 1, batchSize: 128 });
    const started = performance.now();
    await trainer.evaluate(data);
    return { train: history[0].samplesPerSecond, eval: data.size / ((performance.now() - started) / 1000) };
  } finally {
    await trainer.close();
  }
}

console.log(`${modelName}: ${fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic'}, ${data.size} samples, ${reps} interleaved repetitions; this checkout against ${resolve(values.other)}`);
for (const workers of workerCounts) {
  const runs = { here: [], other: [] };
  for (let rep = 0; rep < reps; rep++) {
    // Alternate which build goes first, so a drift of the machine's speed favours neither.
    const order = rep % 2 === 0 ? ['here', 'other'] : ['other', 'here'];
    for (const build of order) runs[build].push(build === 'here' ? await samplesPerSecond(Trainer, data, workers) : await samplesPerSecond(OtherTrainer, otherData, workers));
  }
  for (const what of ['train', 'eval']) {
    const here = median(runs.here.map((r) => r[what]));
    const other = median(runs.other.map((r) => r[what]));
    const list = (build) => runs[build].map((r) => Math.round(r[what])).join(', ');
    console.log(`${workers} worker(s), ${what}: this checkout ${Math.round(here)} samples/s [${list('here')}], other ${Math.round(other)} [${list('other')}], ratio ${(here / other).toFixed(3)}`);
  }
}
