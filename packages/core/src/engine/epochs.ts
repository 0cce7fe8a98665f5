import type { Dataset } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import { checkScheduleRun, initialScheduleState, learningRateAt, plateauStep } from '../optim/schedule.js';
import { callObserver, runCallbacks } from './callbacks.js';
import { earlyStoppingStep, monitoredValue, newEarlyStoppingState, type EarlyStoppingState } from './early-stopping.js';
import type { FitPlan, EpochOptions } from './fit-plan.js';
import { stepFailure } from './non-finite.js';
import { epochBatches, epochOrder, type BatchPlan } from './plan.js';
import { epochMetrics, TimingTotals, type EpochMetrics, type Evaluation, type FitTimings } from './progress.js';
import { reduceChunkScalars } from './reduce.js';
import type { TrainingState } from './state.js';
import type { StepBuffers, StepOrder, StepReport } from './step.js';

export interface FitResult {
  readonly history: EpochMetrics[];
  /** The state after the last step taken: a position a later `fit` resumes from exactly. */
  readonly state: TrainingState;
  /** True when `signal` stopped the fit before its last epoch ended. */
  readonly stopped: boolean;
  /**
   * True when a callback or early stopping ended the fit (early stopping: `state.earlyStopping.stoppedEpoch`
   * is then the epoch it stopped after). The state is a position a later fit resumes from; one with
   * `earlyStopping` watches afresh after early stopping ended this one. With `restoreBestWeights`, a
   * fit that early stopping ended or that ran all its epochs ends with the best epoch's parameters.
   */
  readonly stopRequested: boolean;
  readonly timings: FitTimings;
}

/** What the epoch loop asks its trainer to do: take one step with all its parties, or evaluate. */
export type EpochRequest =
  | { readonly kind: 'step'; readonly order: StepOrder; readonly where: string }
  | { readonly kind: 'validate'; readonly data: Dataset };
/** The trainer's answer: every party's report of the step, or the evaluation. */
export type EpochAnswer = readonly StepReport[] | Evaluation;
export type EpochLoop = Generator<EpochRequest, FitResult, EpochAnswer>;

/** How a trainer's parties meet the loop's decisions. */
export interface LoopSettings {
  /**
   * Across ranks: a stop a callback asks for travels with the next step (`StepOrder.stopBefore`),
   * which no rank then applies, so every rank stops after the same step whichever asked.
   */
  readonly agreeStops?: boolean;
}

/**
 * The epochs of a fit, written once for every trainer. It owns the batch plan, the position within
 * the epoch (`state`, updated in place), the metrics and the timings; it asks the trainer for each
 * step and each validation, and the trainer answers (synchronously or not) with `next(answer)`.
 * `buffers` are the step buffers the coordinator reads each step's chunk losses from.
 */
export function* epochLoop(plan: FitPlan, state: TrainingState, buffers: StepBuffers, options: EpochOptions, settings: LoopSettings = {}): EpochLoop {
  const history: EpochMetrics[] = [];
  const timings = new TimingTotals();
  const { data, optimizer, earlyStopping } = plan;
  const { schedule } = optimizer;
  const stepsPerEpoch = Math.ceil(data.size / plan.batchSize);
  const computes = { validation: plan.validation !== undefined, accuracy: plan.loss.reportsAccuracy };
  checkScheduleRun(schedule, { ...computes, epochs: state.epoch + plan.epochs, stepsPerEpoch });
  if (schedule.kind === 'plateau') state.schedule ??= initialScheduleState(optimizer.lr, schedule)!;
  goOnFromLastEpoch(plan, state);
  // Early stopping that ended an earlier fit is over: this fit watches afresh, as each Keras `fit` does.
  // One a signal or a callback interrupted, or that ran all its epochs, goes on, so the fits together stop where one fit would.
  if (earlyStopping !== null && (state.earlyStopping === undefined || state.earlyStopping.stoppedEpoch > 0)) state.earlyStopping = newEarlyStoppingState();
  const end = (stopped: boolean, stopRequested: boolean): FitResult => ({ history, state, stopped, stopRequested, timings });
  const lrAt = (step: number, epoch: number): number => learningRateAt(optimizer.lr, schedule, step, epoch, state.schedule ?? null);
  // Across ranks, a callback's stop waits for the next step to travel to every rank.
  let stopBefore = false;
  // Data read on demand gets each step's next samples, so the parties can get them ready ahead.
  const lookahead = data.streamed !== null;
  for (let e = 0; e < plan.epochs; e++) {
    const started = performance.now();
    const batches = epochBatches(epochOrder(plan.seed, state.epoch, data.size, plan.shuffle), plan.batchSize, plan.chunkSize);
    if (state.batch > batches.length) {
      throw new LockstepError('E_OPTION', `fit: the saved position (batch ${state.batch}) is past this epoch's ${batches.length} batches; resume with the batch size of the original run`);
    }
    const epochLr = lrAt(state.step - state.batch, state.epoch);
    let trainedSamples = 0;
    while (state.batch < batches.length) {
      if (options.signal?.aborted) return end(true, false);
      const batch = batches[state.batch];
      const lr = lrAt(state.step, state.epoch);
      const order = {
        step: state.step,
        epoch: state.epoch,
        samples: batch.samples,
        lr,
        ...(stopBefore ? { stopBefore } : {}),
        ...(lookahead ? { next: nextSamples(plan, state.epoch, batches, state.batch, e + 1 < plan.epochs) } : {}),
      };
      const where = `fit failed at step ${state.step} (epoch ${state.epoch + 1}, batch ${state.batch + 1} of ${batches.length})`;
      const stepStarted = performance.now();
      const reports = (yield { kind: 'step', order, where }) as readonly StepReport[];
      // Some rank's callback asked to stop before this step: no rank applied it.
      if (reports.some((report) => report.outcome === 'stopped')) return end(options.signal?.aborted === true, true);
      const failure = stepFailure(plan, order, reports, where);
      if (failure !== null) throw failure;
      timings.add(reports, (performance.now() - stepStarted) / 1000);
      state.step++;
      state.batch++;
      state.epochLossSum += reduceChunkScalars(buffers.chunkLoss, batch.chunks);
      state.epochCorrect += reduceChunkScalars(buffers.chunkCorrect, batch.chunks);
      trainedSamples += batch.samples.length;
      const progress = {
        epoch: state.epoch + 1,
        batch: state.batch,
        batches: batches.length,
        step: state.step,
        lr,
        loss: state.epochLossSum / Math.min(data.size, state.batch * plan.batchSize),
        samples: trainedSamples,
        seconds: (performance.now() - started) / 1000,
      };
      callObserver('onStep', options.onStep, progress);
      if (runCallbacks(plan.callbacks, 'onStepEnd', { progress })) {
        if (settings.agreeStops !== true) return end(false, true);
        stopBefore = true;
      }
    }
    const totals = { lossSum: state.epochLossSum, correct: state.epochCorrect };
    state.epoch++;
    state.batch = 0;
    state.epochLossSum = 0;
    state.epochCorrect = 0;
    const trainSeconds = (performance.now() - started) / 1000;
    const validation = plan.validation === undefined ? null : ((yield { kind: 'validate', data: plan.validation }) as Evaluation);
    const metrics = epochMetrics({
      epoch: state.epoch,
      lossSum: totals.lossSum,
      correct: plan.loss.reportsAccuracy ? totals.correct : null,
      samples: data.size,
      trainedSamples,
      steps: batches.length,
      trainSeconds,
      validation,
      lr: epochLr,
      seconds: (performance.now() - started) / 1000,
    });
    history.push(metrics);
    // The schedule and early stopping see the epoch before the hooks, so a checkpoint saved there holds their new state.
    if (schedule.kind === 'plateau') {
      const value = monitoredValue(metrics, schedule.monitor);
      if (value !== null) plateauStep(schedule, state.schedule!, value);
    }
    let stopEarly = false;
    if (earlyStopping !== null) {
      const watch = state.earlyStopping!;
      const improved = earlyStoppingStep(earlyStopping, watch, metrics);
      if (earlyStopping.restoreBestWeights && (improved || watch.bestParams === undefined)) {
        watch.bestParams = plan.model.params.slice();
        watch.bestBuffers = plan.model.buffers.slice();
      }
      stopEarly = watch.stoppedEpoch > 0;
    }
    callObserver('onEpoch', options.onEpoch, metrics);
    const asked = runCallbacks(plan.callbacks, 'onEpochEnd', { metrics, earlyStopping: state.earlyStopping ?? null });
    // Every rank sees the same metrics, so every rank stops here, or ends: no agreement is needed.
    if (stopEarly) {
      if (earlyStopping!.restoreBestWeights) putBackBest(plan, state.earlyStopping!);
      return end(false, true);
    }
    if (e + 1 === plan.epochs && earlyStopping?.restoreBestWeights === true) endWithBest(plan, state);
    if (asked) {
      if (settings.agreeStops !== true) return end(false, true);
      stopBefore = true;
    }
  }
  return end(false, stopBefore);
}

function putBackBest(plan: FitPlan, watch: EarlyStoppingState): void {
  if (watch.bestParams === undefined) return;
  plan.model.params.set(watch.bestParams);
  if (watch.bestBuffers !== undefined) plan.model.buffers.set(watch.bestBuffers);
}

/**
 * Keras' `on_train_end` for a fit that ran all its epochs: the model takes the best epoch's weights,
 * and the state keeps the last epoch's (`lastParams`), the position it is after, for the next fit.
 */
function endWithBest(plan: FitPlan, state: TrainingState): void {
  const watch = state.earlyStopping!;
  if (watch.bestEpoch === state.epoch) return;
  watch.lastParams = plan.model.params.slice();
  watch.lastBuffers = plan.model.buffers.slice();
  putBackBest(plan, watch);
}

/** A fit on the state of one that ended with the best weights goes on from the last epoch's, where that fit was. */
function goOnFromLastEpoch(plan: FitPlan, state: TrainingState): void {
  const watch = state.earlyStopping;
  if (watch?.lastParams === undefined) return;
  plan.model.params.set(watch.lastParams);
  if (watch.lastBuffers !== undefined) plan.model.buffers.set(watch.lastBuffers);
  delete watch.lastParams;
  delete watch.lastBuffers;
}

/** The samples of the step after batch `batch` of `epoch`: the epoch's next batch, or the first of the next epoch when this fit has one. */
function nextSamples(plan: FitPlan, epoch: number, batches: readonly BatchPlan[], batch: number, moreEpochs: boolean): Uint32Array | undefined {
  if (batch + 1 < batches.length) return batches[batch + 1].samples;
  if (!moreEpochs) return undefined;
  return epochOrder(plan.seed, epoch + 1, plan.data.size, plan.shuffle).subarray(0, plan.batchSize);
}
