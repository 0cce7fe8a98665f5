import type { Dataset } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import type { FitPlan, EpochOptions } from './fit-plan.js';
import { stepFailure } from './non-finite.js';
import { epochBatches, epochOrder } from './plan.js';
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
  readonly timings: FitTimings;
}

/** What the epoch loop asks its trainer to do: take one step with all its parties, or evaluate. */
export type EpochRequest =
  | { readonly kind: 'step'; readonly order: StepOrder; readonly where: string }
  | { readonly kind: 'validate'; readonly data: Dataset };
/** The trainer's answer: every party's report of the step, or the evaluation. */
export type EpochAnswer = readonly StepReport[] | Evaluation;
export type EpochLoop = Generator<EpochRequest, FitResult, EpochAnswer>;

/**
 * The epochs of a fit, written once for every trainer. It owns the batch plan, the position within
 * the epoch (`state`, updated in place), the metrics and the timings; it asks the trainer for each
 * step and each validation, and the trainer answers (synchronously or not) with `next(answer)`.
 * `buffers` are the step buffers the coordinator reads each step's chunk losses from.
 */
export function* epochLoop(plan: FitPlan, state: TrainingState, buffers: StepBuffers, options: EpochOptions): EpochLoop {
  const history: EpochMetrics[] = [];
  const timings = new TimingTotals();
  const { data } = plan;
  for (let e = 0; e < plan.epochs; e++) {
    const started = performance.now();
    const batches = epochBatches(epochOrder(plan.seed, state.epoch, data.size, plan.shuffle), plan.batchSize, plan.chunkSize);
    if (state.batch > batches.length) {
      throw new LockstepError('E_OPTION', `fit: the saved position (batch ${state.batch}) is past this epoch's ${batches.length} batches; resume with the batch size of the original run`);
    }
    let trainedSamples = 0;
    while (state.batch < batches.length) {
      if (options.signal?.aborted) return { history, state, stopped: true, timings };
      const batch = batches[state.batch];
      const order = { step: state.step, epoch: state.epoch, samples: batch.samples };
      const where = `fit failed at step ${state.step} (epoch ${state.epoch + 1}, batch ${state.batch + 1} of ${batches.length})`;
      const stepStarted = performance.now();
      const reports = (yield { kind: 'step', order, where }) as readonly StepReport[];
      const failure = stepFailure(plan, order, reports, where);
      if (failure !== null) throw failure;
      timings.add(reports, (performance.now() - stepStarted) / 1000);
      state.step++;
      state.batch++;
      state.epochLossSum += reduceChunkScalars(buffers.chunkLoss, batch.chunks);
      state.epochCorrect += reduceChunkScalars(buffers.chunkCorrect, batch.chunks);
      trainedSamples += batch.samples.length;
      options.onStep?.({
        epoch: state.epoch + 1,
        batch: state.batch,
        batches: batches.length,
        loss: state.epochLossSum / Math.min(data.size, state.batch * plan.batchSize),
        samples: trainedSamples,
        seconds: (performance.now() - started) / 1000,
      });
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
      seconds: (performance.now() - started) / 1000,
    });
    history.push(metrics);
    options.onEpoch?.(metrics);
  }
  return { history, state, stopped: false, timings };
}
