import { augmentGatheredRows, type Augmentation } from '../data/augment.js';
import { Batch, sliceTargets, type Dataset } from '../data/dataset.js';
import type { Loss } from '../losses/loss.js';
import type { Model } from '../model.js';
import { applyMaxNorm, maxNormPlan, type MaxNormPlan } from '../optim/max-norm.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import { learningRateAt } from '../optim/schedule.js';
import { clipFactor, gradientNorm, type UpdateAddresses, type UpdateKernel } from '../optim/update-kernel.js';
import type { Key } from '../random/key.js';
import { chunkGradient } from './chunk-gradient.js';
import { firstNonFinite } from './non-finite.js';
import { combineChunkStatistics } from './statistics.js';
import { shareOf, type Party, type PartyShare, type StepMeeting } from './party.js';
import { blockCount, chunksPerBlock, rankBlock, type RankGroup } from './ranks.js';
import { localReduce, reduceAndMeasure, type ChunkReduce } from './reduce.js';

/** One optimizer step to take. */
export interface StepOrder {
  /** Optimizer steps taken before this one: it keys the dropout masks, and the update counts it + 1. */
  readonly step: number;
  /** Epochs completed before this step: it keys the augmentation of the batch's samples. */
  readonly epoch: number;
  /** The batch's sample indices; chunk c is rows [c * chunkSize, (c + 1) * chunkSize) of it. */
  readonly samples: Uint32Array;
  /**
   * The next step's sample indices, where the epoch loop knows them: a party whose data are read on
   * demand gets its share of them ready while it would wait (docs/design.md, "Data that does not fit
   * in memory"). Only a hint: it changes no value.
   */
  readonly next?: Uint32Array;
  /**
   * This rank wants the run to stop after this step (a signal came). Ranks must stop after the same
   * step, so the wish travels with the exchange and every rank learns whether any has it.
   */
  readonly stopWanted?: boolean;
  /**
   * A callback of this rank asked the fit to stop after the previous step: with the same exchange,
   * every rank learns it and no party applies this step (outcome 'stopped'). Only across ranks: one
   * rank stops at once.
   */
  readonly stopBefore?: boolean;
  /** The learning rate of this step, from the schedule (the epoch loop's `learningRateAt`); absent: computed from the optimizer's schedule. */
  readonly lr?: number;
}

export const STEP_OUTCOMES = ['updated', 'non-finite-loss', 'non-finite-gradient', 'stopped'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** What one party saw of a step. Every party sees the same outcome. */
export interface StepReport {
  /** Anything but 'updated' means no party changed a parameter; 'stopped': some rank asked to stop before this step. */
  readonly outcome: StepOutcome;
  /** The first chunk with a non-finite loss, or the first parameter of this party's range with a non-finite gradient; -1 when none. */
  readonly at: number;
  readonly value: number;
  /** Seconds this party computed chunk gradients, reduced and updated, and constrained rows; meetings excluded. */
  readonly gradientSeconds: number;
  readonly updateSeconds: number;
  readonly maxNormSeconds: number;
  /** Seconds in the exchange with the other ranks, waiting for them included (0 on one rank, and for all but one party of a rank). */
  readonly exchangeSeconds: number;
  /** Some rank wanted to stop after this step (`StepOrder.stopWanted`): every rank stops after it. */
  readonly stopAgreed: boolean;
}

/** Where a party keeps a step's intermediate values: views of memory every party of the step shares. */
export interface StepBuffers {
  /** One gradient slot of the model's size per chunk, end to end, in the update kernel's memory at `at.slots`. */
  readonly slots: Float32Array;
  readonly chunkLoss: Float64Array;
  readonly chunkCorrect: Float64Array;
  /** One slot of the model's `statisticsSize` float64 values per chunk (BatchNorm's batch statistics); empty without them. */
  readonly chunkStatistics: Float64Array;
  /** One sum of squares per norm block of the parameters. */
  readonly blockSquares: Float64Array;
}

/** Where a rank's parties exchange their block with the other ranks: views of memory the rank's parties share. */
export interface RankExchange {
  readonly group: RankGroup;
  /** One slot of the model's size per rank, end to end, in the update kernel's memory at `address`: each rank's block sum. */
  readonly sums: Float32Array;
  readonly address: number;
  /**
   * Per rank (`rankScalars(maxChunks, statisticsSize)` each): the loss sums then the correct counts of
   * its block's chunks, `maxChunks` of each, then their statistics slots, `maxChunks` of them, then its wish to stop.
   */
  readonly scalars: Float64Array;
  readonly maxChunks: number;
}

export interface StepSetup {
  /** The party's model, its parameters the ones the update writes (at `at.params`). */
  readonly model: Model;
  readonly loss: Loss;
  readonly data: Dataset;
  readonly chunkSize: number;
  readonly dropoutKey: Key;
  /** Training samples are augmented with it before each chunk's forward pass (data/augment.ts); absent: as they are. */
  readonly augment?: Augmentation;
  readonly optimizer: OptimizerConfig;
  readonly kernel: UpdateKernel;
  readonly at: UpdateAddresses;
  readonly buffers: StepBuffers;
  readonly party: Party;
  /** Default: `localReduce`, the slots summed where they lie; with `ranks` the engine sums the ranks' block sums itself. */
  readonly reduce?: ChunkReduce;
  /** With several ranks: this party's rank computes one block of the chunks and exchanges its sum. */
  readonly ranks?: RankExchange;
}

const seconds = (since: number): number => (performance.now() - since) / 1000;

/** What each rank sends besides its block sum: every chunk's loss sum, correct count and statistics slot, and a wish to stop. */
export function rankScalars(maxChunks: number, statisticsSize = 0): number {
  return (2 + statisticsSize) * maxChunks + 1;
}

/**
 * One optimizer step, written once for every trainer (docs/design.md, "One optimizer step"). Each
 * party computes its chunks' gradients into their slots; they meet; each sums the slots over its
 * parameter range in the pairwise tree and measures the range; they meet; each computes the global
 * norm from every range's measure, clips and updates its range; with max-norm layers they meet once
 * more and each constrains its rows. Across ranks, each rank computes one aligned block of the
 * chunks, and its block sum is exchanged before the sum goes on (docs/design.md, "Across ranks"). A
 * non-finite loss or gradient is detected here, and only here: every party then stops before
 * changing a parameter.
 */
export class StepEngine {
  private readonly setup: StepSetup;
  /** Where the summed gradient ends, and the sum that puts it there: across ranks, in the exchanged block sums. */
  private readonly gradientAt: UpdateAddresses;
  private readonly reduce: ChunkReduce;
  private readonly constraints: MaxNormPlan;
  private readonly share: PartyShare;
  private readonly batch: Batch;
  /** A row's copy while it is augmented in place. */
  private readonly augmentScratch: Float32Array;
  /** Where a streamed data set's reader works ahead while this party waits (at a meeting, or for the next order); undefined for data in memory. */
  readonly idle: (() => boolean) | undefined;
  /** This rank's block's chunk losses and correct counts and its wish to stop, as the exchange sends them. */
  private readonly ownScalars: Float64Array;
  /** Meetings held in the current step, so each party names the same one. */
  private meetings = 0;

  constructor(setup: StepSetup) {
    this.setup = setup;
    // Across ranks the sum continues from the ranks' block sums, the top of the same tree.
    this.gradientAt = setup.ranks === undefined ? setup.at : { ...setup.at, slots: setup.ranks.address };
    this.reduce = setup.ranks === undefined ? (setup.reduce ?? localReduce(setup.kernel, setup.at)) : localReduce(setup.kernel, this.gradientAt);
    this.constraints = maxNormPlan(setup.model.entries);
    this.share = shareOf(setup.party, setup.model.size, this.constraints);
    this.batch = new Batch(setup.data, Math.min(setup.chunkSize, setup.data.size));
    this.augmentScratch = new Float32Array(setup.data.sampleSize);
    this.idle = setup.data.streamed === null ? undefined : () => setup.data.workAhead();
    this.ownScalars = new Float64Array(setup.ranks === undefined ? 0 : rankScalars(setup.ranks.maxChunks, setup.model.statisticsSize));
  }

  run(order: StepOrder): StepReport {
    const { party, buffers, kernel, optimizer, model, ranks } = this.setup;
    const chunks = Math.ceil(order.samples.length / this.setup.chunkSize);
    const [first, end] = ranks === undefined ? [0, chunks] : rankBlock(chunks, ranks.group.rank, ranks.group.size);
    this.meetings = 0;
    let started = performance.now();
    model.train();
    for (let chunk = first + party.index; chunk < end; chunk += party.count) this.computeChunk(order, chunk);
    if (this.idle !== undefined && order.next !== undefined) this.setup.data.expectSamples(this.ownSamples(order.next));
    const gradientSeconds = seconds(started);
    this.meet('gradients-computed');
    const exchange = ranks === undefined ? { seconds: 0, stopAgreed: order.stopWanted === true, stopBefore: order.stopBefore === true } : this.exchangeBlocks(ranks, order, chunks, first, end);
    const { stopAgreed } = exchange;
    const exchangeSeconds = exchange.seconds;
    if (exchange.stopBefore) return { outcome: 'stopped', at: -1, value: 0, gradientSeconds, updateSeconds: 0, maxNormSeconds: 0, exchangeSeconds, stopAgreed };
    const badChunk = firstNonFinite(buffers.chunkLoss, 0, chunks);
    if (badChunk >= 0) return { outcome: 'non-finite-loss', at: badChunk, value: buffers.chunkLoss[badChunk], gradientSeconds, updateSeconds: 0, maxNormSeconds: 0, exchangeSeconds, stopAgreed };

    const at = this.gradientAt;
    const summed = ranks === undefined ? chunks : blockCount(chunks, ranks.group.size);
    started = performance.now();
    reduceAndMeasure(this.reduce, kernel, at, summed, this.share.params, buffers.blockSquares);
    let updateSeconds = seconds(started);
    this.meet('gradient-measured');
    started = performance.now();
    const norm = gradientNorm(buffers.blockSquares);
    const [from, to] = this.share.params;
    if (!Number.isFinite(norm)) {
      const gradient = ranks === undefined ? buffers.slots : ranks.sums;
      const bad = firstNonFinite(gradient, from, to);
      return { outcome: 'non-finite-gradient', at: bad, value: bad < 0 ? 0 : gradient[bad], gradientSeconds, updateSeconds, maxNormSeconds: 0, exchangeSeconds, stopAgreed };
    }
    const lr = order.lr ?? learningRateAt(optimizer.lr, optimizer.schedule, order.step, order.epoch);
    kernel.update(optimizer, at, order.step + 1, lr, clipFactor(norm, optimizer.clipNorm), from, to);
    // The running statistics are small: one party of each rank folds the step's chunks into them.
    if (model.statisticsSize > 0 && party.index === 0) model.updateRunningStatistics(combineChunkStatistics(buffers.chunkStatistics, model.statisticsSize, chunks));
    updateSeconds += seconds(started);
    const updated = { outcome: 'updated', at: -1, value: 0, gradientSeconds, updateSeconds, maxNormSeconds: 0, exchangeSeconds, stopAgreed } as const;
    if (this.constraints.rows === 0) return updated;

    // Constrained rows cut across parameter ranges: every range must be updated first.
    this.meet('parameters-updated');
    started = performance.now();
    applyMaxNorm(model.params, this.constraints, ...this.share.maxNormRows);
    return { ...updated, maxNormSeconds: seconds(started) };
  }

  private meet(meeting: StepMeeting): void {
    this.setup.party.meet(meeting, ++this.meetings, this.idle);
  }

  /** The samples of a batch that this party's chunks hold: those it gathers when it takes that step. */
  ownSamples(samples: Uint32Array): Uint32Array {
    const { party, ranks, chunkSize } = this.setup;
    const chunks = Math.ceil(samples.length / chunkSize);
    const [first, end] = ranks === undefined ? [0, chunks] : rankBlock(chunks, ranks.group.rank, ranks.group.size);
    const own: number[] = [];
    for (let chunk = first + party.index; chunk < end; chunk += party.count) {
      for (let row = chunk * chunkSize; row < Math.min((chunk + 1) * chunkSize, samples.length); row++) own.push(samples[row]);
    }
    return Uint32Array.from(own);
  }

  /**
   * Sums this rank's block of chunk slots [first, end) into its first slot (a subtree of the pairwise
   * tree), then one party of the rank exchanges that sum, and the block's chunk losses, with every
   * rank: afterwards every party sees all ranks' block sums and every chunk's loss.
   */
  private exchangeBlocks(ranks: RankExchange, order: StepOrder, chunks: number, first: number, end: number): { seconds: number; stopAgreed: boolean; stopBefore: boolean } {
    const { kernel, at, model, buffers, party } = this.setup;
    const [from, to] = this.share.params;
    const slotBytes = 4 * model.size;
    if (end > first) kernel.sumSlots({ ...at, slots: at.slots + first * slotBytes }, end - first, from, to);
    this.meet('blocks-reduced');
    const started = performance.now();
    if (party.index === 0) {
      // A rank without a block still takes part; what it sends is never summed.
      const ownSum = buffers.slots.subarray(first * model.size, (first + 1) * model.size);
      ranks.group.allgather(ownSum.length === model.size ? ownSum : buffers.slots.subarray(0, model.size), ranks.sums);
      const { maxChunks, scalars } = ranks;
      const width = model.statisticsSize;
      const stride = rankScalars(maxChunks, width);
      const own = this.ownScalars;
      own.fill(0);
      own.set(buffers.chunkLoss.subarray(first, end));
      own.set(buffers.chunkCorrect.subarray(first, end), maxChunks);
      own.set(buffers.chunkStatistics.subarray(first * width, end * width), 2 * maxChunks);
      // A wish to stop: 1 after this step (a signal), 2 before it (a callback's, after the previous step).
      own[stride - 1] = order.stopBefore === true ? 2 : order.stopWanted === true ? 1 : 0;
      ranks.group.allgather(own, scalars);
      const size = chunksPerBlock(chunks, ranks.group.size);
      for (let chunk = 0; chunk < chunks; chunk++) {
        const rank = Math.floor(chunk / size);
        const offset = rank * stride + (chunk - rank * size);
        buffers.chunkLoss[chunk] = scalars[offset];
        buffers.chunkCorrect[chunk] = scalars[offset + maxChunks];
        // Copied, never added: every rank then merges all chunks' statistics in the same tree.
        const statistics = rank * stride + 2 * maxChunks + (chunk - rank * size) * width;
        buffers.chunkStatistics.set(scalars.subarray(statistics, statistics + width), chunk * width);
      }
    }
    const exchangeSeconds = party.index === 0 ? seconds(started) : 0;
    this.meet('blocks-exchanged');
    // Read after the meeting: party 0 of this rank wrote every rank's wish before it.
    const stride = rankScalars(ranks.maxChunks, model.statisticsSize);
    let stopAgreed = false;
    let stopBefore = false;
    for (let rank = 0; rank < ranks.group.size; rank++) {
      const wish = ranks.scalars[rank * stride + stride - 1];
      stopAgreed ||= wish === 1;
      stopBefore ||= wish === 2;
    }
    return { seconds: exchangeSeconds, stopAgreed, stopBefore };
  }

  /** Chunk `chunk`'s gradient into its slot, its loss sum and correct count into the buffers. */
  private computeChunk(order: StepOrder, chunk: number): void {
    const { model, data, chunkSize, buffers } = this.setup;
    const from = chunk * chunkSize;
    const to = Math.min(from + chunkSize, order.samples.length);
    const samples = order.samples.subarray(from, to);
    this.batch.gather(samples);
    if (this.setup.augment !== undefined) augmentGatheredRows(data.sampleShape, samples, this.batch.inputs, this.setup.augment, order.epoch, this.augmentScratch);
    const rows = to - from;
    const inputs = { inputs: this.batch.inputs.subarray(0, rows * data.sampleSize), targets: sliceTargets(this.batch.targets, 0, rows), samples };
    const slot = buffers.slots.subarray(chunk * model.size, (chunk + 1) * model.size);
    const width = model.statisticsSize;
    if (width > 0) model.bindStatistics(buffers.chunkStatistics.subarray(chunk * width, (chunk + 1) * width));
    const result = chunkGradient(model, this.setup.loss, inputs, order.samples.length, order.step, this.setup.dropoutKey, slot);
    buffers.chunkLoss[chunk] = result.sum;
    buffers.chunkCorrect[chunk] = result.correct;
  }
}
