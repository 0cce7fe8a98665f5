import { appendRegion, LockstepError, normBlockCount, rankScalars, type StepBuffers, type UpdateAddresses, type WasmMemory } from '@lockstep/core';
import type { StepBuffer } from './messages.js';

/**
 * The shared-memory layout, defined once and used by the coordinator and every worker (how the
 * step uses it: docs/design.md, "Worker threads"). Everything lives in one shared WebAssembly
 * memory, so the update and matrix kernels read and write parameters and gradients in place on
 * every thread.
 *
 * The model region lives as long as the trainer: parameters, then optimizer state (slot s of
 * parameter i at s * paramCount + i), then the model's buffers (BatchNorm's running statistics). Regions appended to the memory later: the step region, sized
 * for a batch size (a new one when a larger batch comes), and each worker's matrix-kernel scratch.
 * The step region holds per-chunk loss sums and correct counts (float64), one statistics slot of
 * the model's `statisticsSize` float64 values per chunk (BatchNorm's batch statistics), one gradient slot of
 * paramCount floats per chunk, the sample indices of the current batch and of the next (where the
 * coordinator knows them: a hint for data read on demand), each norm block's sum of
 * squares (float64), the step barrier (arrived count, abort flag), the doorbell (see doorbell.ts:
 * orders rung, workers finished), the current step order and each worker's report of it (float64
 * fields, below). Regions start on 64-byte boundaries so no two share a cache line.
 */

const ALIGN = 64;
/** The step barrier: arrivals since the coordinator reset it, and a flag the coordinator raises when a task failed. */
const BARRIER_WORDS = 2;
/** The doorbell: orders rung so far, and workers that finished the latest one. */
const DOORBELL_WORDS = 2;

/** Fields of the step order, float64 each: what the coordinator tells every worker about the next step. */
export const ORDER = { stop: 0, step: 1, batchSize: 2, stopWanted: 3, epoch: 4, nextSize: 5, stopBefore: 6, lr: 7 } as const;
/** Fields of one worker's report of a step (core's `StepReport`), float64 each; the outcome as its index in `STEP_OUTCOMES`. */
export const REPORT = { outcome: 0, at: 1, value: 2, gradientSeconds: 3, updateSeconds: 4, maxNormSeconds: 5, exchangeSeconds: 6, stopAgreed: 7 } as const;
const ORDER_FIELDS = Object.keys(ORDER).length;
export const REPORT_FIELDS = Object.keys(REPORT).length;

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

export interface ModelLayout {
  readonly paramCount: number;
  readonly stateSlots: number;
  /** Float32 values of the model's buffers (core's `Model.buffers`). */
  readonly bufferCount: number;
  readonly paramsOffset: number;
  readonly optimizerStateOffset: number;
  readonly buffersOffset: number;
  readonly bytes: number;
}

export function modelLayout(paramCount: number, stateSlots: number, bufferCount = 0): ModelLayout {
  const paramsOffset = 0;
  const optimizerStateOffset = align(paramsOffset + 4 * paramCount);
  const buffersOffset = align(optimizerStateOffset + 4 * stateSlots * paramCount);
  return { paramCount, stateSlots, bufferCount, paramsOffset, optimizerStateOffset, buffersOffset, bytes: align(buffersOffset + 4 * bufferCount) };
}

export interface ModelViews {
  readonly params: Float32Array;
  readonly optimizerState: Float32Array;
  readonly buffers: Float32Array;
}

/** The memory's current buffer; it is shared, so views made before a `grow` stay valid. */
export function sharedBuffer(memory: WasmMemory): SharedArrayBuffer {
  const buffer: unknown = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) throw new LockstepError('E_WORKER', 'the trainer memory must be a shared WebAssembly memory');
  return buffer;
}

/** Where the update kernel finds this layout's parameters, chunk slots and optimizer state. */
export function updateAddresses(model: ModelLayout, step: StepLayout): UpdateAddresses {
  return { params: model.paramsOffset, slots: step.gradSlotsOffset, state: model.optimizerStateOffset, paramCount: model.paramCount };
}

export function modelViews(buffer: SharedArrayBuffer, layout: ModelLayout): ModelViews {
  return {
    params: new Float32Array(buffer, layout.paramsOffset, layout.paramCount),
    optimizerState: new Float32Array(buffer, layout.optimizerStateOffset, layout.stateSlots * layout.paramCount),
    buffers: new Float32Array(buffer, layout.buffersOffset, layout.bufferCount),
  };
}

export interface StepLayout {
  readonly paramCount: number;
  readonly batchSize: number;
  readonly maxChunks: number;
  /** Workers, each with a report. */
  readonly parties: number;
  readonly chunkLossOffset: number;
  readonly chunkCorrectOffset: number;
  /** Float64 values of one chunk's statistics slot (core's `Model.statisticsSize`). */
  readonly statisticsSize: number;
  readonly chunkStatisticsOffset: number;
  readonly gradSlotsOffset: number;
  readonly batchSamplesOffset: number;
  /** The next step's sample indices, where the coordinator knows them (core's `StepOrder.next`). */
  readonly nextSamplesOffset: number;
  readonly blockSquaresOffset: number;
  readonly barrierOffset: number;
  readonly doorbellOffset: number;
  readonly orderOffset: number;
  readonly reportsOffset: number;
  /** Ranks of the run; with more than one, each rank's block sum and block chunk scalars (see core's `RankExchange`). */
  readonly ranks: number;
  readonly rankSumsOffset: number;
  readonly rankScalarsOffset: number;
  readonly bytes: number;
}

/** The step region starts at `base`, a region appended to the memory; its offsets are from the start of the memory. */
export function stepLayout(paramCount: number, batchSize: number, chunkSize: number, parties: number, base: number, ranks = 1, statisticsSize = 0): StepLayout {
  const maxChunks = Math.ceil(batchSize / chunkSize);
  const chunkLossOffset = align(base);
  const chunkCorrectOffset = align(chunkLossOffset + 8 * maxChunks);
  const chunkStatisticsOffset = align(chunkCorrectOffset + 8 * maxChunks);
  const gradSlotsOffset = align(chunkStatisticsOffset + 8 * maxChunks * statisticsSize);
  const batchSamplesOffset = align(gradSlotsOffset + 4 * maxChunks * paramCount);
  const nextSamplesOffset = align(batchSamplesOffset + 4 * batchSize);
  const blockSquaresOffset = align(nextSamplesOffset + 4 * batchSize);
  const barrierOffset = align(blockSquaresOffset + 8 * normBlockCount(paramCount));
  const doorbellOffset = align(barrierOffset + 4 * BARRIER_WORDS);
  const orderOffset = align(doorbellOffset + 4 * DOORBELL_WORDS);
  const reportsOffset = align(orderOffset + 8 * ORDER_FIELDS);
  const rankSumsOffset = align(reportsOffset + 8 * REPORT_FIELDS * parties);
  const exchanged = ranks > 1 ? ranks : 0;
  const rankScalarsOffset = align(rankSumsOffset + 4 * exchanged * paramCount);
  const bytes = align(rankScalarsOffset + 8 * exchanged * rankScalars(maxChunks, statisticsSize));
  return {
    paramCount,
    batchSize,
    maxChunks,
    parties,
    chunkLossOffset,
    chunkCorrectOffset,
    statisticsSize,
    chunkStatisticsOffset,
    gradSlotsOffset,
    batchSamplesOffset,
    nextSamplesOffset,
    blockSquaresOffset,
    barrierOffset,
    doorbellOffset,
    orderOffset,
    reportsOffset,
    ranks,
    rankSumsOffset,
    rankScalarsOffset,
    bytes,
  };
}

/**
 * A step region for batches of up to `batchSize`, appended at the end of `memory` (workers append
 * their kernel scratch regions there too), and its views; a new `version` tells the workers it is new.
 */
export function appendStepBuffer(
  memory: WasmMemory,
  version: number,
  sizes: { paramCount: number; batchSize: number; chunkSize: number; parties: number; ranks: number; statisticsSize: number },
): { buffer: StepBuffer; views: StepViews } {
  const { paramCount, batchSize, chunkSize, parties, ranks, statisticsSize } = sizes;
  const bytes = stepLayout(paramCount, batchSize, chunkSize, parties, 0, ranks, statisticsSize).bytes;
  const layout = stepLayout(paramCount, batchSize, chunkSize, parties, appendRegion(memory, bytes, 'the chunk gradients and step buffers'), ranks, statisticsSize);
  const buffer = sharedBuffer(memory);
  return { buffer: { version, buffer, layout }, views: stepViews(buffer, layout) };
}

export interface StepViews extends StepBuffers {
  readonly batchSamples: Uint32Array;
  readonly nextSamples: Uint32Array;
  /** Empty with one rank. */
  readonly rankSums: Float32Array;
  readonly rankScalars: Float64Array;
  readonly barrier: Int32Array;
  readonly doorbell: Int32Array;
  readonly order: Float64Array;
  /** Worker w's report at [w * REPORT_FIELDS, (w + 1) * REPORT_FIELDS). */
  readonly reports: Float64Array;
}

export function stepViews(buffer: SharedArrayBuffer, layout: StepLayout): StepViews {
  return {
    chunkLoss: new Float64Array(buffer, layout.chunkLossOffset, layout.maxChunks),
    chunkCorrect: new Float64Array(buffer, layout.chunkCorrectOffset, layout.maxChunks),
    chunkStatistics: new Float64Array(buffer, layout.chunkStatisticsOffset, layout.maxChunks * layout.statisticsSize),
    slots: new Float32Array(buffer, layout.gradSlotsOffset, layout.maxChunks * layout.paramCount),
    batchSamples: new Uint32Array(buffer, layout.batchSamplesOffset, layout.batchSize),
    nextSamples: new Uint32Array(buffer, layout.nextSamplesOffset, layout.batchSize),
    blockSquares: new Float64Array(buffer, layout.blockSquaresOffset, normBlockCount(layout.paramCount)),
    barrier: new Int32Array(buffer, layout.barrierOffset, BARRIER_WORDS),
    doorbell: new Int32Array(buffer, layout.doorbellOffset, DOORBELL_WORDS),
    order: new Float64Array(buffer, layout.orderOffset, ORDER_FIELDS),
    reports: new Float64Array(buffer, layout.reportsOffset, REPORT_FIELDS * layout.parties),
    rankSums: new Float32Array(buffer, layout.rankSumsOffset, layout.ranks > 1 ? layout.ranks * layout.paramCount : 0),
    rankScalars: new Float64Array(buffer, layout.rankScalarsOffset, layout.ranks > 1 ? layout.ranks * rankScalars(layout.maxChunks, layout.statisticsSize) : 0),
  };
}
