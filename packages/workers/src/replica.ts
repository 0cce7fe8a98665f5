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
  sliceTargets,
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
  RankAgreeTask,
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
import { forEachClaimedBlock, INFERENCE_BLOCK, type BlockClaims } from './block-claims.js';
import { gatherTexts } from './rank-agreement.js';
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
    const shared = modelViews(buffer, setup.modelLayout);
    this.model = new Model(module, setup.spec.input, { params: shared.params, grads: new Float32Array(setup.modelLayout.paramCount), buffers: shared.buffers });
    this.dropoutKey = dropoutRunKey(setup.seed);
  }

  /** Runs the step orders rung at the step buffer's doorbell until one says stop. */
  async stepLoop(task: StepLoopTask): Promise<TimedResult> {
    const started = performance.now();
    const { views, at } = this.stepOf(task.step);
    const dataset = await this.dataOf(task.data);
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
      // Data read on demand: while waiting for the next order, the party gets its next samples ready.
      const order = nextOrder(views, seen, engine.idle);
      if (order.stop) return { seconds: (performance.now() - started) / 1000 };
      const next = order.nextSize === undefined ? undefined : views.nextSamples.subarray(0, order.nextSize);
      const samples = views.batchSamples.subarray(0, order.batchSize);
      reportStep(views, task.party, task.parties, engine.run({ step: order.step, epoch: order.epoch, samples, stopWanted: order.stopWanted, stopBefore: order.stopBefore, lr: order.lr, ...(next === undefined ? {} : { next }) }));
    }
  }

  async evaluate(task: EvaluateTask): Promise<TimedResult> {
    const started = performance.now();
    const dataset = await this.dataOf(task.data);
    const loss = lossByName(task.loss);
    const results = new Float64Array(task.results);
    const scratch = this.rowsScratch(dataset);
    this.forEachBlock(task.blocks, (from, to, block) => {
      const inputs = dataset.gatherRows(from, to, scratch);
      const output = this.forward(inputs, false, 0, rowIndices(to - from, from));
      const result = loss.evaluate(output, sliceTargets(dataset.targets, from, to), to - from, null);
      results[2 * block] = result.sum;
      results[2 * block + 1] = result.correct;
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  async predict(task: PredictTask): Promise<TimedResult> {
    const started = performance.now();
    const rowsOf = await this.inputRows(task.inputs);
    const width = sizeOf(this.model.outputShape);
    this.forEachBlock(task.blocks, (from, to) => {
      const inputs = rowsOf(from, to);
      const output = this.forward(inputs, false, 0, rowIndices(to - from, from));
      new Float32Array(task.outputs, 4 * from * width, output.data.length).set(output.data);
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  async uncertainty(task: UncertaintyTask): Promise<TimedResult> {
    const started = performance.now();
    const rowsOf = await this.inputRows(task.inputs);
    const width = sizeOf(this.model.outputShape);
    const { passes, key, outputs } = checkUncertaintyOptions({ samples: task.passes, seed: task.seed, outputs: task.outputKind }, width);
    const out = uncertaintyViews(task.outputs, task.blocks.rows, width, outputs);
    this.forEachBlock(task.blocks, (from, to) => {
      mcDropoutRows(this.model, rowsOf(from, to), from, passes, key, out);
    });
    return { seconds: (performance.now() - started) / 1000 };
  }

  /** Shares this rank's part of an eval-mode pass with the other ranks: one worker of each rank runs it. */
  rankExchange(task: RankExchangeTask): TimedResult {
    const started = performance.now();
    const { group, maxBytes } = this.rankGroup('rank-exchange');
    exchangeShares(group, task, maxBytes);
    return { seconds: (performance.now() - started) / 1000 };
  }

  /** Sends this rank's record of a call to the other ranks and returns every rank's: one worker of each rank runs it. */
  rankAgree(task: RankAgreeTask): string[] {
    const { group, maxBytes } = this.rankGroup('rank-agree');
    return gatherTexts(group, task.record, maxBytes);
  }

  private rankGroup(task: string): { group: RankGroup; maxBytes: number } {
    if (this.ranks === null || this.setup.ranks === null) throw new Error(`${task}: this trainer is not one of several ranks`);
    return { group: this.ranks, maxBytes: pieceBytes(this.setup.ranks) };
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

  private async dataOf(shared: SharedDataset): Promise<Dataset> {
    if (this.data?.version !== shared.version) this.data = { version: shared.version, dataset: await datasetFromShared(shared) };
    return this.data.dataset;
  }

  /** A buffer of one block's samples for a streamed data set, which is read rather than viewed. */
  private rowsScratch(dataset: Dataset): Float32Array | undefined {
    return dataset.streamed === null ? undefined : new Float32Array(INFERENCE_BLOCK * dataset.sampleSize);
  }

  /** Rows [from, to) of a task's inputs: views of shared rows, or samples of a shared data set read into a buffer. */
  private async inputRows(inputs: SharedArrayBuffer | SharedDataset): Promise<(from: number, to: number) => Float32Array> {
    if (inputs instanceof SharedArrayBuffer) {
      const sampleSize = sizeOf(this.model.inputShape);
      return (from, to) => new Float32Array(inputs, 4 * from * sampleSize, (to - from) * sampleSize);
    }
    const dataset = await this.dataOf(inputs);
    const scratch = this.rowsScratch(dataset);
    return (from, to) => dataset.gatherRows(from, to, scratch);
  }
}
