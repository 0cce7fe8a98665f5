import { afterEach, describe, expect, it } from 'vitest';
import { adam, fit, modelFromSpec, syntheticClassification, type EpochMetrics } from '@lockstep/core';
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

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
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
