/**
 * One party of tools/bench/mpi.bench.mjs: trains `--steps` steps of batch 128 (after 2 untimed ones)
 * on this process's worker threads, joined to the other ranks when mpirun started it, and rank 0
 * prints its `lastFitTimings` and the model's parameter count as one JSON line.
 *
 * Usage: [mpirun ...] node tools/bench/mpi-steps.mjs --model mlp|cnn --steps S --workers W --chunk C
 */
import { readFileSync } from 'node:fs';
import { Dataset, sgd, syntheticClassification } from '../../packages/core/dist/index.js';
import { Trainer } from '../../packages/workers/dist/index.js';
import { launchedByMpirun, mpiWorld } from '../../packages/mpi/dist/index.js';
import { fashionMnistInstalled, loadFashionMnist } from '../../examples/dist/fashion-mnist-data.js';
import { oneOf, parseFlags, positiveInteger } from './options.mjs';
import { REFERENCE_MLP_LAYERS } from './reference-mlp.mjs';

export const BATCH = 128;
const WARM_UP_STEPS = 2;

const values = parseFlags({ model: { type: 'string' }, steps: { type: 'string' }, workers: { type: 'string' }, chunk: { type: 'string' } });
const layers = {
  mlp: REFERENCE_MLP_LAYERS,
  cnn: JSON.parse(readFileSync(new URL('../../examples/configs/cnn.json', import.meta.url), 'utf8')).layers,
}[oneOf('model', values.model, ['mlp', 'cnn'])];
const steps = positiveInteger('steps', values.steps);
const workers = positiveInteger('workers', values.workers);
const chunkSize = positiveInteger('chunk', values.chunk);

const samples = (WARM_UP_STEPS + steps) * BATCH;
const data = fashionMnistInstalled()
  ? loadFashionMnist().train.slice(0, samples)
  : reshaped(syntheticClassification({ seed: 0, samples, features: 784, classes: 10 }), [1, 28, 28]);

function reshaped(dataset, shape) {
  return new Dataset(dataset.inputs, shape, dataset.targets);
}

// MPI must start in the main thread before the workers join its world.
const world = launchedByMpirun() ? mpiWorld() : null;
const ranks = world !== null && world.size > 1 ? { kind: 'mpi', rank: world.rank, size: world.size } : undefined;
const trainer = new Trainer({ model: { input: [...data.sampleShape], layers }, seed: 0, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), chunkSize, workers, ranks });
try {
  // A new trainer's first steps compile and allocate in every worker.
  await trainer.fit(data.slice(0, WARM_UP_STEPS * BATCH), { epochs: 1, batchSize: BATCH, shuffle: false });
  await trainer.fit(data.slice(WARM_UP_STEPS * BATCH, samples), { epochs: 1, batchSize: BATCH, shuffle: false });
  if ((world?.rank ?? 0) === 0) console.log(JSON.stringify({ parameters: trainer.model.size, timings: trainer.lastFitTimings }));
} finally {
  await trainer.close();
}
