import { afterEach, describe, expect, it } from 'vitest';
import { modelFromSpec, predict, sgd, syntheticClassification, type StateDict } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

const spec = { input: [6], layers: [{ type: 'linear', out: 5 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'linear', out: 3 }] };
const input = Float32Array.from({ length: 4 * 6 }, (_, i) => Math.cos(i));
const open: Trainer[] = [];

function trainer(workers: number): Trainer {
  const made = new Trainer({ model: spec, seed: 1, optimizer: sgd({ lr: 0.1, momentum: 0.9 }), chunkSize: 4, workers });
  open.push(made);
  return made;
}

function bytes(array: Float32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('Trainer.stateDict and loadStateDict', () => {
  it('every replica computes with the loaded weights and running statistics, equal to core\'s model with them', async () => {
    const source = modelFromSpec(spec, 9);
    source.buffers.forEach((_, i) => (source.buffers[i] = 0.5 + i / 16));
    const parallel = trainer(3).eval();
    parallel.loadStateDict(source.stateDict());
    expect(bytes(parallel.params).equals(bytes(source.params))).toBe(true);
    const results = await parallel.forwardOnEveryReplica(input);
    expect(new Set(results.map((r) => r.threadId)).size).toBe(3);
    const expected = bytes(predict(source, input));
    for (const result of results) expect(bytes(result.output).equals(expected)).toBe(true);
    const dict = parallel.stateDict();
    expect([...dict.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '3.weight', '3.bias']);
    expect(bytes(dict.get('1.running_var')!.data).equals(bytes(source.buffers.subarray(5, 10)))).toBe(true);
  });

  it('training after a load gives the same parameters at 1 and 2 workers', async () => {
    const data = syntheticClassification({ seed: 2, samples: 32, features: 6, classes: 3 });
    const start = modelFromSpec(spec, 5).stateDict();
    const [one, two] = [trainer(1), trainer(2)];
    for (const t of [one, two]) {
      t.loadStateDict(start);
      await t.fit(data, { epochs: 1, batchSize: 16 });
    }
    expect(bytes(one.params).equals(bytes(two.params))).toBe(true);
    expect(bytes(one.buffers).equals(bytes(two.buffers))).toBe(true);
    const fresh = trainer(1);
    await fresh.fit(data, { epochs: 1, batchSize: 16 });
    expect(bytes(fresh.params).equals(bytes(one.params))).toBe(false);
  });

  it('refuses a state dict of another model with every mismatch, and keeps its parameters', () => {
    const parallel = trainer(1);
    const before = parallel.params.slice();
    const other = modelFromSpec({ input: [6], layers: [{ type: 'linear', out: 4 }] }, 0).stateDict();
    expect(() => parallel.loadStateDict(other)).toThrow(
      "loadStateDict: 8 mismatches with the model: missing 1.weight; missing 1.bias; missing 1.running_mean; missing 1.running_var; missing 3.weight; missing 3.bias; 0.weight has shape [4,6], the model's is [5,6]; 0.bias has shape [4], the model's is [5]; give the tensors of a model with the same layers and sizes",
    );
    expect(parallel.params).toEqual(before);
  });

  it('refuses NaN or infinity in a parameter or a running statistic, naming the tensor, and keeps its parameters and buffers', () => {
    const parallel = trainer(1);
    const [params, buffers] = [parallel.params.slice(), parallel.buffers.slice()];
    const withValue = (name: string, index: number, value: number): StateDict => {
      const dict = modelFromSpec(spec, 9).stateDict();
      dict.get(name)!.data[index] = value;
      return dict;
    };
    const fix = 'training starts from finite weights, so save them again from a model that has no NaN or infinity';
    const refusal = (dict: StateDict): unknown => {
      try {
        parallel.loadStateDict(dict);
      } catch (error) {
        return error;
      }
      return null;
    };
    expect(refusal(withValue('0.bias', 2, NaN))).toMatchObject({ code: 'E_NUMERIC', message: `loadStateDict: tensor "0.bias" holds NaN at index 2; ${fix}` });
    expect(refusal(withValue('1.running_var', 4, Infinity))).toMatchObject({ code: 'E_NUMERIC', message: `loadStateDict: tensor "1.running_var" holds Infinity at index 4; ${fix}` });
    expect(refusal(withValue('3.weight', 0, -Infinity))).toMatchObject({ code: 'E_NUMERIC', message: `loadStateDict: tensor "3.weight" holds -Infinity at index 0; ${fix}` });
    expect(parallel.params).toEqual(params);
    expect(parallel.buffers).toEqual(buffers);
  });
});

describe('a negative running variance', () => {
  const negative = 'tensor "1.running_var" holds -0.5 at index 2, a negative running variance, which makes eval-mode outputs NaN';
  const thrown = (run: () => void): unknown => {
    try {
      run();
    } catch (error) {
      return error;
    }
    return null;
  };

  it('is refused by loadStateDict, naming the tensor, and nothing is loaded', () => {
    const parallel = trainer(1);
    const buffers = parallel.buffers.slice();
    const dict = modelFromSpec(spec, 9).stateDict();
    dict.get('1.running_var')!.data[2] = -0.5;
    expect(thrown(() => parallel.loadStateDict(dict))).toMatchObject({ code: 'E_NUMERIC', message: `loadStateDict: ${negative}; save it again from a model whose running variances are >= 0` });
    expect(parallel.buffers).toEqual(buffers);
  });

  it('is refused by load, in the buffers or in early stopping\'s best ones, and nothing is loaded', () => {
    const parallel = trainer(1);
    const [params, buffers] = [parallel.params.slice(), parallel.buffers.slice()];
    // Buffers are running_mean (5 values), then running_var.
    const bad = buffers.slice();
    bad[5 + 2] = -0.5;
    const saved = { params: params.map((v) => v + 1), optimizerState: new Float32Array(params.length), state: { step: 3, epoch: 1 } };
    expect(thrown(() => parallel.load({ ...saved, buffers: bad }))).toMatchObject({ code: 'E_NUMERIC', message: `load: buffers: ${negative}; load the buffers saved with these parameters` });
    const earlyStopping = { best: 0.5, bestEpoch: 1, wait: 0, stoppedEpoch: 0, bestParams: params, bestBuffers: bad };
    expect(thrown(() => parallel.load({ ...saved, buffers, state: { ...saved.state, earlyStopping } }))).toMatchObject({
      code: 'E_NUMERIC',
      message: `load: state.earlyStopping.bestBuffers: ${negative}; load the buffers saved with these parameters`,
    });
    expect(parallel.params).toEqual(params);
    expect(parallel.buffers).toEqual(buffers);
    expect(parallel.state.step).toBe(0);
  });
});
