import { lossByName, sizeOf, uncertaintyBytes, uncertaintyViews, type Evaluation, type LossName, type Model, type Uncertainty } from '@lockstep/core';
import { blockClaims, blockCount } from './block-claims.js';
import type { WorkerPool } from './pool.js';
import type { SharedDataset } from './shared-data.js';

// Eval-mode passes over the workers: each claims blocks of rows until none is left, and writes each
// block's results to its own place, so the results do not depend on which worker took which block.

const EVAL_BLOCK = 256;

/** Mean loss and accuracy of `rows` samples of `data` in eval mode. */
export async function evaluateOnWorkers(pool: WorkerPool, data: SharedDataset, rows: number, lossName: LossName): Promise<Evaluation> {
  const blocks = blockClaims(rows, EVAL_BLOCK);
  const results = new SharedArrayBuffer(16 * blockCount(blocks));
  await pool.onEveryWorker({ kind: 'evaluate', data, loss: lossName, blocks, results }, 'evaluate failed');
  const sums = new Float64Array(results);
  let lossSum = 0;
  let correct = 0;
  for (let block = 0; block < blockCount(blocks); block++) {
    lossSum += sums[2 * block];
    correct += sums[2 * block + 1];
  }
  return { loss: lossSum / rows, accuracy: lossByName(lossName).reportsAccuracy ? correct / rows : null };
}

function sharedCopy(inputs: Float32Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(inputs.byteLength);
  new Float32Array(shared).set(inputs);
  return shared;
}

/** The model's eval-mode outputs for every row of `inputs`. */
export async function predictOnWorkers(pool: WorkerPool, model: Model, inputs: Float32Array): Promise<Float32Array> {
  const rows = model.inputTensor(inputs).shape[0];
  const outputs = new SharedArrayBuffer(4 * rows * sizeOf(model.outputShape));
  await pool.onEveryWorker({ kind: 'predict', inputs: sharedCopy(inputs), outputs, blocks: blockClaims(rows, EVAL_BLOCK) }, 'predict failed');
  return new Float32Array(outputs);
}

/** Monte Carlo dropout over every row of `inputs`, `passes` masks keyed by (seed, pass, row). */
export async function uncertaintyOnWorkers(pool: WorkerPool, model: Model, inputs: Float32Array, passes: number, seed: number): Promise<Uncertainty> {
  const rows = model.inputTensor(inputs).shape[0];
  const classes = sizeOf(model.outputShape);
  const outputs = new SharedArrayBuffer(uncertaintyBytes(rows, classes));
  const blocks = blockClaims(rows, EVAL_BLOCK);
  await pool.onEveryWorker({ kind: 'uncertainty', inputs: sharedCopy(inputs), outputs, blocks, passes, seed }, 'predict with uncertainty failed');
  return uncertaintyViews(outputs, rows, classes);
}
