import { availableParallelism } from 'node:os';
import {
  activeKernel,
  asStateDict,
  checkChoice,
  checkDataFits,
  checkPassRows,
  checkFit,
  checkFitOptions,
  checkInferenceInputs,
  checkKnownFields,
  checkLossFits,
  checkOptimizer,
  checkStateDict,
  checkStateValues,
  checkTrainingState,
  checkInteger,
  checkUncertaintyOptions,
  defaultLoss,
  describeValue,
  fromAnotherCopy,
  epochLoop,
  EPOCH_OPTION_FIELDS,
  kernelMemory,
  KERNEL_CHOICES,
  LockstepError,
  lossByName,
  Model,
  negativeRunningVariance,
  sequentialFromSpec,
  sizeOf,
  specOf,
  stateSlots,
  type Dataset,
  type Evaluation,
  type FitPlan,
  type FitResult,
  type FitTimings,
  type KernelChoice,
  type LossName,
  type OptimizerConfig,
  type StateDict,
  type StateTensor,
  type TrainingState,
  type Uncertainty,
  type UncertaintyOptions,
  type UncertaintyOutputs,
  type WasmMemory,
} from '@lockstep/core';
import { INFERENCE_BLOCK } from './block-claims.js';
import { evaluateOnWorkers, predictOnWorkers, sharedRows, uncertaintyOnWorkers, type InferenceInputs } from './inference.js';
import { appendStepBuffer, modelLayout, modelViews, sharedBuffer, type ModelViews, type StepViews } from './layout.js';
import { MEMORY_LIMIT, modelTooLarge, stepFits, stepSizesOf, type StepSizes } from './memory-limit.js';
import type { ReplicaForwardResult, StepBuffer, StepLoopTask, WorkerSetup } from './messages.js';
import { WorkerPool } from './pool.js';
import { nativeKernelsByDefault } from './native-kernels.js';
import type { RankPlace } from './rank-share.js';
import { comparing, disagreement, evaluateRecord, fitRecord, predictRecord, refusalRecord, uncertaintyRecord, type CollectiveCall } from './rank-agreement.js';
import { checkRankGroupSpec } from './rank-groups.js';
import { checkResourceLimits, checkSetupModules, TRAINER_FIELDS, type TrainerFitOptions, type TrainerOptions } from './trainer-options.js';
import { shareDataset, type SharedDataset } from './shared-data.js';
import { PausableStepLoop, StepLoop } from './step-loop.js';

/** What the Trainer's messages about too few rows in a pass ask to change: its blocks are fixed, the rows are not. */
const ROW_COUNT_CHANGE = 'pass a number of rows';

/**
 * Data-parallel training on worker threads, bit-identical to core's reference `fit` at any worker
 * count: each worker replica is a party of core's step engine, meeting the others at the step
 * buffer's barrier, in the epoch loop core's `fit` runs too (docs/design.md). The trainer owns what
 * is its own: the pool, the shared memory, the doorbell that starts each step, and the translation
 * of worker failures.
 */
export class Trainer {
  readonly workers: number;
  readonly chunkSize: number;
  readonly seed: number;
  readonly optimizer: OptimizerConfig;
  readonly kernel: KernelChoice;
  /** Ranks of the run this trainer is one of (1 alone). */
  readonly ranks: number;
  private readonly place: RankPlace;
  /** The coordinator's copy of the model; its parameters are the shared ones. */
  readonly model: Model;
  /** Optimizer steps, epochs and batches of the current epoch completed so far. */
  readonly state: TrainingState;
  lastFitTimings: FitTimings | null = null;
  private readonly shared: ModelViews;
  private readonly memory: WasmMemory;
  private readonly stepSizes: StepSizes;
  private readonly pool: WorkerPool;
  private mode: 'train' | 'eval' = 'eval';
  private step: { buffer: StepBuffer; views: StepViews } | null = null;
  private readonly sharedData = new WeakMap<Dataset, SharedDataset>();
  private versions = 0;
  /** The call that has the workers and the shared memory now, or null: two at once would mix their tasks. */
  private running: string | null = null;

  constructor(options: TrainerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new LockstepError('E_OPTION', `new Trainer: options must be an object with at least model, seed and optimizer, got ${describeValue(options)}`);
    }
    checkKnownFields('new Trainer options', options, TRAINER_FIELDS);
    this.workers = checkInteger('workers', options.workers ?? availableParallelism(), 1, 1024);
    this.chunkSize = checkInteger('chunkSize', options.chunkSize ?? 32, 1);
    this.seed = checkInteger('seed', options.seed, 0);
    this.optimizer = checkOptimizer(options.optimizer);
    this.kernel = checkChoice('kernel', options.kernel ?? activeKernel(), KERNEL_CHOICES);
    const ranks = options.ranks === undefined ? undefined : checkRankGroupSpec(options.ranks);
    const setupModules = checkSetupModules(options.setup);
    const resourceLimits = checkResourceLimits(options.resourceLimits);
    this.ranks = ranks?.size ?? 1;
    this.place = { rank: ranks?.rank ?? 0, size: this.ranks };
    const foreign = fromAnotherCopy(options.model, Model);
    if (foreign !== null) throw new LockstepError('E_OPTION', `new Trainer: model must be a Model or a model spec, ${foreign}`);
    const spec = options.model instanceof Model ? specOf(options.model) : options.model;
    this.model = options.model instanceof Model ? options.model : new Model(sequentialFromSpec(spec), spec.input);
    this.stepSizes = stepSizesOf(this.model, this);
    const layout = modelLayout(this.model.size, stateSlots(this.optimizer), this.model.buffers.length);
    this.memory = kernelMemory(layout.bytes, 'the parameters and optimizer state', MEMORY_LIMIT);
    this.shared = modelViews(sharedBuffer(this.memory), layout);
    // A model whose parameters were set keeps them (and its buffers), as a module wrapped in PyTorch's DDP does.
    const keepsValues = this.model.initialized;
    this.shared.params.set(this.model.params);
    this.shared.buffers.set(this.model.buffers);
    this.model.bind(this.shared.params, this.model.grads);
    this.model.bindBuffers(this.shared.buffers);
    if (!keepsValues) this.model.initialize(this.seed);
    this.state = { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0, optimizerState: this.shared.optimizerState };
    const setup: WorkerSetup = { spec, seed: this.seed, optimizer: this.optimizer, memory: this.memory, kernel: this.kernel, nativeKernels: options.nativeKernels ?? nativeKernelsByDefault(), modelLayout: layout, setupModules, ranks: this.ranks > 1 ? ranks! : null };
    this.pool = new WorkerPool(this.workers, setup, resourceLimits);
  }

  /** The parameters, in shared memory: a view, not a copy. */
  get params(): Float32Array {
    return this.shared.params;
  }

  /** The model's buffers (BatchNorm's running statistics), in shared memory: a view, not a copy; empty for most models. */
  get buffers(): Float32Array {
    return this.shared.buffers;
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
   * A Dataset is copied into shared memory on first use (a streamed one shares its reader's recipe:
   * each worker opens its own reader); do not change its arrays afterwards.
   */
  async fit(data: Dataset, options: TrainerFitOptions): Promise<FitResult> {
    return this.exclusive('fit', () => this.fitNow(data, options));
  }

  private async fitNow(data: Dataset, options: TrainerFitOptions): Promise<FitResult> {
    const plan = await this.agreed('fit', () => this.planFit(data, options), (checked) => fitRecord(this, checked));
    const shared = this.share(data);
    // A batch never holds more samples than the data set, so neither does the step buffer.
    const batchSize = Math.min(plan.batchSize, data.size);
    const step = this.stepBufferFor(batchSize);
    const task = { kind: 'step-loop', step: step.buffer, data: shared, loss: plan.loss.name, chunkSize: plan.chunkSize, augment: plan.augment, parties: this.workers } as const;
    const tasks = Array.from({ length: this.workers }, (_, party): Omit<StepLoopTask, 'since'> => ({ ...task, party }));
    const steps = new PausableStepLoop(() => new StepLoop(this.pool.piscina, step.views, tasks, { blocking: this.ranks === 1 }));
    let where = 'fit failed';
    const translate = async (error: unknown): Promise<never> => {
      const failure = await this.pool.failed(where, error);
      // A worker's kernel buffers did not fit: say so about the model, in one line.
      throw failure.code === 'E_MEMORY' ? modelTooLarge(this.stepSizes, batchSize) : failure;
    };
    // Across ranks a signal is a wish that travels with the next step, and the ranks stop together after it.
    const agreed = new AbortController();
    // So is a callback's stop: the next step carries it, and no rank applies that step.
    const loop = epochLoop(plan, this.state, step.views, this.ranks > 1 ? { ...options, signal: agreed.signal } : options, { agreeStops: this.ranks > 1 });
    try {
      for (let next = loop.next(); ; ) {
        if (next.done === true) {
          this.lastFitTimings = next.value.timings;
          return next.value;
        }
        const request = next.value;
        if (request.kind === 'validate') {
          await steps.pause().catch(translate);
          next = loop.next(await this.evaluateNow(request.data, { loss: plan.loss.name }));
        } else {
          where = request.where;
          const { samples, next: ahead } = request.order;
          step.views.batchSamples.set(samples);
          if (ahead !== undefined) step.views.nextSamples.set(ahead);
          const { step: at, epoch, lr, stopBefore } = request.order;
          const order = { stop: false, step: at, epoch, batchSize: samples.length, stopWanted: options.signal?.aborted === true, stopBefore, lr: lr!, nextSize: ahead?.length ?? 0 };
          const reports = await steps.run(order).catch(translate);
          if (reports.some((report) => report.stopAgreed)) agreed.abort();
          next = loop.next(reports);
        }
      }
    } finally {
      await steps.pause().catch(translate);
    }
  }

  private planFit(data: Dataset, options: TrainerFitOptions): FitPlan {
    const own = typeof options === 'object' && options !== null ? TRAINER_FIELDS.find((field) => Object.hasOwn(options, field)) : undefined;
    if (own !== undefined) {
      throw new LockstepError('E_OPTION', `Trainer.fit options: ${own} is the Trainer's, the same for every fit; give it to new Trainer({ ${own} })`);
    }
    checkFitOptions('Trainer.fit', options, EPOCH_OPTION_FIELDS);
    return checkFit(this.model, data, options, this, 'lower chunkSize in new Trainer({ chunkSize }), or raise batchSize');
  }

  /**
   * What `check` returns, once every rank has made the same call. Across ranks, before any step or
   * block, the ranks exchange the record `recordOf` makes of the checked call (or the error their own
   * checks threw), and each throws the same line at the first difference (rank-agreement.ts), rather
   * than mixing other blocks or other numbers into the others' work, or waiting for a rank that has
   * already failed. Alone, nothing is exchanged and no record (no digest) is made.
   */
  private async agreed<T>(call: CollectiveCall, check: () => T, recordOf: (checked: T) => string): Promise<T> {
    if (this.ranks === 1) return check();
    let own: { value: T; record: string } | { refusal: unknown; record: string };
    try {
      const value = check();
      own = { value, record: recordOf(value) };
    } catch (error) {
      own = { refusal: error, record: refusalRecord(call, error) };
    }
    const [records] = await this.pool.round<string[]>([{ kind: 'rank-agree', record: own.record }], comparing(call));
    if ('refusal' in own) throw own.refusal;
    const differs = disagreement(records!);
    if (differs !== null) throw differs;
    return own.value;
  }

  /**
   * Continues from saved parameters, optimizer state, buffers (absent: none saved, for a model without)
   * and position (a checkpoint). Everything is checked as `fit({ state })` checks it before anything
   * is loaded, and a negative running variance, in the buffers or early stopping's best ones, is
   * refused: no training writes one, and eval mode would output NaN.
   */
  load(saved: { params: Float32Array; optimizerState: Float32Array; buffers?: Float32Array; state: Omit<TrainingState, 'optimizerState'> }): void {
    this.checkIdle('load');
    if (typeof saved?.state !== 'object' || saved.state === null) {
      throw new LockstepError('E_OPTION', `load: state must be the position saved with the parameters (a checkpoint's, or fit's result.state), got ${describeValue(saved?.state)}`);
    }
    const loads = [
      ['params', saved.params, this.shared.params],
      ['optimizerState', saved.optimizerState, this.shared.optimizerState],
      ['buffers', saved.buffers ?? new Float32Array(0), this.shared.buffers],
    ] as const;
    for (const [name, array, target] of loads) {
      if (!(array instanceof Float32Array)) throw new LockstepError('E_OPTION', `load: ${name} must be a Float32Array, got ${describeValue(array)}`);
      if (array.length !== target.length) {
        throw new LockstepError('E_SHAPE', `load: ${name} has ${array.length} values, this model and optimizer need ${target.length}`);
      }
    }
    for (const [name, buffers] of [['buffers', saved.buffers], ['state.earlyStopping.bestBuffers', saved.state.earlyStopping?.bestBuffers]] as const) {
      const negative = buffers instanceof Float32Array ? negativeRunningVariance(this.model, buffers) : null;
      if (negative !== null) throw new LockstepError('E_NUMERIC', `load: ${name}: ${negative}; load the buffers saved with these parameters`);
    }
    // A copy: checking completes a position left out, and the caller's object stays as it was.
    const { step, epoch, batch, epochLossSum, epochCorrect, schedule, earlyStopping } = checkTrainingState(
      { ...saved.state, optimizerState: saved.optimizerState },
      this.model,
      this.optimizer,
      'load',
    );
    for (const [, array, target] of loads) target.set(array);
    // Copies: the epoch loop updates the schedule's and early stopping's state in place.
    Object.assign(this.state, {
      step,
      epoch,
      batch,
      epochLossSum,
      epochCorrect,
      schedule: schedule === undefined ? undefined : { ...schedule },
      earlyStopping: earlyStopping === undefined ? undefined : { ...earlyStopping },
    });
  }

  /** PyTorch's `state_dict()` of the shared parameters and buffers: a copy (see core's `Model.stateDict`). */
  stateDict(): StateDict {
    this.pool.checkOpen();
    return this.model.stateDict();
  }

  /**
   * Copies a state dict into the shared parameters and buffers, which every replica reads: all of
   * them see the new values at their next task (no replica keeps a copy between tasks). Names and
   * shapes are checked first; one line lists every mismatch and nothing is loaded. A NaN or infinite
   * value is refused too, naming the tensor (core's `Model.loadStateDict` takes it, as PyTorch does):
   * the trainer's first step would stop on it with advice meant for a run that diverged. So is a
   * negative running variance, which makes eval-mode outputs NaN (`checkStateValues`). The optimizer
   * state and the position in training are left as they are, as PyTorch's `load_state_dict` does;
   * early stopping's state is dropped, so the next fit with `earlyStopping` watches afresh.
   * Refused while a fit or pass runs (the replicas would read a half-written load).
   */
  loadStateDict(dict: ReadonlyMap<string, StateTensor> | Readonly<Record<string, StateTensor>>): void {
    this.checkIdle('loadStateDict');
    const given = asStateDict(dict);
    checkStateDict(this.model, given);
    checkStateValues(given);
    this.model.loadStateDict(given);
    // Its best value and best weights were the replaced weights': restoring them would undo this load.
    delete this.state.earlyStopping;
  }

  /** Mean loss and accuracy in eval mode, in blocks of 256 samples claimed by the workers (across ranks: see `ranks`). */
  async evaluate(data: Dataset, options: { loss?: LossName } = {}): Promise<Evaluation> {
    return this.exclusive('evaluate', async () => {
      const loss = await this.agreed('evaluate', () => this.evaluationLoss(data, options), (checked) => evaluateRecord(this, checked, data));
      return evaluateOnWorkers(this.pool, this.share(data), data.size, loss, this.place);
    });
  }

  /** The validation pass of a fit, whose ranks compared the validation data with the rest of the fit. */
  private async evaluateNow(data: Dataset, options: { loss?: LossName }): Promise<Evaluation> {
    return evaluateOnWorkers(this.pool, this.share(data), data.size, this.evaluationLoss(data, options), this.place);
  }

  /** The loss an evaluation of `data` computes, once the data and options are checked. */
  private evaluationLoss(data: Dataset, options: { loss?: LossName }): LossName {
    checkKnownFields('evaluate options', options, ['loss']);
    checkDataFits(this.model, data);
    const loss = options.loss === undefined ? defaultLoss(data.targets) : lossByName(options.loss);
    checkLossFits(this.model, loss, data);
    this.checkBlockRows('evaluate', data.size);
    return loss.name;
  }

  /** The model's eval-mode outputs (logits for a classifier) for every row of `inputs`, or every sample of a data set. */
  async predict(inputs: Float32Array | Dataset): Promise<Float32Array> {
    return this.exclusive('predict', async () => {
      const checked = await this.agreed('predict', () => this.inferenceInputs('predict', inputs), ({ rows }) => predictRecord(this, inputs, rows));
      return predictOnWorkers(this.pool, this.model, checked, this.place);
    });
  }

  /**
   * Monte Carlo dropout (Gal and Ghahramani 2016): `samples` forward passes with dropout layers on
   * (and only those), each with masks keyed by (seed, pass, row). Per row: mean class probabilities,
   * their standard deviation over the passes, the predictive entropy and the mutual information
   * (BALD); with `outputs: 'raw'` (a regression model) the mean and standard deviation of the
   * outputs themselves. Bit-identical at any worker count and to core's `predictWithUncertainty`.
   */
  async predictWithUncertainty<O extends UncertaintyOutputs = 'probabilities'>(inputs: Float32Array | Dataset, options: UncertaintyOptions<O>): Promise<Uncertainty<O>> {
    return this.exclusive('predictWithUncertainty', async () => {
      const check = () => ({ ...checkUncertaintyOptions(options, sizeOf(this.model.outputShape)), seed: options.seed, passInputs: this.inferenceInputs('predictWithUncertainty', inputs) });
      const { passes, seed, outputs, passInputs } = await this.agreed('predictWithUncertainty', check, (checked) => uncertaintyRecord(this, inputs, checked.passInputs.rows, checked));
      return uncertaintyOnWorkers(this.pool, this.model, passInputs, { passes, seed, outputKind: outputs as O }, this.place);
    });
  }

  /**
   * Runs the same forward pass on every replica at once, in the trainer's current mode, and returns
   * each thread's output: in eval mode they are identical; in training mode dropout is on, with the
   * masks of (seed, step, samples), so they are identical to each other too.
   */
  async forwardOnEveryReplica(inputs: Float32Array, context: { step?: number; samples?: number[] } = {}): Promise<ReplicaForwardResult[]> {
    return this.exclusive('forwardOnEveryReplica', () => this.forwardNow(inputs, context));
  }

  private async forwardNow(inputs: Float32Array, context: { step?: number; samples?: number[] }): Promise<ReplicaForwardResult[]> {
    const rows = this.model.inputTensor(inputs).shape[0];
    checkPassRows(this.model, this.training, rows, rows, { call: 'forwardOnEveryReplica', change: ROW_COUNT_CHANGE });
    const task = {
      kind: 'replica-forward',
      inputs,
      training: this.training,
      optimizerStep: context.step ?? this.state.step,
      samples: context.samples ?? Array.from({ length: rows }, (_, i) => i),
      barrier: new SharedArrayBuffer(8),
      replicas: this.workers,
    } as const;
    return this.pool.round<ReplicaForwardResult>(Array.from({ length: this.workers }, () => task), 'forward on every replica failed');
  }

  /** Stops the worker threads. The trainer cannot be used afterwards. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  get isClosed(): boolean {
    return this.pool.isClosed;
  }

  /** Refuses a call that would run beside another one on the same workers and shared memory. */
  private checkIdle(call: string): void {
    this.pool.checkOpen();
    if (this.running !== null) {
      throw new LockstepError('E_BUSY', `${call}: this Trainer is running ${this.running}; await it before calling ${call}`);
    }
  }

  /** Runs `work` as the trainer's only call until it settles; a call started meanwhile is refused at once. */
  private async exclusive<T>(call: string, work: () => Promise<T>): Promise<T> {
    this.checkIdle(call);
    this.running = call;
    try {
      return await work();
    } finally {
      this.running = null;
    }
  }

  /** Rows given, copied into shared memory; or a data set's samples, shared once (a streamed one is read by the workers). */
  private inferenceInputs(call: string, inputs: Float32Array | Dataset): InferenceInputs {
    checkInferenceInputs(inputs);
    if (inputs instanceof Float32Array) {
      const shared = sharedRows(this.model, inputs);
      this.checkBlockRows(call, shared.rows);
      return shared;
    }
    checkDataFits(this.model, inputs);
    this.checkBlockRows(call, inputs.size);
    return { shared: this.share(inputs), rows: inputs.size };
  }

  /** Refuses, here rather than as a worker's failure, rows whose last block is too small for the model in eval mode. */
  private checkBlockRows(call: string, rows: number): void {
    checkPassRows(this.model, false, rows, INFERENCE_BLOCK, { call, change: ROW_COUNT_CHANGE });
  }

  private share(data: Dataset): SharedDataset {
    const shared = this.sharedData.get(data) ?? shareDataset(data, ++this.versions);
    this.sharedData.set(data, shared);
    return shared;
  }

  private stepBufferFor(batchSize: number): { buffer: StepBuffer; views: StepViews } {
    if (this.step === null || this.step.buffer.layout.batchSize < batchSize) {
      // Checked before growing the memory: the step region alone may not fit, and then nothing is allocated.
      if (!stepFits(this.memory.buffer.byteLength, this.stepSizes, batchSize)) throw modelTooLarge(this.stepSizes, batchSize);
      this.step = appendStepBuffer(this.memory, ++this.versions, { ...this.stepSizes, batchSize });
    }
    return this.step;
  }
}
