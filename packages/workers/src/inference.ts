import { lossByName, sizeOf, uncertaintyBytes, uncertaintyViews, type Evaluation, type LossName, type Model, type Uncertainty } from '@lockstep/core';
import { blockClaims } from './block-claims.js';
import type { RankExchangeTask } from './messages.js';
import type { WorkerPool } from './pool.js';
import { blocksPerRank, rankShare, type RankPlace } from './rank-share.js';
import type { SharedDataset } from './shared-data.js';

// Eval-mode passes over the workers: each claims blocks of rows until none is left, and writes each
// block's results to its own place, so the results do not depend on which worker took which block.
// Across ranks each rank claims only its share of the blocks, and the ranks then exchange their
// shares (rank-share.ts), so every rank holds what one process computes, in the same places.

const EVAL_BLOCK = 256;
const ALONE: RankPlace = { rank: 0, size: 1 };

/** Mean loss and accuracy of `rows` samples of `data` in eval mode. */
export async function evaluateOnWorkers(pool: WorkerPool, data: SharedDataset, rows: number, lossName: LossName, place = ALONE): Promise<Evaluation> {
  const count = Math.ceil(rows / EVAL_BLOCK);
  const results = new SharedArrayBuffer(16 * count);
  await pool.onEveryWorker({ kind: 'evaluate', data, loss: lossName, blocks: blockClaims(rows, EVAL_BLOCK, rankShare(count, place)), results }, 'evaluate failed');
  await exchange(pool, place, { buffer: results, float64: true, fields: [{ offset: 0, width: 2 }], units: count, perRank: blocksPerRank(count, place.size) }, 'evaluate failed');
  const sums = new Float64Array(results);
  let lossSum = 0;
  let correct = 0;
  for (let block = 0; block < count; block++) {
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
export async function predictOnWorkers(pool: WorkerPool, model: Model, inputs: Float32Array, place = ALONE): Promise<Float32Array> {
  const rows = model.inputTensor(inputs).shape[0];
  const width = sizeOf(model.outputShape);
  const outputs = new SharedArrayBuffer(4 * rows * width);
  const count = Math.ceil(rows / EVAL_BLOCK);
  await pool.onEveryWorker({ kind: 'predict', inputs: sharedCopy(inputs), outputs, blocks: blockClaims(rows, EVAL_BLOCK, rankShare(count, place)) }, 'predict failed');
  const perRank = blocksPerRank(count, place.size) * EVAL_BLOCK;
  await exchange(pool, place, { buffer: outputs, float64: false, fields: [{ offset: 0, width }], units: rows, perRank }, 'predict failed');
  return new Float32Array(outputs);
}

/** Monte Carlo dropout over every row of `inputs`, `passes` masks keyed by (seed, pass, row). */
export async function uncertaintyOnWorkers(pool: WorkerPool, model: Model, inputs: Float32Array, passes: number, seed: number, place = ALONE): Promise<Uncertainty> {
  const rows = model.inputTensor(inputs).shape[0];
  const classes = sizeOf(model.outputShape);
  const outputs = new SharedArrayBuffer(uncertaintyBytes(rows, classes));
  const count = Math.ceil(rows / EVAL_BLOCK);
  const blocks = blockClaims(rows, EVAL_BLOCK, rankShare(count, place));
  await pool.onEveryWorker({ kind: 'uncertainty', inputs: sharedCopy(inputs), outputs, blocks, passes, seed }, 'predict with uncertainty failed');
  const views = uncertaintyViews(outputs, rows, classes);
  const fields = ([[views.mean, classes], [views.std, classes], [views.entropy, 1], [views.mutualInformation, 1]] as const).map(([view, width]) => ({ offset: view.byteOffset / 8, width }));
  const perRank = blocksPerRank(count, place.size) * EVAL_BLOCK;
  await exchange(pool, place, { buffer: outputs, float64: true, fields, units: rows, perRank }, 'predict with uncertainty failed');
  return views;
}

/** Every rank's share of a pass, on every rank: one task on one worker of each rank. */
async function exchange(pool: WorkerPool, place: RankPlace, task: Omit<RankExchangeTask, 'kind'>, where: string): Promise<void> {
  if (place.size === 1 || task.units === 0) return;
  await pool.round([{ kind: 'rank-exchange', ...task }], `${where} (exchanging results with the other ranks)`);
}
