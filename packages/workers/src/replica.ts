import { threadId } from 'node:worker_threads';
import {
  applyUpdate,
  Batch,
  chunkGradient,
  Dataset,
  defaultLoss,
  dropoutRunKey,
  LockstepError,
  lossByName,
  Model,
  reduceChunkSlots,
  rowIndices,
  sequentialFromSpec,
  checkUncertaintyOptions,
  mcDropoutRows,
  sizeOf,
  sliceTargets,
  uncertaintyViews,
  type Key,
  type Loss,
  type LossName,
} from '@lockstep/core';
import { modelViews, stepViews, type ModelViews, type StepViews } from './layout.js';
import type {
  EvaluateTask,
  GradientTask,
  PredictTask,
  ReplicaForwardResult,
  ReplicaForwardTask,
  StepBuffer,
  TimedResult,
  UncertaintyTask,
  UpdateTask,
  WorkerSetup,
} from './messages.js';
import { datasetFromShared, type SharedDataset } from './shared-data.js';

const BARRIER_TIMEOUT_MS = 10_000;
const UPDATE_BLOCK = 4096;

/**
 * One thread's copy of the model, rebuilt from the spec. Its parameters are views into the shared
 * model buffer, so it never holds a stale copy; only layer scratch space is private.
 */
export class Replica {
  private readonly setup: WorkerSetup;
  private readonly model: Model;
  private readonly shared: ModelViews;
  private readonly dropoutKey: Key;
  private step: { version: number; views: StepViews } | null = null;
  private data: { version: number; dataset: Dataset; batch: Batch } | null = null;

  constructor(setup: WorkerSetup) {
    this.setup = setup;
    this.shared = modelViews(setup.modelBuffer, setup.modelLayout);
    const module = sequentialFromSpec(setup.spec);
    this.model = new Model(module, setup.spec.input, { params: this.shared.params, grads: new Float32Array(setup.modelLayout.paramCount) });
    this.dropoutKey = dropoutRunKey(setup.seed);
  }

  gradient(task: GradientTask): TimedResult {
    const started = performance.now();
    const step = this.stepViewsOf(task.step);
    const { dataset, batch } = this.dataOf(task.data, task.step.layout.batchSize);
    const samples = step.batchSamples.subarray(task.from, task.to);
    batch.gather(samples);
    const rows = task.to - task.from;
    const chunk = {
      inputs: batch.inputs.subarray(0, rows * dataset.sampleSize),
      targets: sliceTargets(batch.targets, 0, rows),
      samples,
    };
    const size = this.model.size;
    const slot = step.gradSlots.subarray(task.chunk * size, (task.chunk + 1) * size);
    this.model.train();
    const result = chunkGradient(this.model, this.lossOf(task.loss, dataset), chunk, task.batchSize, task.optimizerStep, this.dropoutKey, slot);
    step.chunkLoss[task.chunk] = result.sum;
    step.chunkCorrect[task.chunk] = result.correct;
    return { seconds: (performance.now() - started) / 1000 };
  }

  update(task: UpdateTask): TimedResult {
    const started = performance.now();
    const step = this.stepViewsOf(task.step);
    const size = this.model.size;
    const buffers = { params: this.shared.params, grads: step.gradSlots.subarray(0, size), state: this.shared.optimizerState };
    // Block by block, so the summed gradient is still in cache when the update reads it.
    for (let from = task.from; from < task.to; from += UPDATE_BLOCK) {
      const to = Math.min(from + UPDATE_BLOCK, task.to);
      reduceChunkSlots(step.gradSlots, size, task.chunks, from, to);
      applyUpdate(this.setup.optimizer, buffers, task.t, task.lr, from, to);
    }
    return { seconds: (performance.now() - started) / 1000 };
  }

  evaluate(task: EvaluateTask): TimedResult {
    const started = performance.now();
    const { dataset } = this.dataOf(task.data, 1);
    const loss = this.lossOf(task.loss, dataset);
    const slice = dataset.slice(task.from, task.to);
    const output = this.forward(slice.inputs, false, 0, rowIndices(task.to - task.from, task.from));
    const result = loss.evaluate(output, slice.targets, task.to - task.from, null);
    const results = new Float64Array(task.results);
    results[2 * task.block] = result.sum;
    results[2 * task.block + 1] = result.correct;
    return { seconds: (performance.now() - started) / 1000 };
  }

  predict(task: PredictTask): TimedResult {
    const started = performance.now();
    const sampleSize = sizeOf(this.model.inputShape);
    const width = sizeOf(this.model.outputShape);
    const inputs = new Float32Array(task.inputs, 4 * task.from * sampleSize, (task.to - task.from) * sampleSize);
    const output = this.forward(inputs, false, 0, rowIndices(task.to - task.from, task.from));
    new Float32Array(task.outputs, 4 * task.from * width, output.data.length).set(output.data);
    return { seconds: (performance.now() - started) / 1000 };
  }

  uncertainty(task: UncertaintyTask): TimedResult {
    const started = performance.now();
    const sampleSize = sizeOf(this.model.inputShape);
    const out = uncertaintyViews(task.outputs, task.rows, sizeOf(this.model.outputShape));
    const inputs = new Float32Array(task.inputs, 4 * task.from * sampleSize, (task.to - task.from) * sampleSize);
    const { passes, key } = checkUncertaintyOptions({ samples: task.passes, seed: task.seed });
    mcDropoutRows(this.model, inputs, task.from, passes, key, out);
    return { seconds: (performance.now() - started) / 1000 };
  }

  replicaForward(task: ReplicaForwardTask): ReplicaForwardResult {
    const arrived = new Int32Array(task.barrier);
    Atomics.add(arrived, 0, 1);
    Atomics.notify(arrived, 0);
    const deadline = Date.now() + BARRIER_TIMEOUT_MS;
    for (let seen = Atomics.load(arrived, 0); seen < task.replicas; seen = Atomics.load(arrived, 0)) {
      if (Date.now() > deadline) {
        throw new LockstepError('E_WORKER', `only ${seen} of ${task.replicas} replicas started within ${BARRIER_TIMEOUT_MS} ms`);
      }
      Atomics.wait(arrived, 0, seen, 100);
    }
    const output = this.forward(task.inputs, task.training, task.optimizerStep, task.samples);
    return { threadId, output: output.data.slice() };
  }

  private forward(inputs: Float32Array, training: boolean, step: number, samples: ArrayLike<number>) {
    this.model.train(training);
    return this.model.forward(this.model.inputTensor(inputs), { key: this.dropoutKey, step, samples });
  }

  private lossOf(name: LossName | undefined, dataset: Dataset): Loss {
    return name === undefined ? defaultLoss(dataset.targets) : lossByName(name);
  }

  private stepViewsOf(step: StepBuffer): StepViews {
    if (this.step?.version !== step.version) this.step = { version: step.version, views: stepViews(step.buffer, step.layout) };
    return this.step.views;
  }

  private dataOf(shared: SharedDataset, batchCapacity: number): { dataset: Dataset; batch: Batch } {
    if (this.data?.version !== shared.version || this.data.batch.inputs.length < batchCapacity * this.data.dataset.sampleSize) {
      const dataset = datasetFromShared(shared);
      this.data = { version: shared.version, dataset, batch: new Batch(dataset, batchCapacity) };
    }
    return this.data;
  }
}
