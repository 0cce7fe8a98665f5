/**
 * Before/after in one run: training samples/s of one epoch of the reference MLP (784-512-512-10,
 * ReLU, dropout 0.5, batch 128, chunk 64, SGD with momentum, strict kernel) with this checkout's
 * Trainer and with another checkout's build (for example a worktree of the commit before a change,
 * built with `pnpm build`), interleaved, each after the same untimed warm-up; medians of the
 * repetitions and their ratio, at 1 and 2 workers. Not part of `pnpm bench`: it needs the other build.
 *
 * Usage: node tools/bench/against-build.mjs --other DIR [--reps R (default 5)] [--samples N]
 * Uses Fashion-MNIST when Debian's dataset-fashion-mnist is installed, else 60,000 synthetic samples.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sgd, syntheticClassification } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';
import { median } from './median.mjs';
import { REFERENCE_MLP_LAYERS } from './reference-mlp.mjs';
import { parseFlags, positiveInteger } from './options.mjs';

const values = parseFlags({ other: { type: 'string' }, reps: { type: 'string', default: '5' }, samples: { type: 'string' } });
const reps = positiveInteger('reps', values.reps);
const otherWorkers = join(resolve(values.other ?? ''), 'packages/workers/dist/index.js');
if (values.other === undefined || !existsSync(otherWorkers)) {
  console.error(`--other must name a checkout built with pnpm build (no ${otherWorkers})`);
  process.exit(2);
}
const { Trainer: OtherTrainer } = await import(pathToFileURL(otherWorkers).href);

const full = fashionMnistInstalled() ? loadFashionMnist().train : syntheticClassification({ seed: 0, samples: 60000, features: 784, classes: 10 });
const data = values.samples === undefined ? full : full.slice(0, Math.min(full.size, positiveInteger('samples', values.samples)));
const model = {
  input: [...data.sampleShape],
  layers: REFERENCE_MLP_LAYERS,
};

async function epochSamplesPerSecond(TrainerClass, workers) {
  const trainer = new TrainerClass({ model, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize: 64, workers, kernel: 'strict' });
  try {
    await trainer.fit(data.slice(0, 256), { epochs: 1, batchSize: 128 });
    const { history } = await trainer.fit(data, { epochs: 1, batchSize: 128 });
    return history[0].samplesPerSecond;
  } finally {
    await trainer.close();
  }
}

console.log(`${fashionMnistInstalled() ? 'Fashion-MNIST' : 'synthetic'}, ${data.size} samples, ${reps} interleaved repetitions; this checkout against ${resolve(values.other)}`);
for (const workers of [1, 2]) {
  const runs = { here: [], other: [] };
  for (let rep = 0; rep < reps; rep++) {
    // Alternate which build goes first, so a drift of the machine's speed favours neither.
    const order = rep % 2 === 0 ? ['here', 'other'] : ['other', 'here'];
    for (const build of order) runs[build].push(await epochSamplesPerSecond(build === 'here' ? Trainer : OtherTrainer, workers));
  }
  const here = median(runs.here);
  const other = median(runs.other);
  const list = (xs) => xs.map((x) => Math.round(x)).join(', ');
  console.log(`${workers} worker(s): this checkout ${Math.round(here)} samples/s [${list(runs.here)}], other ${Math.round(other)} [${list(runs.other)}], ratio ${(here / other).toFixed(3)}`);
}
