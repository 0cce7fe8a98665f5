import { threadId } from 'node:worker_threads';
import {
  applyMaxNorm,
  Batch,
  chunkGradient,
  Dataset,
  defaultLoss,
  dropoutRunKey,
  lossByName,
  maxNormPlan,
  Model,
  clipFactor,
  firstNonFinite,
  gradientNorm,
  UpdateKernel,
  useKernel,
  useKernelMemory,
  addKernelBuffer,
  type UpdateAddresses,
  rowIndices,
  sequentialFromSpec,
  checkUncertaintyOptions,
  mcDropoutRows,
  sizeOf,
  sliceTargets,
  uncertaintyViews,
  withParametersFixed,
  type Key,
  type Loss,
  type LossName,
  type MaxNormPlan,
} from '@lockstep/core';
import { modelViews, sharedBuffer, stepViews, updateAddresses, type ModelViews, type StepViews } from './layout.js';
import type {
  EvaluateTask,
  PredictTask,
  ReplicaForwardResult,
  ReplicaForwardTask,
  StepBuffer,
  StepLoopTask,
  StepOrder,
  StepReport,
  TimedResult,
  UncertaintyTask,
  WorkerSetup,
} from './messages.js';
import { arriveAndWait } from './barrier.js';
import { nextOrder, oneMoreOrder, reportStep } from './doorbell.js';
import { forEachClaimedBlock, type BlockClaims } from './block-claims.js';
import { datasetFromShared, type SharedDataset } from './shared-data.js';

/**
 * One thread's copy of the model, rebuilt from the spec. Its parameters are views into the shared
 * model buffer, so it never holds a stale copy; only layer scratch space is private.
 */
export class Replica {
  private readonly setup: WorkerSetup;
  private readonly model: Model;
  private readonly shared: ModelViews;
  private readonly dropoutKey: Key;
  private readonly kernel: UpdateKernel;
  private readonly constraints: MaxNormPlan;
  private stepBuffer: { version: number; views: StepViews; at: UpdateAddresses } | null = null;
  private data: { version: number; dataset: Dataset; batch: Batch } | null = null;

  constructor(setup: WorkerSetup) {
    this.setup = setup;
    const buffer = sharedBuffer(setup.memory);
    this.shared = modelViews(buffer, setup.modelLayout);
    this.kernel = new UpdateKernel(setup.memory);
    useKernel(setup.kernel);
    useKernelMemory(setup.memory, [buffer]);
    const module = sequentialFromSpec(setup.spec);
    this.model = new Model(module, setup.spec.input, { params: this.shared.params, grads: new Float32Array(setup.modelLayout.paramCount) });
    this.dropoutKey = dropoutRunKey(setup.seed);
    this.constraints = maxNormPlan(this.model.entries);
  }

  /** Runs the step orders rung at the step buffer's doorbell until one says stop. */
  stepLoop(task: StepLoopTask): TimedResult {
    const started = performance.now();
    const { views: step, at } = this.stepOf(task.step);
    for (let seen = task.since; ; seen = oneMoreOrder(seen)) {
      const order = nextOrder(step, seen);
      if (order.stop) return { seconds: (performance.now() - started) / 1000 };
      reportStep(step, task.party, task.parties, this.step(task, order, step, at));
    }
  }

  private step(task: StepLoopTask, order: StepOrder, step: StepViews, at: UpdateAddresses): StepReport {
    let started = performance.now();
    for (let chunk = task.party; chunk < order.chunks; chunk += task.parties) this.gradientOfChunk(task, order, step, chunk);
    const gradientSeconds = (performance.now() - started) / 1000;
    if (task.parties > 1) arriveAndWait(step.barrier, task.parties, 1);
    const skipped = { gradientSeconds, updateSeconds: 0, maxNormSeconds: 0, nonFinite: -1, value: 0 };
    // A bad loss stops every worker before any update; the coordinator names the layer.
    if (firstNonFinite(step.chunkLoss.subarray(0, order.chunks)) >= 0) return skipped;
    started = performance.now();
    this.kernel.reduceAndMeasure(at, order.chunks, task.from, task.to, step.blockSquares);
    let updateSeconds = (performance.now() - started) / 1000;
    if (task.parties > 1) arriveAndWait(step.barrier, task.parties, 2);
    started = performance.now();
    const norm = gradientNorm(step.blockSquares);
    if (!Number.isFinite(norm)) {
      const nonFinite = firstNonFinite(step.gradSlots, task.from, task.to);
      return { ...skipped, updateSeconds, nonFinite, value: nonFinite < 0 ? 0 : step.gradSlots[nonFinite]! };
    }
    this.kernel.update(this.setup.optimizer, at, order.t, order.lr, clipFactor(norm, this.setup.optimizer.clipNorm), task.from, task.to);
    updateSeconds += (performance.now() - started) / 1000;
    if (this.constraints.rows === 0) return { ...skipped, updateSeconds };
    // Constrained rows cut across parameter ranges: every range must be updated first.
    if (task.parties > 1) arriveAndWait(step.barrier, task.parties, 3);
    started = performance.now();
    applyMaxNorm(this.shared.params, this.constraints, task.maxNormFrom, task.maxNormTo);
    return { ...skipped, updateSeconds, maxNormSeconds: (performance.now() - started) / 1000 };
  }

  /** Chunk `chunk`'s gradient into its slot, its loss sum and correct count into the step buffer. */
  private gradientOfChunk(task: StepLoopTask, order: StepOrder, step: StepViews, chunk: number): void {
    const { dataset, batch } = this.dataOf(task.data, task.step.layout.batchSize);
    const from = chunk * task.chunkSize;
    const to = Math.min(from + task.chunkSize, order.batchSize);
    const samples = step.batchSamples.subarray(from, to);
    batch.gather(samples);
    const rows = to - from;
    const inputs = {
      inputs: batch.inputs.subarray(0, rows * dataset.sampleSize),
      targets: sliceTargets(batch.targets, 0, rows),
      samples,
    };
    const size = this.model.size;
    const slot = step.gradSlots.subarray(chunk * size, (chunk + 1) * size);
    this.model.train();
    this.kernel.zero(slot);
    const result = chunkGradient(this.model, this.lossOf(task.loss, dataset), inputs, order.batchSize, order.optimizerStep, this.dropoutKey, slot, { slotIsZero: true });
    step.chunkLoss[chunk] = result.sum;
    step.chunkCorrect[chunk] = result.correct;
  }

  evaluate(task: EvaluateTask): TimedResult {
    const started = performance.now();
    const { dataset } = this.dataOf(task.data, 1);
    const loss = this.lossOf(task.loss, dataset);
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

  private lossOf(name: LossName | undefined, dataset: Dataset): Loss {
    return name === undefined ? defaultLoss(dataset.targets) : lossByName(name);
  }

  /** Views and kernel addresses of a step buffer, made once per buffer rather than per task. */
  private stepOf(step: StepBuffer): { views: StepViews; at: UpdateAddresses } {
    if (this.stepBuffer?.version !== step.version) {
      addKernelBuffer(step.buffer);
      this.stepBuffer = { version: step.version, views: stepViews(step.buffer, step.layout), at: updateAddresses(this.setup.modelLayout, step.layout) };
    }
    return this.stepBuffer;
  }

  private dataOf(shared: SharedDataset, batchCapacity: number): { dataset: Dataset; batch: Batch } {
    if (this.data?.version !== shared.version || this.data.batch.inputs.length < batchCapacity * this.data.dataset.sampleSize) {
      const dataset = datasetFromShared(shared);
      this.data = { version: shared.version, dataset, batch: new Batch(dataset, batchCapacity) };
    }
    return this.data;
  }
}
