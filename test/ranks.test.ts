import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adam, fit, modelFromSpec, syntheticClassification, type EpochMetrics, type Evaluation, type Uncertainty } from '@lockstep/core';
import { sharedMemoryRanks, Trainer } from '@lockstep/workers';
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
