import type { StepReport } from './step.js';

export interface EpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's samples, measured with dropout on. */
  readonly loss: number;
  /** Training accuracy with dropout on; null for regression losses. */
  readonly accuracy: number | null;
  readonly valLoss: number | null;
  readonly valAccuracy: number | null;
  /** The learning rate of the epoch's first step (constant through the epoch unless the schedule counts steps). */
  readonly lr: number;
  readonly steps: number;
  /** Wall time of the epoch, validation included. */
  readonly seconds: number;
  /** Training samples per second, validation excluded. */
  readonly samplesPerSecond: number;
}

/** Mean loss and accuracy of a data set in eval mode. */
export interface Evaluation {
  readonly loss: number;
  /** null for regression losses. */
  readonly accuracy: number | null;
}

/** The totals of one epoch. */
export interface EpochTotals {
  readonly epoch: number;
  readonly lossSum: number;
  /** null when the loss reports no accuracy. */
  readonly correct: number | null;
  readonly samples: number;
  /** Samples trained in this call (fewer than `samples` when a resumed epoch started midway). */
  readonly trainedSamples: number;
  readonly steps: number;
  readonly trainSeconds: number;
  readonly validation: Evaluation | null;
  readonly lr: number;
  readonly seconds: number;
}

export function epochMetrics(totals: EpochTotals): EpochMetrics {
  return {
    epoch: totals.epoch,
    loss: totals.lossSum / totals.samples,
    accuracy: totals.correct === null ? null : totals.correct / totals.samples,
    valLoss: totals.validation?.loss ?? null,
    valAccuracy: totals.validation?.accuracy ?? null,
    lr: totals.lr,
    steps: totals.steps,
    seconds: totals.seconds,
    samplesPerSecond: totals.trainedSamples / totals.trainSeconds,
  };
}

/** Reported after every optimizer step, when the state is a position a checkpoint can resume from. */
export interface StepProgress {
  /** 1-based epoch in progress. */
  readonly epoch: number;
  /** Batches of this epoch done, of `batches`. */
  readonly batch: number;
  readonly batches: number;
  /** Optimizer steps taken so far in the run, this one included. */
  readonly step: number;
  /** The learning rate this step was taken with. */
  readonly lr: number;
  /** Mean training loss of this epoch's batches so far. */
  readonly loss: number;
  /** Samples trained in this epoch by this call so far, and the seconds it took. */
  readonly samples: number;
  readonly seconds: number;
}

/** Where the time of a `fit` went, for benchmarks. */
export interface FitTimings {
  readonly steps: number;
  /** Wall time of all optimizer steps, coordination included. */
  readonly stepSeconds: number;
  /** Time spent computing chunk gradients, summed over parties. */
  readonly gradientSeconds: number;
  /**
   * Each step's slowest gradient computation, summed over steps. Above `gradientSeconds / parties`
   * by the time the other parties waited for the slowest at the first meeting.
   */
  readonly slowestGradientSeconds: number;
  /** Time spent reducing and updating, summed over parties. */
  readonly updateSeconds: number;
  /** Time spent applying max-norm constraints, summed over parties (0 without `maxNorm` layers). */
  readonly maxNormSeconds: number;
  /** Time spent exchanging block sums with the other ranks, waiting for them included (0 on one rank). */
  readonly exchangeSeconds: number;
}

/** Sums the parties' reports of each step into `FitTimings`. */
export class TimingTotals implements FitTimings {
  steps = 0;
  stepSeconds = 0;
  gradientSeconds = 0;
  slowestGradientSeconds = 0;
  updateSeconds = 0;
  maxNormSeconds = 0;
  exchangeSeconds = 0;

  add(reports: readonly StepReport[], stepSeconds: number): void {
    this.steps++;
    this.stepSeconds += stepSeconds;
    let slowest = 0;
    for (const report of reports) {
      slowest = Math.max(slowest, report.gradientSeconds);
      this.gradientSeconds += report.gradientSeconds;
      this.updateSeconds += report.updateSeconds;
      this.maxNormSeconds += report.maxNormSeconds;
      this.exchangeSeconds += report.exchangeSeconds;
    }
    this.slowestGradientSeconds += slowest;
  }
}
