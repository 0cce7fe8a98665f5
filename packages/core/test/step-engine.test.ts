import { describe, expect, it } from 'vitest';
import {
  adam,
  dropoutRunKey,
  localReduce,
  lossByName,
  modelFromSpec,
  NORM_BLOCK,
  SOLE_PARTY,
  StepEngine,
  syntheticClassification,
  type ChunkReduce,
  type StepReport,
} from '@lockstep/core';
import { UpdateWorkspace } from '../src/optim/update-workspace.js';

// 20 x 300 + 300 weights and biases, then 300 x 3 + 3: 7,203 parameters, two norm blocks.
const spec = { input: [20], layers: [{ type: 'linear', out: 300 }, { type: 'relu' }, { type: 'dropout', p: 0.25 }, { type: 'linear', out: 3 }] };
const data = syntheticClassification({ seed: 3, samples: 96, features: 20, classes: 3 });
const optimizer = adam({ lr: 0.01 });
const chunkSize = 16;
const samples = Uint32Array.from({ length: 40 }, (_, i) => (i * 7) % data.size);

/** A sole party's engine over a fresh model, summing the chunk slots through `reduce` (default: where they lie). */
function engineWith(reduce?: (local: ChunkReduce, slots: Float32Array) => ChunkReduce): { engine: StepEngine; params: Float32Array } {
  const model = modelFromSpec(spec, 11);
  const work = new UpdateWorkspace(model.size, 2, Math.ceil(samples.length / chunkSize));
  work.params.set(model.params);
  model.bind(work.params, model.grads);
  const buffers = { slots: work.slots, chunkLoss: new Float64Array(3), chunkCorrect: new Float64Array(3), chunkStatistics: new Float64Array(0), blockSquares: work.blockSquares };
  const local = localReduce(work.kernel, work.at);
  const engine = new StepEngine({
    model,
    loss: lossByName('cross-entropy'),
    data,
    chunkSize,
    dropoutKey: dropoutRunKey(5),
    optimizer,
    kernel: work.kernel,
    at: work.at,
    buffers,
    party: SOLE_PARTY,
    reduce: reduce?.(local, work.slots),
  });
  return { engine, params: work.params };
}

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

describe('the step engine\'s reduce seam', () => {
  it('is asked for every norm block of the party\'s range, with the chunk count, and a reduce passed in gives the same bits', () => {
    const calls: Array<[number, number, number]> = [];
    const seam = engineWith((local) => ({
      sum: (chunks, from, to) => {
        calls.push([chunks, from, to]);
        local.sum(chunks, from, to);
      },
    }));
    const plain = engineWith();
    for (let step = 0; step < 3; step++) {
      expect(seam.engine.run({ step, samples }).outcome).toBe('updated');
      expect(plain.engine.run({ step, samples }).outcome).toBe('updated');
    }
    expect(calls.slice(0, 2)).toEqual([
      [3, 0, NORM_BLOCK],
      [3, NORM_BLOCK, 7203],
    ]);
    expect(calls).toHaveLength(6);
    expect(bytes(seam.params).equals(bytes(plain.params))).toBe(true);
  });

  it('a non-finite sum stops the step in the engine, naming the first bad parameter, before any parameter changes', () => {
    const { engine, params } = engineWith((local, slots) => ({
      sum: (chunks, from, to) => {
        local.sum(chunks, from, to);
        if (from === NORM_BLOCK) slots[NORM_BLOCK + 5] = Number.NaN;
      },
    }));
    const before = params.slice();
    const report: StepReport = engine.run({ step: 0, samples });
    expect(report).toMatchObject({ outcome: 'non-finite-gradient', at: NORM_BLOCK + 5 });
    expect(report.value).toBeNaN();
    expect(bytes(params).equals(bytes(before))).toBe(true);
  });
});
