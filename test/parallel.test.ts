import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adam,
  Dataset,
  evaluate,
  fit,
  modelFromSpec,
  predict,
  sgd,
  syntheticClassification,
  type ModelSpec,
  type OptimizerConfig,
  type ParameterEntry,
} from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// 1,000 samples in batches of 64: 15 full batches and a last one of 40, so 64 steps in 4 epochs.
const data = syntheticClassification({ seed: 21, samples: 1000, features: 24, classes: 5 });
const validation = syntheticClassification({ seed: 22, samples: 300, features: 24, classes: 5 });
const spec = {
  input: [24],
  layers: [
    { type: 'linear', out: 48 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 48 },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 5 },
  ],
};
const faultyLayers = new URL('./fixtures/layers/faulty.mjs', import.meta.url).href;
await import(faultyLayers);

const open: Trainer[] = [];
function trainer(options: { workers: number; optimizer?: OptimizerConfig; model?: typeof spec; setup?: string[]; resourceLimits?: { maxOldGenerationSizeMb: number } }): Trainer {
  const made = new Trainer({ model: options.model ?? spec, seed: 7, optimizer: options.optimizer ?? adam({ lr: 0.01 }), chunkSize: 16, ...options });
  open.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function bytes(array: Float32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

describe('bit-identical across worker counts and to the reference trainer', () => {
  it.each([
    ['Adam', adam({ lr: 0.01 })],
    ['SGD with momentum', sgd({ lr: 0.05, momentum: 0.9 })],
  ] as const)('%s: 64 steps (last batch 40 of 64), workers 1-4', async (_name, optimizer) => {
    const reference = modelFromSpec(spec, 7);
    const referenceRun = fit(reference, data, { epochs: 4, batchSize: 64, chunkSize: 16, seed: 7, optimizer, validation });
    expect(referenceRun.state.step).toBe(64);
    for (const workers of [1, 2, 3, 4]) {
      const parallel = trainer({ workers, optimizer });
      const run = await parallel.fit(data, { epochs: 4, batchSize: 64, validation });
      expect(run.state.step).toBe(64);
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers} parameters`).toBe(true);
      expect(bytes(parallel.state.optimizerState).equals(bytes(referenceRun.state.optimizerState)), `workers=${workers} optimizer state`).toBe(true);
      expect(run.history.map((m) => [m.loss, m.accuracy, m.valLoss, m.valAccuracy])).toEqual(
        referenceRun.history.map((m) => [m.loss, m.accuracy, m.valLoss, m.valAccuracy]),
      );
    }
  });

  it('evaluate and predict equal the reference, at 1 and 3 workers, and leave the mode alone', async () => {
    const reference = modelFromSpec(spec, 7);
    const expectedEvaluation = evaluate(reference, validation);
    const expectedOutputs = predict(reference, validation.inputs);
    for (const workers of [1, 3]) {
      const parallel = trainer({ workers }).train();
      expect(await parallel.evaluate(validation)).toEqual(expectedEvaluation);
      expect(bytes(await parallel.predict(validation.inputs)).equals(bytes(expectedOutputs))).toBe(true);
      expect(parallel.training).toBe(true);
    }
  });
});

describe('a CNN with channel dropout', () => {
  it('30 steps: parameters byte-equal for workers 1, 2 and 3 and the reference trainer', async () => {
    const images = syntheticClassification({ seed: 3, samples: 480, features: 64, classes: 4 });
    const data = new Dataset(images.inputs, [1, 8, 8], images.targets);
    const cnn: ModelSpec = {
      input: [1, 8, 8],
      layers: [
        { type: 'conv2d', out: 6, kernelSize: 3, padding: 1 },
        { type: 'relu' },
        { type: 'dropout2d', p: 0.5 },
        { type: 'max-pool2d', kernelSize: 2 },
        { type: 'conv2d', out: 8, kernelSize: 3, stride: 2, padding: 1 },
        { type: 'relu' },
        { type: 'dropout2d', p: 0.3 },
        { type: 'flatten' },
        { type: 'linear', out: 4 },
      ],
    };
    const optimizer = adam({ lr: 0.01 });
    const reference = modelFromSpec(cnn, 7);
    expect(fit(reference, data, { epochs: 2, batchSize: 32, chunkSize: 16, seed: 7, optimizer }).state.step).toBe(30);
    for (const workers of [1, 2, 3]) {
      const parallel = new Trainer({ model: cnn, seed: 7, optimizer, chunkSize: 16, workers });
      open.push(parallel);
      await parallel.fit(data, { epochs: 2, batchSize: 32 });
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers}`).toBe(true);
    }
  });
});

describe('noise dropout layers', () => {
  it('SELU with AlphaDropout and GaussianDropout: byte-equal parameters for workers 1 and 3 and the reference', async () => {
    const selu: ModelSpec = {
      input: [24],
      layers: [
        { type: 'linear', out: 32 },
        { type: 'selu' },
        { type: 'alpha-dropout', p: 0.2 },
        { type: 'linear', out: 32 },
        { type: 'selu' },
        { type: 'gaussian-dropout', p: 0.3 },
        { type: 'linear', out: 5 },
      ],
    };
    const optimizer = adam({ lr: 0.01 });
    const reference = modelFromSpec(selu, 7);
    expect(fit(reference, data, { epochs: 2, batchSize: 64, chunkSize: 16, seed: 7, optimizer }).state.step).toBe(32);
    for (const workers of [1, 3]) {
      const parallel = new Trainer({ model: selu, seed: 7, optimizer, chunkSize: 16, workers });
      open.push(parallel);
      await parallel.fit(data, { epochs: 2, batchSize: 64 });
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers}`).toBe(true);
    }
  });
});

describe('the dropout family: DropConnect, noiseShape and maxNorm', () => {
  /** The largest norm / maxNorm over every constrained row (Linear rows, Conv2d output channels). */
  function largestNormRatio(params: Float32Array, entries: readonly ParameterEntry[]): number {
    let largest = 0;
    for (const entry of entries) {
      const maxNorm = entry.spec.maxNorm;
      if (maxNorm === undefined) continue;
      const rowLength = entry.length / entry.shape[0];
      for (let row = 0; row < entry.shape[0]; row++) {
        let sum = 0;
        for (let i = 0; i < rowLength; i++) sum += params[entry.offset + row * rowLength + i] ** 2;
        largest = Math.max(largest, Math.sqrt(sum) / maxNorm);
      }
    }
    return largest;
  }

  /**
   * Trains `model` with the reference trainer and with workers 1, 2 and 3 (Adam): after every step the
   * parameters are the same for every worker count and every maxNorm row is within its bound; at the
   * end they equal the reference trainer's, byte for byte.
   */
  async function checkFamily(model: ModelSpec, data: Dataset, epochs: number, batchSize: number, steps: number): Promise<void> {
    const optimizer = adam({ lr: 0.02 });
    const reference = modelFromSpec(model, 7);
    expect(fit(reference, data, { epochs, batchSize, chunkSize: 16, seed: 7, optimizer }).state.step).toBe(steps);
    const runs: string[][] = [];
    let largest = 0;
    for (const workers of [1, 2, 3]) {
      const parallel = new Trainer({ model, seed: 7, optimizer, chunkSize: 16, workers });
      open.push(parallel);
      const fingerprints: string[] = [];
      await parallel.fit(data, {
        epochs,
        batchSize,
        onStep: () => {
          fingerprints.push(createHash('sha256').update(bytes(parallel.params)).digest('hex'));
          const ratio = largestNormRatio(parallel.params, reference.entries);
          expect(ratio, `workers=${workers} step ${fingerprints.length}`).toBeLessThanOrEqual(1 + 1e-6);
          largest = Math.max(largest, ratio);
        },
      });
      expect(fingerprints.length).toBe(steps);
      runs.push(fingerprints);
      expect(bytes(parallel.params).equals(bytes(reference.params)), `workers=${workers}`).toBe(true);
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(largest, 'the max-norm bound is reached').toBeGreaterThan(1 - 1e-6);
  }

  it('an MLP with DropConnect and maxNorm layers: 64 steps, workers 1, 2, 3 and the reference trainer', async () => {
    const mlp: ModelSpec = {
      input: [24],
      layers: [
        { type: 'linear', out: 48, dropConnect: 0.5, maxNorm: 0.8 },
        { type: 'relu' },
        { type: 'linear', out: 48, dropConnect: 0.3 },
        { type: 'relu' },
        { type: 'dropout', p: 0.2 },
        { type: 'linear', out: 5, maxNorm: 1 },
      ],
    };
    await checkFamily(mlp, data, 4, 64, 64);
  });

  it('a CNN with noiseShape dropout, maxNorm convolutions and a DropConnect head: 60 steps, workers 1, 2, 3 and the reference trainer', async () => {
    const images = syntheticClassification({ seed: 5, samples: 480, features: 128, classes: 4 });
    const cnn: ModelSpec = {
      input: [2, 8, 8],
      layers: [
        { type: 'conv2d', out: 6, kernelSize: 3, padding: 1, maxNorm: 0.7 },
        { type: 'relu' },
        { type: 'dropout', p: 0.3, noiseShape: [1, 8, 8] },
        { type: 'max-pool2d', kernelSize: 2 },
        { type: 'conv2d', out: 8, kernelSize: 3, stride: 2, padding: 1, maxNorm: 0.7 },
        { type: 'relu' },
        { type: 'dropout', p: 0.3, noiseShape: [8, 1, 2] },
        { type: 'flatten' },
        { type: 'linear', out: 4, dropConnect: 0.3, maxNorm: 1 },
      ],
    };
    await checkFamily(cnn, new Dataset(images.inputs, [2, 8, 8], images.targets), 4, 32, 60);
  });
});

describe('train and eval on every replica', () => {
  const input = validation.inputs.subarray(0, 24 * 6);

  it('after eval(), every replica gives the same output, the same every call, equal to the reference', async () => {
    const parallel = trainer({ workers: 3 }).eval();
    const first = await parallel.forwardOnEveryReplica(input);
    const second = await parallel.forwardOnEveryReplica(input);
    expect(new Set(first.map((r) => r.threadId)).size).toBe(3);
    const expected = bytes(predict(modelFromSpec(spec, 7), input));
    for (const result of [...first, ...second]) expect(bytes(result.output).equals(expected)).toBe(true);
  });

  it('after train(), dropout is on in every replica: outputs differ from eval, change with the step, agree across replicas', async () => {
    const parallel = trainer({ workers: 3 });
    const evalOutput = bytes((await parallel.eval().forwardOnEveryReplica(input))[0].output);
    parallel.train();
    const stepZero = await parallel.forwardOnEveryReplica(input, { step: 0 });
    const stepOne = await parallel.forwardOnEveryReplica(input, { step: 1 });
    expect(new Set(stepZero.map((r) => r.threadId)).size).toBe(3);
    for (const result of stepZero) {
      expect(bytes(result.output).equals(evalOutput)).toBe(false);
      expect(bytes(result.output).equals(bytes(stepZero[0].output))).toBe(true);
    }
    for (const result of stepOne) expect(bytes(result.output).equals(bytes(stepZero[0].output))).toBe(false);
  });
});

describe('the step loop and the callbacks of fit', () => {
  it('onStep sees parameters that no worker changes until it returns (a checkpoint taken there is whole)', async () => {
    const parallel = trainer({ workers: 2 });
    const changedDuringCallback: number[] = [];
    await parallel.fit(data, {
      epochs: 1,
      batchSize: 64,
      onStep: ({ batch }) => {
        const seen = bytes(parallel.params.slice());
        const until = performance.now() + 3;
        while (performance.now() < until);
        if (!bytes(parallel.params).equals(seen)) changedDuringCallback.push(batch);
      },
    });
    expect(changedDuringCallback).toEqual([]);
    expect(parallel.state.step).toBe(16);
  });

  it("an error thrown by onStep reaches the caller as it is, the workers' loops end, and the next fit goes on as one run would", async () => {
    const interrupted = trainer({ workers: 2 });
    const mistake = new TypeError('a mistake in the callback');
    const onStep = ({ batch }: { batch: number }): void => {
      if (batch === 5) throw mistake;
    };
    await expect(interrupted.fit(data, { epochs: 1, batchSize: 64, onStep })).rejects.toBe(mistake);
    expect(interrupted.isClosed).toBe(false);
    expect(interrupted.state).toMatchObject({ step: 5, batch: 5 });
    await interrupted.fit(data, { epochs: 2, batchSize: 64 });
    const straight = trainer({ workers: 2 });
    await straight.fit(data, { epochs: 2, batchSize: 64 });
    expect(bytes(interrupted.params).equals(bytes(straight.params))).toBe(true);
  });

  it("lastFitTimings: one worker's slowest gradient time is all of it; with 3 workers it lies between the mean and the sum", async () => {
    for (const workers of [1, 3]) {
      const timed = trainer({ workers });
      await timed.fit(data, { epochs: 1, batchSize: 64 });
      const timings = timed.lastFitTimings!;
      expect(timings.steps).toBe(16);
      expect(timings.gradientSeconds).toBeGreaterThan(0);
      if (workers === 1) expect(timings.slowestGradientSeconds).toBe(timings.gradientSeconds);
      else {
        expect(timings.slowestGradientSeconds).toBeGreaterThanOrEqual(timings.gradientSeconds / workers);
        expect(timings.slowestGradientSeconds).toBeLessThan(timings.gradientSeconds);
      }
      expect(timings.slowestGradientSeconds).toBeLessThan(timings.stepSeconds);
    }
  });
});

describe('failures', () => {
  const faultySpec = (type: string, step: number) => ({
    input: [24],
    layers: [{ type: 'linear', out: 16 }, { type, step }, { type: 'relu' }, { type: 'linear', out: 5 }],
  });

  it('a layer that throws in a worker fails fit naming the step and the cause, and closes the pool', async () => {
    const parallel = trainer({ workers: 2, model: faultySpec('throw-at-step', 5) as typeof spec, setup: [faultyLayers] });
    await expect(parallel.fit(data, { epochs: 1, batchSize: 64 })).rejects.toThrow(
      'fit failed at step 5 (epoch 1, batch 6 of 16): a worker failed: injected failure in layer 1 at step 5; the worker pool is closed',
    );
    expect(parallel.isClosed).toBe(true);
    await expect(parallel.evaluate(data)).rejects.toThrow('this Trainer is closed; create a new Trainer');
  });

  it('a worker that exits fails fit the same way', async () => {
    const parallel = trainer({ workers: 2, model: faultySpec('exit-at-step', 3) as typeof spec, setup: [faultyLayers] });
    await expect(parallel.fit(data, { epochs: 1, batchSize: 64 })).rejects.toThrow(
      'fit failed at step 3 (epoch 1, batch 4 of 16): a worker failed: worker exited with code: 7; the worker pool is closed',
    );
    expect(parallel.isClosed).toBe(true);
  });

  it('a worker past its heap limit (resourceLimits) fails fit the same way, and the process lives on', async () => {
    const parallel = trainer({ workers: 2, model: faultySpec('oom-at-step', 4) as typeof spec, setup: [faultyLayers], resourceLimits: { maxOldGenerationSizeMb: 32 } });
    await expect(parallel.fit(data, { epochs: 1, batchSize: 64 })).rejects.toThrow(
      'fit failed at step 4 (epoch 1, batch 5 of 16): a worker failed: Worker terminated due to reaching memory limit: JS heap out of memory; the worker pool is closed',
    );
    expect(parallel.isClosed).toBe(true);
  });

  it('close() during fit: the fit rejects with E_CLOSED saying so, not as a worker failure', async () => {
    const parallel = trainer({ workers: 2 });
    const failure = await parallel.fit(data, { epochs: 1, batchSize: 64, onStep: ({ step }) => void (step === 3 && parallel.close()) }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'E_CLOSED', message: expect.stringMatching(/^fit failed at step \d+ \(epoch 1, batch \d+ of 16\): the Trainer was closed while it ran; create a new Trainer to go on$/) });
    expect(parallel.isClosed).toBe(true);
  });

  it('when one worker fails and the other stops waiting for it, the error names the failure, not the wait', async () => {
    // Batches of 24 make chunks of 16 and 8 rows: the second worker's chunk fails, the first waits at the barrier.
    const model = { input: [24], layers: [{ type: 'linear', out: 16 }, { type: 'throw-on-rows', rows: 8 }, { type: 'linear', out: 5 }] };
    const parallel = trainer({ workers: 2, model: model as typeof spec, setup: [faultyLayers] });
    await expect(parallel.fit(data, { epochs: 1, batchSize: 24 })).rejects.toThrow(
      `fit failed at step 0 (epoch 1, batch 1 of ${Math.ceil(data.size / 24)}): a worker failed: injected failure for a chunk of 8 rows; the worker pool is closed`,
    );
    expect(parallel.isClosed).toBe(true);
  });

  it.each([
    ['throw-at-step', 'injected failure in layer 1 at step 2'],
    ['exit-at-step', 'worker exited with code: 7'],
  ])('after a failure (%s) the process exits on its own', (layer, cause) => {
    const script = fileURLToPath(new URL('./fixtures/fail-then-exit.mjs', import.meta.url));
    const output = execFileSync(process.execPath, [script, layer], { encoding: 'utf8', timeout: 30_000 });
    expect(output.trim()).toBe(`E_WORKER: fit failed at step 2 (epoch 1, batch 3 of 5): a worker failed: ${cause}; the worker pool is closed`);
  });

  it('a batch size far past the data set allocates for the data set only, and equals one full batch', async () => {
    const huge = { epochs: 2, batchSize: 2 ** 40, chunkSize: 1, seed: 7, optimizer: sgd({ lr: 0.05 }) };
    const whole = { ...huge, batchSize: data.size };
    const reference = modelFromSpec(spec, 7);
    fit(reference, data, huge);
    const wholeReference = modelFromSpec(spec, 7);
    fit(wholeReference, data, whole);
    expect(bytes(reference.params).equals(bytes(wholeReference.params))).toBe(true);
    const parallel = new Trainer({ model: spec, seed: 7, optimizer: huge.optimizer, chunkSize: 1, workers: 2 });
    open.push(parallel);
    await parallel.fit(data, { epochs: 2, batchSize: huge.batchSize });
    expect(bytes(parallel.params).equals(bytes(reference.params))).toBe(true);
  });

  it('bad options are one line naming the option', async () => {
    expect(() => new Trainer({ model: spec, seed: 1, optimizer: sgd({ lr: 0.1 }), workers: 0 })).toThrow('workers must be an integer in [1, 1024], got 0');
    expect(() => new Trainer({ model: spec, seed: 1, optimizer: sgd({ lr: 0.1 }), chunkSize: 2.5 })).toThrow('chunkSize must be an integer >= 1, got 2.5');
    const parallel = trainer({ workers: 1 });
    await expect(parallel.fit(data, { epochs: 1, batchSize: 8 })).rejects.toThrow(
      expect.objectContaining({ code: 'E_OPTION', message: 'chunkSize (16) must not exceed batchSize (8); lower chunkSize in new Trainer({ chunkSize }), or raise batchSize' }),
    );
    await expect(parallel.fit(data, { epochs: 0, batchSize: 64 })).rejects.toThrow('epochs must be an integer >= 1, got 0');
  });
});
