import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  activeKernel,
  Batch,
  checkChoice,
  KERNEL_CHOICES,
  useKernel,
  type KernelChoice,
  checkBatching,
  checkDataFits,
  checkUncertaintyOptions,
  checkInteger,
  epochBatches,
  epochMetrics,
  epochOrder,
  learningRateAt,
  LockstepError,
  lossByName,
  defaultLoss,
  dropoutRunKey,
  appendRegion,
  firstNonFinite,
  kernelMemory,
  maxNormPlan,
  maxNormRanges,
  Model,
  nonFiniteGradientError,
  nonFiniteLossError,
  reduceChunkScalars,
  sequentialFromSpec,
  sizeOf,
  specOf,
  stateSlots,
  uncertaintyBytes,
  uncertaintyViews,
  type Dataset,
  type EpochMetrics,
  type Evaluation,
  type LossName,
  type ModelSpec,
  type OptimizerConfig,
  type TrainingState,
  type Uncertainty,
  type UncertaintyOptions,
} from '@lockstep/core';
import {
  modelLayout,
  modelViews,
  parameterRanges,
  sharedBuffer,
  stepLayout,
  stepViews,
  type ModelViews,
  type StepViews,
} from './layout.js';
import type { ReplicaForwardResult, StepBuffer, Task, TaskResults, WorkerSetup } from './messages.js';
import { StepLoop } from './step-loop.js';
import { blockClaims, blockCount, type BlockClaims } from './block-claims.js';
import { shareDataset, type SharedDataset } from './shared-data.js';

export interface TrainerOptions {
  /**
   * The model, as a spec or built once by the caller (a built model is adopted: its parameters move
   * into shared memory and are initialized from `seed`). Every worker rebuilds its replica from the spec.
   */
  model: ModelSpec | Model;
  /** Keys weight init, shuffling and every dropout mask. */
  seed: number;
  optimizer: OptimizerConfig;
  /** Rows per gradient chunk; fixed by the config, never by the worker count (default 32). */
  chunkSize?: number;
  /** Worker threads (default: os.availableParallelism()). Any count gives the same bits. */
  workers?: number;
  /** The matrix-product kernel of every worker (default: the constructing thread's, see `useKernel`). */
  kernel?: KernelChoice;
  /**
   * Module URLs every worker imports before building its replica, for example ones that call
   * `registerLayer`. Import them in the main thread too: the trainer builds the model there as well.
   */
  setup?: string[];
  /**
   * Limits of each worker thread, for example `{ maxOldGenerationSizeMb: 512 }`: a worker over its heap
   * limit then fails the current call with E_WORKER instead of taking the whole process down.
   */
  resourceLimits?: ResourceLimits;
}

export interface TrainerFitOptions {
  epochs: number;
  batchSize: number;
  /** Default: cross-entropy for class labels, mse for value targets. */
  loss?: LossName;
  /** A new keyed order of samples each epoch (default true). */
  shuffle?: boolean;
  validation?: Dataset;
  onEpoch?: (metrics: EpochMetrics) => void;
  /** After every optimizer step; `state` is then a position a checkpoint can resume from. */
  onStep?: (progress: StepProgress) => void;
  /** When aborted, fit stops after the current optimizer step. */
  signal?: AbortSignal;
}

export interface StepProgress {
  /** 1-based epoch in progress. */
  readonly epoch: number;
  /** Batches of this epoch done, of `batches`. */
  readonly batch: number;
  readonly batches: number;
  /** Mean training loss of this epoch's batches so far. */
  readonly loss: number;
  /** Samples trained in this epoch by this call so far, and the seconds it took. */
  readonly samples: number;
  readonly seconds: number;
}

export interface TrainerState extends TrainingState {
  /** Batches of the current epoch already taken (0 at an epoch boundary). */
  batch: number;
  /** Loss and correct-count sums of those batches, so a resumed epoch reports the same metrics. */
  epochLossSum: number;
  epochCorrect: number;
}

/** Where the time of the last `fit` went, for benchmarks. */
export interface FitTimings {
  readonly steps: number;
  /** Wall time of all optimizer steps, coordination included. */
  readonly stepSeconds: number;
  /** Time spent computing chunk gradients, summed over workers. */
  readonly gradientSeconds: number;
  /**
   * Each step's slowest gradient computation, summed over steps. Above `gradientSeconds / workers`
   * by the time the other workers waited for the slowest at the step barrier.
   */
  readonly slowestGradientSeconds: number;
  /** Time spent reducing and updating, summed over workers. */
  readonly updateSeconds: number;
  /** Time spent applying max-norm constraints, summed over workers (0 without `maxNorm` layers). */
  readonly maxNormSeconds: number;
}

const EVAL_BLOCK = 256;
/** The 32-bit address space of a WebAssembly memory. */
const MEMORY_LIMIT = 2 ** 32;

function workerFile(): string {
  // Loaded from TypeScript source (in a test run, see vitest.config.ts), the compiled worker is in dist/.
  const sibling = import.meta.url.endsWith('.ts') ? '../dist/worker.js' : './worker.js';
  return fileURLToPath(new URL(sibling, import.meta.url));
}

/**
 * Data-parallel training on worker threads, bit-identical to core's reference `fit` at any worker
 * count. Each worker runs a step loop for the whole epoch and does its share of a step when the
 * coordinator rings for it (step-loop.ts): the batch is cut into chunks of `chunkSize`, worker w
 * computes chunks w, w + workers, ..., chunk c's gradient into slot c; the workers meet at a barrier;
 * then every worker sums the slots over its own parameter range in the pairwise tree order of
 * `UpdateKernel.sumSlots`, measures it in norm blocks, meets the others at a barrier so that all see
 * the same global norm (non-finite: nobody updates; clipping: the same factor everywhere), and applies
 * the optimizer to that range. With `maxNorm` layers they meet once more, every range updated, and
 * each worker constrains whole weight rows (parameter ranges cut through rows). No sum depends on
 * which thread computed what or when.
 */
export class Trainer {
  readonly workers: number;
  readonly chunkSize: number;
  readonly seed: number;
  readonly optimizer: OptimizerConfig;
  readonly kernel: KernelChoice;
  /** Optimizer steps, epochs and batches of the current epoch completed so far. */
  readonly state: TrainerState;
  lastFitTimings: FitTimings | null = null;
  /** The coordinator's copy of the model; its parameters are the shared ones. */
  readonly model: Model;
  private readonly shared: ModelViews;
  private readonly memory: WebAssembly.Memory;
  private readonly pool: Piscina;
  private mode: 'train' | 'eval' = 'eval';
  private closed = false;
  private step: { buffer: StepBuffer; views: StepViews } | null = null;
  private readonly sharedData = new WeakMap<Dataset, SharedDataset>();
  private versions = 0;

  constructor(options: TrainerOptions) {
    this.workers = checkInteger('workers', options.workers ?? availableParallelism(), 1, 1024);
    this.chunkSize = checkInteger('chunkSize', options.chunkSize ?? 32, 1);
    this.seed = checkInteger('seed', options.seed, 0);
    this.optimizer = options.optimizer;
    this.kernel = checkChoice('kernel', options.kernel ?? activeKernel(), KERNEL_CHOICES);
    const spec = options.model instanceof Model ? specOf(options.model) : options.model;
    this.model = options.model instanceof Model ? options.model : new Model(sequentialFromSpec(spec), spec.input);
    const layout = modelLayout(this.model.size, stateSlots(this.optimizer));
    this.memory = kernelMemory(layout.bytes, 'the parameters and optimizer state', MEMORY_LIMIT);
    this.shared = modelViews(sharedBuffer(this.memory), layout);
    this.model.bind(this.shared.params, this.model.grads);
    this.model.initialize(this.seed);
    this.state = { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0, optimizerState: this.shared.optimizerState };
    const setup: WorkerSetup = {
      spec,
      seed: this.seed,
      optimizer: this.optimizer,
      memory: this.memory,
      kernel: this.kernel,
      modelLayout: layout,
      setupModules: options.setup ?? [],
    };
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: Infinity,
      workerData: setup,
      resourceLimits: options.resourceLimits,
    });
  }

  /** The parameters, in shared memory: a view, not a copy. */
  get params(): Float32Array {
    return this.shared.params;
  }

  get training(): boolean {
    return this.mode === 'train';
  }

  /** Puts every replica in training mode for `forwardOnEveryReplica`; the mode travels with each task. */
  train(mode = true): this {
    this.mode = mode ? 'train' : 'eval';
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Trains `epochs` more epochs (finishing a partly done epoch counts as one). With `signal`, an abort
   * stops after the current step with `stopped: true`, and `state` records the position in the epoch.
   * A Dataset is copied into shared memory on first use; do not change its arrays afterwards.
   */
  async fit(data: Dataset, options: TrainerFitOptions): Promise<{ history: EpochMetrics[]; state: TrainerState; stopped: boolean }> {
    this.checkOpen();
    const epochs = checkInteger('epochs', options.epochs, 1);
    const { batchSize, chunkSize } = checkBatching(options.batchSize, this.chunkSize);
    checkDataFits(this.model, data);
    if (options.validation !== undefined) checkDataFits(this.model, options.validation, 'validation data');
    const lossName = options.loss ?? defaultLoss(data.targets).name;
    const loss = lossByName(lossName);
    const shared = this.share(data);
    // A batch never holds more samples than the data set, so neither does the step buffer.
    const step = this.stepBufferFor(Math.min(batchSize, data.size));
    const ranges = parameterRanges(this.model.size, this.workers);
    const constraintRanges = maxNormRanges(maxNormPlan(this.model.entries), this.workers);
    const timings = { steps: 0, stepSeconds: 0, gradientSeconds: 0, slowestGradientSeconds: 0, updateSeconds: 0, maxNormSeconds: 0 };
    const history: EpochMetrics[] = [];
    const state = this.state;

    for (let e = 0; e < epochs; e++) {
      const started = performance.now();
      const plans = epochBatches(epochOrder(this.seed, state.epoch, data.size, options.shuffle ?? true), batchSize, chunkSize);
      if (state.batch > plans.length) {
        throw new LockstepError('E_OPTION', `fit: the saved position (batch ${state.batch}) is past this epoch's ${plans.length} batches; resume with the batch size of the original run`);
      }
      let trainedSamples = 0;
      // Every worker takes part, with an empty parameter range where the model has fewer norm blocks than workers.
      const loop = new StepLoop(
        this.pool,
        step.views,
        Array.from({ length: this.workers }, (_, party) => {
          const [from, to] = ranges[party] ?? [0, 0];
          const [maxNormFrom, maxNormTo] = constraintRanges[party] ?? [0, 0];
          return { kind: 'step-loop', step: step.buffer, data: shared, loss: lossName, chunkSize, party, parties: this.workers, from, to, maxNormFrom, maxNormTo } as const;
        }),
      );
      let where = 'fit failed';
      try {
        while (state.batch < plans.length) {
          if (options.signal?.aborted) {
            this.lastFitTimings = timings;
            return { history, state, stopped: true };
          }
          const plan = plans[state.batch];
          const stepStarted = performance.now();
          where = `fit failed at step ${state.step} (epoch ${state.epoch + 1}, batch ${state.batch + 1} of ${plans.length})`;
          step.views.batchSamples.set(plan.samples);
          const lr = learningRateAt(this.optimizer.lr, this.optimizer.schedule, state.step);
          const order = { stop: false, optimizerStep: state.step, batchSize: plan.samples.length, chunks: plan.chunks, t: state.step + 1, lr };
          const reports = await loop.run(order).catch(async (error: unknown) => {
            throw await this.failed(where, error);
          });
          const badChunk = firstNonFinite(step.views.chunkLoss.subarray(0, plan.chunks));
          if (badChunk >= 0) throw this.lossError(data, plan.samples, badChunk, step.views.chunkLoss[badChunk], where);
          const bad = reports.find((report) => report.nonFinite >= 0);
          if (bad !== undefined) throw nonFiniteGradientError(this.model, bad.nonFinite, bad.value, where);
          state.step++;
          state.batch++;
          state.epochLossSum += reduceChunkScalars(step.views.chunkLoss, plan.chunks);
          state.epochCorrect += reduceChunkScalars(step.views.chunkCorrect, plan.chunks);
          trainedSamples += plan.samples.length;
          options.onStep?.({
            epoch: state.epoch + 1,
            batch: state.batch,
            batches: plans.length,
            loss: state.epochLossSum / Math.min(data.size, state.batch * batchSize),
            samples: trainedSamples,
            seconds: (performance.now() - started) / 1000,
          });
          timings.steps++;
          timings.stepSeconds += (performance.now() - stepStarted) / 1000;
          let slowest = 0;
          for (const report of reports) {
            slowest = Math.max(slowest, report.gradientSeconds);
            timings.gradientSeconds += report.gradientSeconds;
            timings.updateSeconds += report.updateSeconds;
            timings.maxNormSeconds += report.maxNormSeconds;
          }
          timings.slowestGradientSeconds += slowest;
        }
      } finally {
        await loop.stop().catch(async (error: unknown) => {
          throw await this.failed(where, error);
        });
      }
      const totals = { lossSum: state.epochLossSum, correct: state.epochCorrect };
      state.epoch++;
      state.batch = 0;
      state.epochLossSum = 0;
      state.epochCorrect = 0;
      const trainSeconds = (performance.now() - started) / 1000;
      const validation = options.validation === undefined ? null : await this.evaluate(options.validation, { loss: lossName });
      const metrics = epochMetrics({
        epoch: state.epoch,
        lossSum: totals.lossSum,
        correct: loss.reportsAccuracy ? totals.correct : null,
        samples: data.size,
        trainedSamples,
        steps: plans.length,
        trainSeconds,
        validation,
        seconds: (performance.now() - started) / 1000,
      });
      history.push(metrics);
      options.onEpoch?.(metrics);
    }
    this.lastFitTimings = timings;
    return { history, state, stopped: false };
  }

  /** Continues from saved parameters, optimizer state and position (a checkpoint). */
  load(saved: { params: Float32Array; optimizerState: Float32Array; state: Omit<TrainerState, 'optimizerState'> }): void {
    this.checkOpen();
    for (const [name, array, target] of [
      ['params', saved.params, this.shared.params],
      ['optimizerState', saved.optimizerState, this.shared.optimizerState],
    ] as const) {
      if (array.length !== target.length) {
        throw new LockstepError('E_SHAPE', `load: ${name} has ${array.length} values, this model and optimizer need ${target.length}`);
      }
      target.set(array);
    }
    const { step, epoch, batch, epochLossSum, epochCorrect } = saved.state;
    Object.assign(this.state, { step, epoch, batch, epochLossSum, epochCorrect });
  }

  /** Mean loss and accuracy in eval mode, in blocks of 256 samples claimed by the workers. */
  async evaluate(data: Dataset, options: { loss?: LossName } = {}): Promise<Evaluation> {
    this.checkOpen();
    checkDataFits(this.model, data);
    const lossName = options.loss ?? defaultLoss(data.targets).name;
    const shared = this.share(data);
    const blocks = blockClaims(data.size, EVAL_BLOCK);
    const results = new SharedArrayBuffer(16 * blockCount(blocks));
    await this.onEveryWorker({ kind: 'evaluate', data: shared, loss: lossName, blocks, results }, 'evaluate failed');
    const sums = new Float64Array(results);
    let lossSum = 0;
    let correct = 0;
    for (let block = 0; block < blockCount(blocks); block++) {
      lossSum += sums[2 * block];
      correct += sums[2 * block + 1];
    }
    return { loss: lossSum / data.size, accuracy: lossByName(lossName).reportsAccuracy ? correct / data.size : null };
  }

  /** The model's eval-mode outputs (logits for a classifier) for every sample of `inputs`. */
  async predict(inputs: Float32Array): Promise<Float32Array> {
    this.checkOpen();
    const rows = this.model.inputTensor(inputs).shape[0];
    const width = sizeOf(this.model.outputShape);
    const sharedInputs = new SharedArrayBuffer(inputs.byteLength);
    new Float32Array(sharedInputs).set(inputs);
    const outputs = new SharedArrayBuffer(4 * rows * width);
    await this.onEveryWorker({ kind: 'predict', inputs: sharedInputs, outputs, blocks: blockClaims(rows, EVAL_BLOCK) }, 'predict failed');
    return new Float32Array(outputs);
  }

  /**
   * Monte Carlo dropout (Gal and Ghahramani 2016): `samples` forward passes with dropout layers on
   * (and only those), each with masks keyed by (seed, pass, row). Per row: mean class probabilities,
   * their standard deviation over the passes, the predictive entropy and the mutual information
   * (BALD). Bit-identical at any worker count and to core's `predictWithUncertainty`.
   */
  async predictWithUncertainty(inputs: Float32Array, options: UncertaintyOptions): Promise<Uncertainty> {
    this.checkOpen();
    const { passes } = checkUncertaintyOptions(options);
    const rows = this.model.inputTensor(inputs).shape[0];
    const classes = sizeOf(this.model.outputShape);
    const sharedInputs = new SharedArrayBuffer(inputs.byteLength);
    new Float32Array(sharedInputs).set(inputs);
    const outputs = new SharedArrayBuffer(uncertaintyBytes(rows, classes));
    const blocks = blockClaims(rows, EVAL_BLOCK);
    await this.onEveryWorker({ kind: 'uncertainty', inputs: sharedInputs, outputs, blocks, passes, seed: options.seed }, 'predict with uncertainty failed');
    return uncertaintyViews(outputs, rows, classes);
  }

  /**
   * Runs the same forward pass on every replica at once, in the trainer's current mode, and returns
   * each thread's output: in eval mode they are identical; in training mode dropout is on, with the
   * masks of (seed, step, samples), so they are identical to each other too.
   */
  async forwardOnEveryReplica(inputs: Float32Array, context: { step?: number; samples?: number[] } = {}): Promise<ReplicaForwardResult[]> {
    this.checkOpen();
    const rows = this.model.inputTensor(inputs).shape[0];
    const barrier = new SharedArrayBuffer(8);
    const task: Task = {
      kind: 'replica-forward',
      inputs,
      training: this.training,
      optimizerStep: context.step ?? this.state.step,
      samples: context.samples ?? Array.from({ length: rows }, (_, i) => i),
      barrier,
      replicas: this.workers,
    };
    return this.round<ReplicaForwardResult>(Array.from({ length: this.workers }, () => task), 'forward on every replica failed');
  }

  /** Stops the worker threads. The trainer cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs tasks in parallel and waits for every one to settle, so nothing is left running. If any
   * failed, the pool is closed and one error names where and the first failure's cause (the others
   * may only be workers that stopped waiting for the failed one).
   */
  private async round<R extends TaskResults[Task['kind']]>(tasks: Task[], where: string): Promise<R[]> {
    const failures: unknown[] = [];
    const settled = await Promise.allSettled(
      tasks.map((task) =>
        (this.pool.run(task) as Promise<R>).catch((error: unknown) => {
          failures.push(error);
          throw error;
        }),
      ),
    );
    if (failures.length > 0) throw await this.failed(where, failures[0]);
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  /** One task per worker (at most one per block) that claims blocks until none is left. */
  private async onEveryWorker(task: Extract<Task, { blocks: BlockClaims }>, where: string): Promise<void> {
    await this.round(Array.from({ length: Math.min(this.workers, blockCount(task.blocks)) }, () => task), where);
  }

  /** Closes the pool after a worker failed and says where, with the failure's first line. */
  private async failed(where: string, reason: unknown): Promise<LockstepError> {
    await this.close();
    const cause = reason instanceof Error ? reason.message : String(reason);
    return new LockstepError('E_WORKER', `${where}: a worker failed: ${cause.split('\n')[0]}; the worker pool is closed`);
  }

  /** Replays the chunk whose loss went bad on this thread's model to name where it happened. */
  private lossError(data: Dataset, batchSamples: Uint32Array, chunk: number, value: number, where: string): LockstepError {
    const samples = batchSamples.subarray(chunk * this.chunkSize, Math.min((chunk + 1) * this.chunkSize, batchSamples.length));
    const batch = new Batch(data, samples.length);
    batch.gather(samples);
    this.model.train();
    const context = { key: dropoutRunKey(this.seed), step: this.state.step, samples };
    const previousKernel = activeKernel();
    useKernel(this.kernel);
    try {
      return nonFiniteLossError(this.model, this.model.inputTensor(batch.inputs), context, value, where);
    } finally {
      useKernel(previousKernel);
    }
  }

  private share(data: Dataset): SharedDataset {
    let shared = this.sharedData.get(data);
    if (shared === undefined) {
      shared = shareDataset(data, ++this.versions);
      this.sharedData.set(data, shared);
    }
    return shared;
  }

  private stepBufferFor(batchSize: number): { buffer: StepBuffer; views: StepViews } {
    if (this.step === null || this.step.buffer.layout.batchSize < batchSize) {
      // A new region at the end of the memory: workers append their kernel scratch regions there too.
      const size = stepLayout(this.model.size, batchSize, this.chunkSize, this.workers, 0).bytes;
      const layout = stepLayout(this.model.size, batchSize, this.chunkSize, this.workers, appendRegion(this.memory, size, 'the chunk gradients and step buffers'));
      const buffer = sharedBuffer(this.memory);
      this.step = { buffer: { version: ++this.versions, buffer, layout }, views: stepViews(buffer, layout) };
    }
    return this.step;
  }

  private checkOpen(): void {
    if (this.closed) throw new LockstepError('E_CLOSED', 'this Trainer is closed; create a new Trainer');
  }
}
