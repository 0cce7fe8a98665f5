import type { CheckedAugmentSpec, KernelChoice, LossName, ModelSpec, OptimizerConfig, UncertaintyOutputs, WasmMemory } from '@lockstep/core';
import type { ModelLayout, StepLayout } from './layout.js';
import type { BlockClaims } from './block-claims.js';
import type { RankGroupSpec } from './rank-groups.js';
import type { SharedDataset } from './shared-data.js';

/** Given to every worker thread when the pool starts (piscina's workerData). */
export interface WorkerSetup {
  readonly spec: ModelSpec;
  readonly seed: number;
  readonly optimizer: OptimizerConfig;
  /** Shared by every thread: the model region, then the step region (see layout.ts). */
  readonly memory: WasmMemory;
  readonly kernel: KernelChoice;
  /** Run the matrix products on @lockstep/native's kernels where they can run (the same bits). */
  readonly nativeKernels: boolean;
  readonly modelLayout: ModelLayout;
  /** Module URLs each worker imports before building its replica (custom layers register there). */
  readonly setupModules: readonly string[];
  /** The other ranks of the run, when it spans several (rank-groups.ts); null for one. */
  readonly ranks: RankGroupSpec | null;
}

export interface StepBuffer {
  /** Changes whenever the coordinator allocates a new step buffer (a larger batch size). */
  readonly version: number;
  readonly buffer: SharedArrayBuffer;
  readonly layout: StepLayout;
}

/**
 * A worker's step loop for one run of optimizer steps, one task per party, every party on its own
 * thread: the worker waits at the step buffer's doorbell (doorbell.ts) for each `DoorbellOrder`,
 * takes its share of that step with core's `StepEngine`, writes its report and rings back, until an
 * order says stop (docs/design.md, "One optimizer step").
 */
export interface StepLoopTask {
  readonly kind: 'step-loop';
  readonly step: StepBuffer;
  readonly data: SharedDataset;
  readonly loss: LossName;
  readonly chunkSize: number;
  /** The fit's augmentation of training samples, keyed by the run's seed; null for none. */
  readonly augment: CheckedAugmentSpec | null;
  readonly party: number;
  readonly parties: number;
  /** Orders rung at the doorbell before this loop started; the loop's first order is the next one. */
  readonly since: number;
}

/** The coordinator's order for one step, in the step buffer (layout.ts `ORDER`); the batch's samples are in the step buffer too. */
export interface DoorbellOrder {
  /** Ends the step loop; the other fields are then unused. */
  readonly stop: boolean;
  /** Optimizer steps taken before this one. */
  readonly step: number;
  /** Epochs completed before this step (core's `StepOrder.epoch`). */
  readonly epoch: number;
  readonly batchSize: number;
  /** This rank's wish to stop after this step (core's `StepOrder.stopWanted`). */
  readonly stopWanted: boolean;
  /** A callback of this rank asked to stop before this step (core's `StepOrder.stopBefore`). */
  readonly stopBefore?: boolean;
  /** The step's learning rate (core's `StepOrder.lr`). */
  readonly lr: number;
  /** The next step's batch size, its samples in the step buffer's `nextSamples` (core's `StepOrder.next`); absent or 0: not known. */
  readonly nextSize?: number;
}

/** For each claimed block of samples: loss sum and correct count in eval mode, written to results[2 * block], [2 * block + 1]. */
export interface EvaluateTask {
  readonly kind: 'evaluate';
  readonly data: SharedDataset;
  readonly loss: LossName;
  readonly blocks: BlockClaims;
  readonly results: SharedArrayBuffer;
}

/** For each claimed block of input rows: eval-mode outputs, written to the same rows of `outputs`. */
export interface PredictTask {
  readonly kind: 'predict';
  /** Rows end to end, or a shared data set whose samples are the rows. */
  readonly inputs: SharedArrayBuffer | SharedDataset;
  readonly outputs: SharedArrayBuffer;
  readonly blocks: BlockClaims;
}

/**
 * A forward pass on every replica at once: each of `replicas` tasks waits at `barrier` until all have
 * started, which puts them on distinct threads.
 */
export interface ReplicaForwardTask {
  readonly kind: 'replica-forward';
  readonly inputs: Float32Array;
  readonly training: boolean;
  readonly optimizerStep: number;
  readonly samples: readonly number[];
  readonly barrier: SharedArrayBuffer;
  readonly replicas: number;
}

/**
 * Monte Carlo dropout over each claimed block of input rows with core's `mcDropoutRows`: `passes`
 * forward passes with dropout layers on and masks keyed by (seed, pass, row); writes those rows of `outputs`.
 */
export interface UncertaintyTask {
  readonly kind: 'uncertainty';
  /** Rows end to end, or a shared data set whose samples are the rows. */
  readonly inputs: SharedArrayBuffer | SharedDataset;
  /** An `Uncertainty` of `blocks.rows` rows, laid out by core's `uncertaintyViews`. */
  readonly outputs: SharedArrayBuffer;
  readonly blocks: BlockClaims;
  readonly passes: number;
  readonly seed: number;
  /** Whether a pass's outputs count as the softmax's probabilities or as they are (`UncertaintyOptions.outputs`). */
  readonly outputKind: UncertaintyOutputs;
}

/** `width` values a unit (a row or a block), units in order, from element `offset` of the buffer. */
export interface RankField {
  readonly offset: number;
  readonly width: number;
}

/**
 * An eval-mode pass's results shared across ranks, on one worker of each rank (rank-share.ts): rank r
 * computed units [r x perRank, (r + 1) x perRank) of every field of `buffer` (float64 or float32
 * values) and gets every other rank's with one allgather.
 */
export interface RankExchangeTask {
  readonly kind: 'rank-exchange';
  readonly buffer: SharedArrayBuffer;
  readonly float64: boolean;
  readonly fields: readonly RankField[];
  readonly units: number;
  readonly perRank: number;
}

/** A collective call's record across ranks (a fit's settings, an eval-mode pass's arguments), on one worker of each rank (rank-agreement.ts): this rank's record out, every rank's back. */
export interface RankAgreeTask {
  readonly kind: 'rank-agree';
  readonly record: string;
}

export type Task = StepLoopTask | EvaluateTask | PredictTask | ReplicaForwardTask | UncertaintyTask | RankExchangeTask | RankAgreeTask;

export interface TimedResult {
  /** Seconds the worker spent on the task's computation. */
  readonly seconds: number;
}

export interface ReplicaForwardResult {
  readonly threadId: number;
  readonly output: Float32Array;
}

export interface TaskResults {
  'step-loop': TimedResult;
  evaluate: TimedResult;
  predict: TimedResult;
  'replica-forward': ReplicaForwardResult;
  uncertainty: TimedResult;
  'rank-exchange': TimedResult;
  /** Every rank's record, in rank order. */
  'rank-agree': string[];
}
