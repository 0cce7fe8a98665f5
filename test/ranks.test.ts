import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adam, fingerprint, fit, modelFromSpec, sgd, syntheticClassification, type EpochMetrics, type Evaluation, type Uncertainty } from '@lockstep/core';
import { mpiAvailable } from '@lockstep/mpi';
import { sharedMemoryRanks, Trainer } from '@lockstep/workers';
import { mpirun } from '../packages/mpi/test/mpirun.js';
import { RANK_SHAPES } from './helpers/rank-shapes.js';

// 1,000 samples in batches of 112 and chunks of 16: 7 chunks a step (the last batch of 104 too), a
// count that is neither a power of two nor a multiple of 2, 3 or 4 ranks.
const data = syntheticClassification({ seed: 41, samples: 1000, features: 16, classes: 4 });
const validation = syntheticClassification({ seed: 42, samples: 200, features: 16, classes: 4 });
const spec = {
  input: [16],
  layers: [
    { type: 'linear', out: 48 },
    { type: 'relu' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 48, maxNorm: 1.5 },
    { type: 'relu' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 4 },
  ],
};
const optimizer = adam({ lr: 0.01 });
const settings = { batchSize: 112, seed: 9 };
const chunkSize = 16;

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const bytes = (array: Float32Array | Float64Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
const lossesOf = (history: EpochMetrics[]): Array<number | null> => history.flatMap((m) => [m.loss, m.accuracy, m.valLoss]);

/** `ranks` trainers of `workers` threads each, joined in shared memory, trained together; rank 0's run. */
async function trainAcrossRanks(ranks: number, workers: number, epochs: number): Promise<{ trainers: Trainer[]; history: EpochMetrics[] }> {
  const size = modelFromSpec(spec, 0).size;
  const groups = sharedMemoryRanks(ranks, Math.max(4 * size, 16 * Math.ceil(settings.batchSize / chunkSize)));
  const trainers = groups.map((group) => new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize, workers, ranks: group }));
  open.push(...trainers);
  const runs = await Promise.all(trainers.map((trainer) => trainer.fit(data, { epochs, batchSize: settings.batchSize, validation })));
  return { trainers, history: runs[0]!.history };
}

describe('ranks split the chunks in aligned blocks and end on the bits of one trainer', () => {
  const reference = modelFromSpec(spec, settings.seed);
  const referenceRun = fit(reference, data, { ...settings, chunkSize, epochs: 2, optimizer, validation });

  it.each(RANK_SHAPES)('%i rank(s) x %i worker(s): parameters, optimizer state and metrics equal the reference trainer', async (ranks, workers) => {
    const { trainers, history } = await trainAcrossRanks(ranks, workers, 2);
    for (const [rank, trainer] of trainers.entries()) {
      expect(trainer.state.step, `rank ${rank} steps`).toBe(18);
      expect(bytes(trainer.params).equals(bytes(reference.params)), `rank ${rank} parameters`).toBe(true);
      expect(bytes(trainer.state.optimizerState).equals(bytes(referenceRun.state.optimizerState)), `rank ${rank} optimizer state`).toBe(true);
    }
    expect(lossesOf(history)).toEqual(lossesOf(referenceRun.history));
  });
});

describe('eval-mode passes across ranks: each rank computes its share of the row blocks, and every rank gets the bytes of one trainer', () => {
  // 600 rows: blocks of 256, 256 and 88, which 2 ranks split 2 + 1, 3 ranks 1 + 1 + 1, and 4 ranks leave the last without one.
  const rows = syntheticClassification({ seed: 43, samples: 600, features: 16, classes: 4 });
  const mcOptions = { samples: 4, seed: 2 };
  const fields = ['mean', 'std', 'entropy', 'mutualInformation'] as const;
  let expected: { evaluation: Evaluation; outputs: Float32Array; mc: Uncertainty };

  beforeAll(async () => {
    const alone = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize, workers: 1 });
    try {
      expected = { evaluation: await alone.evaluate(rows), outputs: await alone.predict(rows.inputs), mc: await alone.predictWithUncertainty(rows.inputs, mcOptions) };
    } finally {
      await alone.close();
    }
  });

  it.each([
    [2, 1],
    [3, 1],
    [4, 1],
    [2, 2],
  ])('%i ranks x %i worker(s): evaluate, predict and Monte Carlo dropout', async (ranks, workers) => {
    // Slots of 1,000 bytes: a rank's share of the outputs travels in several allgathers.
    const trainers = sharedMemoryRanks(ranks, 1000).map((group) => new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize, workers, ranks: group }));
    open.push(...trainers);
    const evaluations = await Promise.all(trainers.map((trainer) => trainer.evaluate(rows)));
    const outputs = await Promise.all(trainers.map((trainer) => trainer.predict(rows.inputs)));
    const mcs = await Promise.all(trainers.map((trainer) => trainer.predictWithUncertainty(rows.inputs, mcOptions)));
    for (let rank = 0; rank < ranks; rank++) {
      expect(evaluations[rank], `rank ${rank} evaluate`).toEqual(expected.evaluation);
      expect(bytes(outputs[rank]!).equals(bytes(expected.outputs)), `rank ${rank} predict`).toBe(true);
      for (const field of fields) expect(bytes(mcs[rank]![field]).equals(bytes(expected.mc[field])), `rank ${rank} ${field}`).toBe(true);
    }
  });
});

describe('a fit across ranks whose ranks disagree stops on every rank before any step, with one line', () => {
  const base = { model: spec, seed: settings.seed, optimizer, chunkSize, workers: 1 };
  const groupBytes = Math.max(4 * modelFromSpec(spec, 0).size, 16 * Math.ceil(settings.batchSize / chunkSize));
  const across = 'Trainer.fit across 3 ranks: rank 1 has';
  const changedData = syntheticClassification({ seed: 41, samples: 1000, features: 16, classes: 4 });
  changedData.inputs[5] = 0.5;
  const adamOf = (lr: number): string => `{"kind":"adam","lr":${lr},"beta1":0.9,"beta2":0.999,"eps":1e-8,"weightDecay":0,"schedule":{"kind":"constant"}}`;

  interface Rank1 {
    trainer?: Partial<ConstructorParameters<typeof Trainer>[0]>;
    fit?: { epochs?: number; batchSize?: number };
    data?: typeof data;
    before?: (trainer: Trainer) => void;
  }

  /** Three ranks of one worker, rank 1 given `rank1`'s settings: every rank's fit of one epoch, settled, and each rank's step before it. */
  async function fitWithRank1(rank1: Rank1): Promise<{ trainers: Trainer[]; outcomes: PromiseSettledResult<unknown>[]; milliseconds: number; stepsBefore: number[] }> {
    const trainers = sharedMemoryRanks(3, groupBytes).map((group, rank) => new Trainer({ ...base, ...(rank === 1 ? rank1.trainer : {}), ranks: group }));
    open.push(...trainers);
    rank1.before?.(trainers[1]!);
    const stepsBefore = trainers.map((trainer) => trainer.state.step);
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      trainers.map((trainer, rank) => trainer.fit(rank === 1 ? (rank1.data ?? data) : data, { epochs: 1, batchSize: settings.batchSize, ...(rank === 1 ? rank1.fit : {}) })),
    );
    return { trainers, outcomes, milliseconds: performance.now() - started, stepsBefore };
  }

  const reasons = (outcomes: PromiseSettledResult<unknown>[]): unknown[] => outcomes.map((outcome) => (outcome.status === 'rejected' ? { code: outcome.reason.code, message: outcome.reason.message } : 'fulfilled'));

  it.each<[string, Rank1, string]>([
    ['chunkSize', { trainer: { chunkSize: 8 } }, `${across} chunkSize 8, rank 0 has 16; give every rank's new Trainer the same chunkSize`],
    ['seed', { trainer: { seed: 10 } }, `${across} seed 10, rank 0 has 9; give every rank's new Trainer the same seed`],
    ['optimizer', { trainer: { optimizer: adam({ lr: 0.02 }) } }, `${across} optimizer ${adamOf(0.02)}, rank 0 has ${adamOf(0.01)}; give every rank's new Trainer the same optimizer`],
    ['batchSize', { fit: { batchSize: 50 } }, `${across} batchSize 50, rank 0 has 112; give every rank's fit the same batchSize`],
    ['epochs', { fit: { epochs: 2 } }, `${across} epochs 2, rank 0 has 1; give every rank's fit the same epochs`],
    ['data (one value of one sample)', { data: changedData }, `${across} data 1000 samples of [16] (digest c832234611bb3ba6), rank 0 has 1000 samples of [16] (digest 45c8263b0df8d398); give every rank's fit the same data`],
    [
      'parameters (a model initialized from another seed)',
      { trainer: { model: modelFromSpec(spec, 10) } },
      `${across} parameter fingerprint ${fingerprint(modelFromSpec(spec, 10))}, rank 0 has ${fingerprint(modelFromSpec(spec, settings.seed))}; start every rank from the same parameters (the same model and seed, or the same loadStateDict or load)`,
    ],
    [
      'training state (loaded at step 3)',
      { before: (trainer) => trainer.load({ params: trainer.params.slice(), optimizerState: new Float32Array(trainer.state.optimizerState.length), state: { step: 3, epoch: 0, batch: 3, epochLossSum: 4, epochCorrect: 100 } }) },
      `${across} training state step 3 (epoch 0, batch 3; digest 3a7842d5e3e2b53d), rank 0 has step 0 (epoch 0, batch 0; digest 0dac1b1e9bfbee4e); start every rank from the same training state (load the same checkpoint on every rank)`,
    ],
  ])('rank 1 given another %s: the same E_OPTION line on every rank, naming it and both values, within seconds, no step taken and the trainers open', async (_name, rank1, message) => {
    const { trainers, outcomes, milliseconds, stepsBefore } = await fitWithRank1(rank1);
    expect(reasons(outcomes)).toEqual(Array(3).fill({ code: 'E_OPTION', message }));
    expect(milliseconds).toBeLessThan(10_000);
    expect(trainers.map((trainer) => trainer.state.step)).toEqual(stepsBefore);
    expect(trainers.map((trainer) => trainer.isClosed)).toEqual([false, false, false]);
  });

  it("a rank whose own checks refuse the fit throws its own error, and the others name it at once rather than wait for it", async () => {
    const { outcomes, milliseconds } = await fitWithRank1({ trainer: { chunkSize: 200 } });
    const own = 'chunkSize (200) must not exceed batchSize (112); lower chunkSize in new Trainer({ chunkSize }), or raise batchSize';
    const told = { code: 'E_OPTION', message: `Trainer.fit across 3 ranks: rank 1 refused the fit: ${own}` };
    expect(reasons(outcomes)).toEqual([told, { code: 'E_OPTION', message: own }, told]);
    expect(milliseconds).toBeLessThan(10_000);
  });
});

describe.skipIf(!mpiAvailable())('the same check across MPI ranks (test/fixtures/mpi-fit.mjs under mpirun)', () => {
  const script = new URL('./fixtures/mpi-fit.mjs', import.meta.url);

  it('rank 1 given chunkSize 8: the same E_OPTION line on both ranks, exit 1; given 16: the bits of one trainer', () => {
    const line = "E_OPTION: Trainer.fit across 2 ranks: rank 1 has chunkSize 8, rank 0 has 16; give every rank's new Trainer the same chunkSize";
    const refused = mpirun(2, script, ['8']);
    expect(refused.stdout.split('\n').filter(Boolean).sort()).toEqual([`rank 0: ${line}`, `rank 1: ${line}`]);
    expect(refused.status).toBe(1);

    const reference = modelFromSpec({ input: [16], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 4 }] }, 9);
    fit(reference, syntheticClassification({ seed: 41, samples: 400, features: 16, classes: 4 }), { epochs: 1, batchSize: 112, chunkSize: 16, seed: 9, optimizer: sgd({ lr: 0.1 }) });
    const agreed = mpirun(2, script, ['16']);
    expect(agreed.stdout.split('\n').filter(Boolean).sort()).toEqual([0, 1].map((rank) => `rank ${rank}: fingerprint ${fingerprint(reference)}`));
    expect(agreed.status).toBe(0);
  });
});
