import { threadId } from 'node:worker_threads';
import {
  addKernelBuffer,
  augmentRunKey,
  checkUncertaintyOptions,
  dropoutRunKey,
  lossByName,
  mcDropoutRows,
  Model,
  rowIndices,
  sequentialFromSpec,
  sizeOf,
  StepEngine,
  uncertaintyViews,
  UpdateKernel,
  useKernel,
  useKernelMemory,
  withParametersFixed,
  type Dataset,
  type Key,
  type RankGroup,
  type UpdateAddresses,
} from '@lockstep/core';
import { modelViews, sharedBuffer, stepViews, updateAddresses, type StepViews } from './layout.js';
import type {
  EvaluateTask,
  PredictTask,
  RankExchangeTask,
  ReplicaForwardResult,
  ReplicaForwardTask,
  StepBuffer,
  StepLoopTask,
  TimedResult,
  UncertaintyTask,
  WorkerSetup,
} from './messages.js';
import { arriveAndWait, barrierParty } from './barrier.js';
import { nextOrder, oneMoreOrder, reportStep } from './doorbell.js';
import { forEachClaimedBlock, type BlockClaims } from './block-claims.js';
import { exchangeShares, pieceBytes } from './rank-share.js';
import { datasetFromShared, type SharedDataset } from './shared-data.js';

/**
 * One thread's copy of the model, rebuilt from the spec. Its parameters are views into the shared
 * model buffer, so it never holds a stale copy; only layer scratch space is private.
 */
export class Replica {
  private readonly setup: WorkerSetup;
  private readonly model: Model;
  private readonly dropoutKey: Key;
  private readonly kernel: UpdateKernel;
  private readonly ranks: RankGroup | null;
  private stepBuffer: { version: number; views: StepViews; at: UpdateAddresses } | null = null;
  private data: { version: number; dataset: Dataset } | null = null;

  constructor(setup: WorkerSetup, ranks: RankGroup | null) {
    this.setup = setup;
    this.ranks = ranks;
    const buffer = sharedBuffer(setup.memory);
    this.kernel = new UpdateKernel(setup.memory);
    useKernel(setup.kernel);
    useKernelMemory(setup.memory, [buffer]);
    const module = sequentialFromSpec(setup.spec);
    this.model = new Model(module, setup.spec.input, { params: modelViews(buffer, setup.modelLayout).params, grads: new Float32Array(setup.modelLayout.paramCount) });
    this.dropoutKey = dropoutRunKey(setup.seed);
  }

  /** Runs the step orders rung at the step buffer's doorbell until one says stop. */
  stepLoop(task: StepLoopTask): TimedResult {
    const started = performance.now();
    const { views, at } = this.stepOf(task.step);
    const { dataset } = this.dataOf(task.data);
    const engine = new StepEngine({
      model: this.model,
      loss: lossByName(task.loss),
      data: dataset,
      chunkSize: task.chunkSize,
      dropoutKey: this.dropoutKey,
      augment: task.augment === null ? undefined : { spec: task.augment, key: augmentRunKey(this.setup.seed) },
      optimizer: this.setup.optimizer,
      kernel: this.kernel,
      at,
      buffers: views,
      party: barrierParty(views.barrier, task.party, task.parties),
      ranks: this.ranks === null ? undefined : { group: this.ranks, sums: views.rankSums, address: task.step.layout.rankSumsOffset, scalars: views.rankScalars, maxChunks: task.step.layout.maxChunks },
    });
    for (let seen = task.since; ; seen = oneMoreOrder(seen)) {
      const order = nextOrder(views, seen);
      if (order.stop) return { seconds: (performance.now() - started) / 1000 };
      reportStep(views, task.party, task.parties, engine.run({ step: order.step, epoch: order.epoch, samples: views.batchSamples.subarray(0, order.batchSize), stopWanted: order.stopWanted }));
    }
  }

  evaluate(task: EvaluateTask): TimedResult {
    const started = performance.now();
    const { dataset } = this.dataOf(task.data);
    const loss = lossByName(task.loss);
    const results = new Float64Array(task.results);
    this.forEachBlock(task.blocks, (from, to, block) => {
      const slice = dataset.slice(from, to);
      const output = this.forward(slice.inputs, false, 0, rowIndices(to - from, from));
      const result = loss.evaluate(output, slice.targets, to - from, null);
      results[2 * block] = result.sum;
      results[2 * block + 1] = result.correct;
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  predict(task: PredictTask): TimedResult {
    const started = performance.now();
    const sampleSize = sizeOf(this.model.inputShape);
    const width = sizeOf(this.model.outputShape);
    this.forEachBlock(task.blocks, (from, to) => {
      const inputs = new Float32Array(task.inputs, 4 * from * sampleSize, (to - from) * sampleSize);
      const output = this.forward(inputs, false, 0, rowIndices(to - from, from));
      new Float32Array(task.outputs, 4 * from * width, output.data.length).set(output.data);
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  uncertainty(task: UncertaintyTask): TimedResult {
    const started = performance.now();
    const sampleSize = sizeOf(this.model.inputShape);
    const out = uncertaintyViews(task.outputs, task.blocks.rows, sizeOf(this.model.outputShape));
    const { passes, key } = checkUncertaintyOptions({ samples: task.passes, seed: task.seed });
    this.forEachBlock(task.blocks, (from, to) => {
      const inputs = new Float32Array(task.inputs, 4 * from * sampleSize, (to - from) * sampleSize);
      mcDropoutRows(this.model, inputs, from, passes, key, out);
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  /** Shares this rank's part of an eval-mode pass with the other ranks: one worker of each rank runs it. */
  rankExchange(task: RankExchangeTask): TimedResult {
    const started = performance.now();
    if (this.ranks === null || this.setup.ranks === null) throw new Error('rank-exchange: this trainer is not one of several ranks');
    exchangeShares(this.ranks, task, pieceBytes(this.setup.ranks));
    return { seconds: (performance.now() - started) / 1000 };
  }

  replicaForward(task: ReplicaForwardTask): ReplicaForwardResult {
    arriveAndWait(new Int32Array(task.barrier), task.replicas);
    const output = this.forward(task.inputs, task.training, task.optimizerStep, task.samples);
    return { threadId, output: output.data.slice() };
  }

  /** `forEachClaimedBlock`, with the parameters fixed: nothing updates them during an eval task. */
  private forEachBlock(blocks: BlockClaims, work: (from: number, to: number, block: number) => void): void {
    withParametersFixed(() => forEachClaimedBlock(blocks, work));
  }

  private forward(inputs: Float32Array, training: boolean, step: number, samples: ArrayLike<number>) {
    this.model.train(training);
    return this.model.forward(this.model.inputTensor(inputs), { key: this.dropoutKey, step, samples });
  }

  /** Views and kernel addresses of a step buffer, made once per buffer rather than per task. */
  private stepOf(step: StepBuffer): { views: StepViews; at: UpdateAddresses } {
    if (this.stepBuffer?.version !== step.version) {
      addKernelBuffer(step.buffer);
      this.stepBuffer = { version: step.version, views: stepViews(step.buffer, step.layout), at: updateAddresses(this.setup.modelLayout, step.layout) };
    }
    return this.stepBuffer;
  }

  private dataOf(shared: SharedDataset): { dataset: Dataset } {
    if (this.data?.version !== shared.version) this.data = { version: shared.version, dataset: datasetFromShared(shared) };
    return this.data;
  }
}
