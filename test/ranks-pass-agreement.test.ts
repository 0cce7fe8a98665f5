import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adam, Dataset, fingerprint, modelFromSpec, syntheticClassification, type Evaluation, type ModelSpec, type Uncertainty, type UncertaintyOptions, type UncertaintyOutputs } from '@lockstep/core';
import { sharedMemoryRanks, Trainer, type TrainerOptions } from '@lockstep/workers';

// evaluate, predict and predictWithUncertainty across ranks compare the call on every rank before any
// block, as fit does: each case runs the call on two ranks joined in shared memory, rank 1 given
// something else, and expects the same line from both (or rank 1's own error from rank 1).

// 300 rows: blocks of 256 and 44, one a rank.
const rows = syntheticClassification({ seed: 43, samples: 300, features: 16, classes: 4 });
const changedRows = syntheticClassification({ seed: 43, samples: 300, features: 16, classes: 4 });
changedRows.inputs[5] = 0.5;
const narrowRows = syntheticClassification({ seed: 43, samples: 300, features: 8, classes: 4 });
const valueTargets = new Dataset(rows.inputs, [16], { kind: 'values', values: new Float32Array(300 * 4), width: 4 });
const spec: ModelSpec = {
  input: [16],
  layers: [{ type: 'linear', out: 32 }, { type: 'relu' }, { type: 'dropout', p: 0.3 }, { type: 'linear', out: 4 }],
};
const base = { model: spec, seed: 9, optimizer: adam({ lr: 0.01 }), chunkSize: 16, workers: 1, kernel: 'strict' } as const;
const mcOptions = { samples: 4, seed: 2 };
const uncertaintyFields = ['mean', 'std', 'entropy', 'mutualInformation'] as const;

const SAME_WEIGHTS = 'give every rank the same parameters and buffers (the same model and seed, or the same fit, loadStateDict or load)';
const otherWeights = `parameter fingerprint ${fingerprint(modelFromSpec(spec, 10))}, rank 0 has ${fingerprint(modelFromSpec(spec, 9))}; ${SAME_WEIGHTS}`;
const inputsOf = (digest: string): string => `a Float32Array of 300 rows of [16] (digest ${digest})`;
const ROWS_DIGEST = inputsOf('0c312506c103e85e');
const CHANGED_DIGEST = inputsOf('77d5ff2e4a2c25c6');

type Outcome = { value: unknown } | { code: string; message: string };

/** Two ranks of one worker each, rank 1 given `rank1`'s trainer options; made once per kind and closed at the end. */
const pairs = new Map<string, Trainer[]>();
function ranksWith(rank1: Partial<TrainerOptions> = {}): Trainer[] {
  const key = JSON.stringify(rank1);
  if (!pairs.has(key)) pairs.set(key, sharedMemoryRanks(2, 4096).map((group, rank) => new Trainer({ ...base, ...(rank === 1 ? rank1 : {}), ranks: group })));
  return pairs.get(key)!;
}
afterAll(async () => {
  await Promise.all([...pairs.values()].flat().map((trainer) => trainer.close()));
});

/** Every rank's outcome of `call`, all ranks at once: its value, or its error's code and message. */
async function onEveryRank(trainers: Trainer[], call: (trainer: Trainer, rank: number) => Promise<unknown>): Promise<Outcome[]> {
  const settled = await Promise.allSettled(trainers.map(call));
  return settled.map((outcome) => (outcome.status === 'fulfilled' ? { value: outcome.value } : { code: outcome.reason.code, message: outcome.reason.message }));
}

/** The same line on both ranks. */
const both = (code: string, message: string): Outcome[] => [
  { code, message },
  { code, message },
];

/** Rank 1's own error on rank 1, and the line naming it on rank 0. */
const refusedByRank1 = (call: string, what: string, code: string, own: string): Outcome[] => [
  { code, message: `Trainer.${call} across 2 ranks: rank 1 refused ${what}: ${own}` },
  { code, message: own },
];

const bytes = (array: Float32Array | Float64Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

let alone: { evaluation: Evaluation; outputs: Float32Array; mc: Uncertainty };
beforeAll(async () => {
  const trainer = new Trainer(base);
  try {
    alone = { evaluation: await trainer.evaluate(rows), outputs: await trainer.predict(rows.inputs), mc: await trainer.predictWithUncertainty(rows.inputs, mcOptions) };
  } finally {
    await trainer.close();
  }
});

describe('Trainer.evaluate across ranks compares the call on every rank before any block', () => {
  const across = 'Trainer.evaluate across 2 ranks: rank 1 has';
  it.each<[string, Partial<TrainerOptions>, Dataset, Outcome[]]>([
    [
      'other data (one value of one sample)',
      {},
      changedRows,
      both('E_OPTION', `${across} data 300 samples of [16] (digest 5c94b2fc56c100aa), rank 0 has 300 samples of [16] (digest 074bf897c94c3581); give every rank's evaluate the same data`),
    ],
    ['value targets, so another loss', {}, valueTargets, both('E_OPTION', `${across} loss mse, rank 0 has cross-entropy; give every rank's evaluate the same loss`)],
    ['other weights (another seed)', { seed: 10 }, rows, both('E_OPTION', `${across} ${otherWeights}`)],
    ['samples of another shape, which its own check refuses', {}, narrowRows, refusedByRank1('evaluate', 'the evaluation', 'E_SHAPE', 'data: samples have shape [8] but the model takes [16]')],
  ])('rank 1 given %s: one line on every rank', async (_name, rank1, data, expected) => {
    expect(await onEveryRank(ranksWith(rank1), (trainer, rank) => trainer.evaluate(rank === 1 ? data : rows))).toEqual(expected);
  });

  it('ranks that agree (after those refusals, on the same trainers) return what one trainer returns', async () => {
    const evaluations = await onEveryRank(ranksWith(), (trainer) => trainer.evaluate(rows));
    expect(evaluations).toEqual([{ value: alone.evaluation }, { value: alone.evaluation }]);
  });
});

describe('Trainer.predict across ranks compares the call on every rank before any block', () => {
  const across = 'Trainer.predict across 2 ranks: rank 1 has';
  it.each<[string, Partial<TrainerOptions>, Float32Array | Dataset, Outcome[]]>([
    ['other inputs (one value of one row)', {}, changedRows.inputs, both('E_OPTION', `${across} inputs ${CHANGED_DIGEST}, rank 0 has ${ROWS_DIGEST}; give every rank's predict the same inputs`)],
    [
      'the same rows in a Dataset',
      {},
      rows,
      both('E_OPTION', `${across} inputs a Dataset of 300 samples of [16] (digest 074bf897c94c3581), rank 0 has ${ROWS_DIGEST}; give every rank's predict the same inputs`),
    ],
    ['another kernel', { kernel: 'relaxed' }, rows.inputs, both('E_OPTION', `${across} kernel relaxed, rank 0 has strict; give every rank's new Trainer the same kernel`)],
    ['other weights (another seed)', { seed: 10 }, rows.inputs, both('E_OPTION', `${across} ${otherWeights}`)],
    [
      'rows of another width, which its own check refuses',
      {},
      new Float32Array(300 * 16 + 3),
      refusedByRank1('predict', 'the prediction', 'E_SHAPE', 'input has 4803 values, not a whole number of samples of shape [16]'),
    ],
  ])('rank 1 given %s: one line on every rank', async (_name, rank1, inputs, expected) => {
    expect(await onEveryRank(ranksWith(rank1), (trainer, rank) => trainer.predict(rank === 1 ? inputs : rows.inputs))).toEqual(expected);
  });

  it('ranks that agree (after those refusals, on the same trainers) return the bits of one trainer, for rows and for a Dataset', async () => {
    for (const inputs of [rows.inputs, rows]) {
      const outcomes = await onEveryRank(ranksWith(), (trainer) => trainer.predict(inputs));
      for (const [rank, outcome] of outcomes.entries()) expect(bytes((outcome as { value: Float32Array }).value).equals(bytes(alone.outputs)), `rank ${rank}`).toBe(true);
    }
  });
});

describe('Trainer.predictWithUncertainty across ranks compares the call on every rank before any block', () => {
  const across = 'Trainer.predictWithUncertainty across 2 ranks: rank 1 has';
  const fix = (option: string): string => `give every rank's predictWithUncertainty the same ${option}`;
  it.each<[string, Partial<TrainerOptions>, Float32Array, UncertaintyOptions<UncertaintyOutputs>, Outcome[]]>([
    ['other inputs (one value of one row)', {}, changedRows.inputs, mcOptions, both('E_OPTION', `${across} inputs ${CHANGED_DIGEST}, rank 0 has ${ROWS_DIGEST}; ${fix('inputs')}`)],
    ['another seed', {}, rows.inputs, { ...mcOptions, seed: 3 }, both('E_OPTION', `${across} seed 3, rank 0 has 2; ${fix('seed')}`)],
    ['other samples', {}, rows.inputs, { ...mcOptions, samples: 5 }, both('E_OPTION', `${across} samples 5, rank 0 has 4; ${fix('samples')}`)],
    ['other outputs', {}, rows.inputs, { ...mcOptions, outputs: 'raw' }, both('E_OPTION', `${across} outputs raw, rank 0 has probabilities; ${fix('outputs')}`)],
    ['other weights (another seed)', { seed: 10 }, rows.inputs, mcOptions, both('E_OPTION', `${across} ${otherWeights}`)],
    [
      'rows of another width, which its own check refuses',
      {},
      new Float32Array(300 * 16 + 3),
      mcOptions,
      refusedByRank1('predictWithUncertainty', 'the prediction', 'E_SHAPE', 'input has 4803 values, not a whole number of samples of shape [16]'),
    ],
  ])('rank 1 given %s: one line on every rank', async (_name, rank1, inputs, options, expected) => {
    const outcomes = await onEveryRank(ranksWith(rank1), (trainer, rank) => (rank === 1 ? trainer.predictWithUncertainty(inputs, options) : trainer.predictWithUncertainty(rows.inputs, mcOptions)));
    expect(outcomes).toEqual(expected);
  });

  it('ranks that agree (after those refusals, on the same trainers) return the bits of one trainer', async () => {
    const outcomes = await onEveryRank(ranksWith(), (trainer) => trainer.predictWithUncertainty(rows.inputs, mcOptions));
    for (const [rank, outcome] of outcomes.entries()) {
      const mc = (outcome as { value: Uncertainty }).value;
      for (const field of uncertaintyFields) expect(bytes(mc[field]).equals(bytes(alone.mc[field])), `rank ${rank} ${field}`).toBe(true);
    }
  });
});

it('ranks in different calls (evaluate on rank 0, predict on rank 1) both throw one line rather than exchange unlike results', async () => {
  const outcomes = await onEveryRank(ranksWith(), (trainer, rank) => (rank === 0 ? trainer.evaluate(rows) : trainer.predict(rows.inputs)));
  expect(outcomes).toEqual(both('E_OPTION', 'Trainer.evaluate across 2 ranks: rank 1 called predict, rank 0 evaluate; make the same Trainer calls on every rank, in the same order'));
});
