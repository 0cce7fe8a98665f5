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
import { shareOf, type Party, type PartyShare } from './party.js';
import { localReduce, reduceAndMeasure, type ChunkReduce } from './reduce.js';

/** One optimizer step to take. */
export interface StepOrder {
  /** Optimizer steps taken before this one: it keys the dropout masks, and the update counts it + 1. */
  readonly step: number;
  /** The batch's sample indices; chunk c is rows [c * chunkSize, (c + 1) * chunkSize) of it. */
  readonly samples: Uint32Array;
}

export const STEP_OUTCOMES = ['updated', 'non-finite-loss', 'non-finite-gradient'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** What one party saw of a step. Every party sees the same outcome. */
export interface StepReport {
  /** Anything but 'updated' means no party changed a parameter. */
  readonly outcome: StepOutcome;
  /** The first chunk with a non-finite loss, or the first parameter of this party's range with a non-finite gradient; -1 when none. */
  readonly at: number;
  readonly value: number;
  /** Seconds this party computed chunk gradients, reduced and updated, and constrained rows; meetings excluded. */
  readonly gradientSeconds: number;
  readonly updateSeconds: number;
  readonly maxNormSeconds: number;
}

/** Where a party keeps a step's intermediate values: views of memory every party of the step shares. */
export interface StepBuffers {
  /** One gradient slot of the model's size per chunk, end to end, in the update kernel's memory at `at.slots`. */
  readonly slots: Float32Array;
  readonly chunkLoss: Float64Array;
  readonly chunkCorrect: Float64Array;
  /** One sum of squares per norm block of the parameters. */
  readonly blockSquares: Float64Array;
}

export interface StepSetup {
  /** The party's model, its parameters the ones the update writes (at `at.params`). */
  readonly model: Model;
  readonly loss: Loss;
  readonly data: Dataset;
  readonly chunkSize: number;
  readonly dropoutKey: Key;
  readonly optimizer: OptimizerConfig;
  readonly kernel: UpdateKernel;
  readonly at: UpdateAddresses;
  readonly buffers: StepBuffers;
  readonly party: Party;
  /** Default: `localReduce`, the slots summed where they lie. */
  readonly reduce?: ChunkReduce;
}

const seconds = (since: number): number => (performance.now() - since) / 1000;

/**
 * One optimizer step, written once for every trainer (docs/design.md, "One optimizer step"). Each
 * party computes its chunks' gradients into their slots; they meet; each sums the slots over its
 * parameter range in the pairwise tree and measures the range; they meet; each computes the global
 * norm from every range's measure, clips and updates its range; with max-norm layers they meet once
 * more and each constrains its rows. A non-finite loss or gradient is detected here, and only here:
 * every party then stops before changing a parameter.
 */
export class StepEngine {
  private readonly setup: StepSetup;
  private readonly reduce: ChunkReduce;
  private readonly constraints: MaxNormPlan;
  private readonly share: PartyShare;
  private readonly batch: Batch;

  constructor(setup: StepSetup) {
    this.setup = setup;
    this.reduce = setup.reduce ?? localReduce(setup.kernel, setup.at);
    this.constraints = maxNormPlan(setup.model.entries);
    this.share = shareOf(setup.party, setup.model.size, this.constraints);
    this.batch = new Batch(setup.data, Math.min(setup.chunkSize, setup.data.size));
  }

  run(order: StepOrder): StepReport {
    const { party, buffers, kernel, at, optimizer, model } = this.setup;
    const chunks = Math.ceil(order.samples.length / this.setup.chunkSize);
    let started = performance.now();
    model.train();
    for (let chunk = party.index; chunk < chunks; chunk += party.count) this.computeChunk(order, chunk);
    const gradientSeconds = seconds(started);
    party.meet('gradients-computed');
    const badChunk = firstNonFinite(buffers.chunkLoss, 0, chunks);
    if (badChunk >= 0) return { outcome: 'non-finite-loss', at: badChunk, value: buffers.chunkLoss[badChunk], gradientSeconds, updateSeconds: 0, maxNormSeconds: 0 };

    started = performance.now();
    reduceAndMeasure(this.reduce, kernel, at, chunks, this.share.params, buffers.blockSquares);
    let updateSeconds = seconds(started);
    party.meet('gradient-measured');
    started = performance.now();
    const norm = gradientNorm(buffers.blockSquares);
    const [from, to] = this.share.params;
    if (!Number.isFinite(norm)) {
      const bad = firstNonFinite(buffers.slots, from, to);
      return { outcome: 'non-finite-gradient', at: bad, value: bad < 0 ? 0 : buffers.slots[bad], gradientSeconds, updateSeconds, maxNormSeconds: 0 };
    }
    const lr = learningRateAt(optimizer.lr, optimizer.schedule, order.step);
    kernel.update(optimizer, at, order.step + 1, lr, clipFactor(norm, optimizer.clipNorm), from, to);
    updateSeconds += seconds(started);
    const updated = { outcome: 'updated', at: -1, value: 0, gradientSeconds, updateSeconds, maxNormSeconds: 0 } as const;
    if (this.constraints.rows === 0) return updated;

    // Constrained rows cut across parameter ranges: every range must be updated first.
    party.meet('parameters-updated');
    started = performance.now();
    applyMaxNorm(model.params, this.constraints, ...this.share.maxNormRows);
    return { ...updated, maxNormSeconds: seconds(started) };
  }

  /** Chunk `chunk`'s gradient into its slot, its loss sum and correct count into the buffers. */
  private computeChunk(order: StepOrder, chunk: number): void {
    const { model, data, chunkSize, buffers } = this.setup;
    const from = chunk * chunkSize;
    const to = Math.min(from + chunkSize, order.samples.length);
    const samples = order.samples.subarray(from, to);
    this.batch.gather(samples);
    const rows = to - from;
    const inputs = { inputs: this.batch.inputs.subarray(0, rows * data.sampleSize), targets: sliceTargets(this.batch.targets, 0, rows), samples };
    const slot = buffers.slots.subarray(chunk * model.size, (chunk + 1) * model.size);
    this.setup.kernel.zero(slot);
    const result = chunkGradient(model, this.setup.loss, inputs, order.samples.length, order.step, this.setup.dropoutKey, slot, { slotIsZero: true });
    buffers.chunkLoss[chunk] = result.sum;
    buffers.chunkCorrect[chunk] = result.correct;
  }
}
