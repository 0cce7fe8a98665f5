import { lossByName, sizeOf, uncertaintyBytes, uncertaintyViews, type Evaluation, type LossName, type Model, type Uncertainty, type UncertaintyOutputs } from '@lockstep/core';
import { blockClaims, INFERENCE_BLOCK } from './block-claims.js';
import type { RankExchangeTask } from './messages.js';
import type { WorkerPool } from './pool.js';
import { blocksPerRank, rankShare, type RankPlace } from './rank-share.js';
import type { SharedDataset } from './shared-data.js';

// Eval-mode passes over the workers: each claims blocks of rows until none is left, and writes each
// block's results to its own place, so the results do not depend on which worker took which block.
// Across ranks each rank claims only its share of the blocks, and the ranks then exchange their
// shares (rank-share.ts), so every rank holds what one process computes, in the same places.

const ALONE: RankPlace = { rank: 0, size: 1 };

/** Mean loss and accuracy of `rows` samples of `data` in eval mode. */
export async function evaluateOnWorkers(pool: WorkerPool, data: SharedDataset, rows: number, lossName: LossName, place = ALONE): Promise<Evaluation> {
  const count = Math.ceil(rows / INFERENCE_BLOCK);
  const results = new SharedArrayBuffer(16 * count);
  await pool.onEveryWorker({ kind: 'evaluate', data, loss: lossName, blocks: blockClaims(rows, INFERENCE_BLOCK, rankShare(count, place)), results }, 'evaluate failed');
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

/** Rows of inputs to an eval-mode pass: a copy in shared memory of given rows, or a shared data set's samples. */
export interface InferenceInputs {
  readonly shared: SharedArrayBuffer | SharedDataset;
  readonly rows: number;
}

/** `inputs` (whole rows of the model's input) copied into shared memory. */
export function sharedRows(model: Model, inputs: Float32Array): InferenceInputs {
  const rows = model.inputTensor(inputs).shape[0];
  const shared = new SharedArrayBuffer(inputs.byteLength);
  new Float32Array(shared).set(inputs);
  return { shared, rows };
}

/** The model's eval-mode outputs for every row of `inputs`. */
export async function predictOnWorkers(pool: WorkerPool, model: Model, { shared, rows }: InferenceInputs, place = ALONE): Promise<Float32Array> {
  const width = sizeOf(model.outputShape);
  const outputs = new SharedArrayBuffer(4 * rows * width);
  const count = Math.ceil(rows / INFERENCE_BLOCK);
  await pool.onEveryWorker({ kind: 'predict', inputs: shared, outputs, blocks: blockClaims(rows, INFERENCE_BLOCK, rankShare(count, place)) }, 'predict failed');
  const perRank = blocksPerRank(count, place.size) * INFERENCE_BLOCK;
  await exchange(pool, place, { buffer: outputs, float64: false, fields: [{ offset: 0, width }], units: rows, perRank }, 'predict failed');
  return new Float32Array(outputs);
}

/** Monte Carlo dropout over every row of `inputs`, `passes` masks keyed by (seed, pass, row), each pass's outputs taken as `outputKind` says. */
export async function uncertaintyOnWorkers<O extends UncertaintyOutputs>(
  pool: WorkerPool,
  model: Model,
  { shared, rows }: InferenceInputs,
  { passes, seed, outputKind }: { passes: number; seed: number; outputKind: O },
  place = ALONE,
): Promise<Uncertainty<O>> {
  const classes = sizeOf(model.outputShape);
  const outputs = new SharedArrayBuffer(uncertaintyBytes(rows, classes, outputKind));
  const count = Math.ceil(rows / INFERENCE_BLOCK);
  const blocks = blockClaims(rows, INFERENCE_BLOCK, rankShare(count, place));
  await pool.onEveryWorker({ kind: 'uncertainty', inputs: shared, outputs, blocks, passes, seed, outputKind }, 'predict with uncertainty failed');
  const views = uncertaintyViews(outputs, rows, classes, outputKind);
  const perRow = [[views.mean, classes], [views.std, classes], [views.entropy, 1], [views.mutualInformation, 1]] as const;
  const fields = perRow.flatMap(([view, width]) => (view === null ? [] : [{ offset: view.byteOffset / 8, width }]));
  const perRank = blocksPerRank(count, place.size) * INFERENCE_BLOCK;
  await exchange(pool, place, { buffer: outputs, float64: true, fields, units: rows, perRank }, 'predict with uncertainty failed');
  return views;
}

/** Every rank's share of a pass, on every rank: one task on one worker of each rank. */
async function exchange(pool: WorkerPool, place: RankPlace, task: Omit<RankExchangeTask, 'kind'>, where: string): Promise<void> {
  if (place.size === 1 || task.units === 0) return;
  await pool.round([{ kind: 'rank-exchange', ...task }], `${where} (exchanging results with the other ranks)`);
}
