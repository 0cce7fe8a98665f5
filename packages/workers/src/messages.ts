import type { KernelChoice, LossName, ModelSpec, OptimizerConfig } from '@lockstep/core';
import type { ModelLayout, StepLayout } from './layout.js';
import type { BlockClaims } from './block-claims.js';
import type { SharedDataset } from './shared-data.js';

/** Given to every worker thread when the pool starts (piscina's workerData). */
export interface WorkerSetup {
  readonly spec: ModelSpec;
  readonly seed: number;
  readonly optimizer: OptimizerConfig;
  /** Shared by every thread: the model region, then the step region (see layout.ts). */
  readonly memory: WebAssembly.Memory;
  readonly kernel: KernelChoice;
  readonly modelLayout: ModelLayout;
  /** Module URLs each worker imports before building its replica (custom layers register there). */
  readonly setupModules: readonly string[];
}

export interface StepBuffer {
  /** Changes whenever the coordinator allocates a new step buffer (a larger batch size). */
  readonly version: number;
  readonly buffer: SharedArrayBuffer;
  readonly layout: StepLayout;
}

/**
 * A worker's step loop for one run of optimizer steps, one task per party, every party on its own
 * thread. The worker waits at the step buffer's doorbell (doorbell.ts) for the next `StepOrder` and
 * does its share of that step: computes the gradients of chunks party, party + parties, ... (rows
 * [c * chunkSize, ...) of the batch in the step buffer) into their slots; waits at the step barrier
 * for the others; if every chunk's loss is finite, sums the chunk slots over parameters [from, to)
 * in the fixed tree order and measures the range's norm blocks; waits again; then, if the whole
 * gradient is finite, clips it when the optimizer asks and updates the range; with max-norm
 * constraints, waits a third time (every range updated) and constrains weight rows
 * [maxNormFrom, maxNormTo) of the model's plan (`maxNormPlan`): whole rows, so each row's norm is
 * summed by one thread in one order. Then it writes its `StepReport` and rings back. A range may be
 * empty. The loop ends at an order with `stop`.
 */
export interface StepLoopTask {
  readonly kind: 'step-loop';
  readonly step: StepBuffer;
  readonly data: SharedDataset;
  readonly loss: LossName;
  readonly chunkSize: number;
  readonly party: number;
  readonly parties: number;
  readonly from: number;
  readonly to: number;
  /** With max-norm constraints every party meets a third time each step, with an empty row range or not. */
  readonly maxNormFrom: number;
  readonly maxNormTo: number;
  /** Orders rung at the doorbell before this loop started; the loop's first order is the next one. */
  readonly since: number;
}

/** The coordinator's order for one step, in the step buffer (layout.ts `ORDER`). */
export interface StepOrder {
  /** Ends the step loop; the other fields are then unused. */
  readonly stop: boolean;
  /** The optimizer step (0-based) this gradient is for; it keys the dropout masks. */
  readonly optimizerStep: number;
  readonly batchSize: number;
  readonly chunks: number;
  /** 1-based optimizer step number, as the update rules count it. */
  readonly t: number;
  readonly lr: number;
}

/** One worker's report of a step, in the step buffer (layout.ts `REPORT`). */
export interface StepReport {
  /** Seconds this worker spent computing its chunks' gradients, reducing and updating its range, and constraining its rows; barrier waits excluded. */
  readonly gradientSeconds: number;
  readonly updateSeconds: number;
  readonly maxNormSeconds: number;
  /** The first parameter index of this range with a non-finite gradient (no worker updated anything), or -1. */
  readonly nonFinite: number;
  readonly value: number;
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
  readonly inputs: SharedArrayBuffer;
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
  readonly inputs: SharedArrayBuffer;
  /** An `Uncertainty` of `blocks.rows` rows, laid out by core's `uncertaintyViews`. */
  readonly outputs: SharedArrayBuffer;
  readonly blocks: BlockClaims;
  readonly passes: number;
  readonly seed: number;
}

export type Task = StepLoopTask | EvaluateTask | PredictTask | ReplicaForwardTask | UncertaintyTask;

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
}
