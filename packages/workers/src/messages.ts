import type { KernelChoice, LossName, ModelSpec, OptimizerConfig } from '@lockstep/core';
import type { ModelLayout, StepLayout } from './layout.js';
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
 * One worker's share of an optimizer step, one task per party, every party on its own thread:
 * computes the gradients of chunks party, party + parties, ... (rows [c * chunkSize, ...) of the
 * batch in the step buffer) into their slots; waits at the step buffer's barrier for the others; if
 * every chunk's loss is finite, sums the chunk slots over parameters [from, to) in the fixed tree
 * order and measures the range's norm blocks; waits again; then, if the whole gradient is finite,
 * clips it when the optimizer asks and updates the range. A range may be empty.
 */
export interface StepTask {
  readonly kind: 'step';
  readonly step: StepBuffer;
  readonly data: SharedDataset;
  readonly loss: LossName;
  /** The optimizer step (0-based) this gradient is for; it keys the dropout masks. */
  readonly optimizerStep: number;
  readonly batchSize: number;
  readonly chunkSize: number;
  readonly chunks: number;
  readonly party: number;
  readonly parties: number;
  readonly from: number;
  readonly to: number;
  /** 1-based optimizer step number, as the update rules count it. */
  readonly t: number;
  readonly lr: number;
}

/**
 * Applies the max-norm constraints to rows [from, to) of the model's constraint plan (`maxNormPlan`),
 * after every step task has finished: the ranges are whole rows, so each row's norm is
 * summed by one thread in one order.
 */
export interface MaxNormTask {
  readonly kind: 'max-norm';
  readonly from: number;
  readonly to: number;
}

/** Loss sum and correct count of samples [from, to) in eval mode, written to results[2 * block], [2 * block + 1]. */
export interface EvaluateTask {
  readonly kind: 'evaluate';
  readonly data: SharedDataset;
  readonly loss: LossName;
  readonly block: number;
  readonly from: number;
  readonly to: number;
  readonly results: SharedArrayBuffer;
}

/** Eval-mode outputs of input rows [from, to), written to the same rows of `outputs`. */
export interface PredictTask {
  readonly kind: 'predict';
  readonly inputs: SharedArrayBuffer;
  readonly outputs: SharedArrayBuffer;
  readonly from: number;
  readonly to: number;
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
 * Monte Carlo dropout over input rows [from, to) with core's `mcDropoutRows`: `passes` forward passes
 * with dropout layers on and masks keyed by (seed, pass, row); writes those rows of `outputs`.
 */
export interface UncertaintyTask {
  readonly kind: 'uncertainty';
  readonly inputs: SharedArrayBuffer;
  /** An `Uncertainty` of `rows` rows, laid out by core's `uncertaintyViews`. */
  readonly outputs: SharedArrayBuffer;
  readonly rows: number;
  readonly from: number;
  readonly to: number;
  readonly passes: number;
  readonly seed: number;
}

export type Task = StepTask | MaxNormTask | EvaluateTask | PredictTask | ReplicaForwardTask | UncertaintyTask;

export interface TimedResult {
  /** Seconds the worker spent on the task's computation. */
  readonly seconds: number;
}

export interface StepResult {
  /** Seconds this worker spent computing chunk gradients, and updating its range (barrier waits excluded). */
  readonly gradientSeconds: number;
  readonly updateSeconds: number;
  /** The first parameter index of this range with a non-finite gradient (no worker updated anything), or -1. */
  readonly nonFinite: number;
  readonly value: number;
}

export interface ReplicaForwardResult {
  readonly threadId: number;
  readonly output: Float32Array;
}

export interface TaskResults {
  step: StepResult;
  'max-norm': TimedResult;
  evaluate: TimedResult;
  predict: TimedResult;
  'replica-forward': ReplicaForwardResult;
  uncertainty: TimedResult;
}
