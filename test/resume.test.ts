import { afterEach, describe, expect, it } from 'vitest';
import { adam, fit, modelFromSpec, syntheticClassification, type EpochMetrics, type TrainingState } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// 1,000 samples in batches of 64: 16 batches an epoch (the last of 40), so 1.5 epochs is 24 steps.
const data = syntheticClassification({ seed: 31, samples: 1000, features: 12, classes: 4 });
const spec = {
  input: [12],
  layers: [
    { type: 'linear', out: 32 },
    { type: 'relu' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 32, maxNorm: 2 },
    { type: 'relu' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 4 },
  ],
};
const optimizer = adam({ lr: 0.01 });
const settings = { batchSize: 64, chunkSize: 16, seed: 5, optimizer };
const STOP_AT_STEP = 24;

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function workerTrainer(workers: number): Trainer {
  const made = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers });
  open.push(made);
  return made;
}

function bytes(array: Float32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** What a checkpoint keeps: copies of the parameters and the state, the position within the epoch included. */
function saved(params: Float32Array, state: TrainingState): { params: Float32Array; state: TrainingState } {
  return { params: params.slice(), state: { ...state, optimizerState: state.optimizerState.slice() } };
}

/** Aborts a fit after optimizer step `step`, as Ctrl-C does in the CLI. */
function stopAfter(step: number): { signal: AbortSignal; onStep: () => void } {
  const controller = new AbortController();
  let steps = 0;
  const onStep = (): void => {
    if (++steps === step) controller.abort();
  };
  return { signal: controller.signal, onStep };
}

const lossesOf = (history: EpochMetrics[]): number[] => history.map((m) => m.loss);

const straightModel = modelFromSpec(spec, settings.seed);
const straight = fit(straightModel, data, { ...settings, epochs: 3 });

describe('resuming mid-epoch: 3 epochs in one go equal 1.5 epochs, a checkpoint, and the rest', () => {
  function expectStraightBits(params: Float32Array, state: TrainingState, history: EpochMetrics[]): void {
    expect(state).toMatchObject({ step: 48, epoch: 3, batch: 0, epochLossSum: 0, epochCorrect: 0 });
    expect(bytes(params).equals(bytes(straightModel.params)), 'parameters').toBe(true);
    expect(bytes(state.optimizerState).equals(bytes(straight.state.optimizerState)), 'optimizer state').toBe(true);
    expect(lossesOf(history)).toEqual(lossesOf(straight.history).slice(1));
  }

  it('the reference trainer stops at step 24 (epoch 2, batch 8) and a new model resumes from its state', () => {
    const model = modelFromSpec(spec, settings.seed);
    const first = fit(model, data, { ...settings, epochs: 2, ...stopAfter(STOP_AT_STEP) });
    expect(first.stopped).toBe(true);
    expect(first.state).toMatchObject({ step: 24, epoch: 1, batch: 8 });
    expect(lossesOf(first.history)).toEqual(lossesOf(straight.history).slice(0, 1));

    const checkpoint = saved(model.params, first.state);
    const resumed = modelFromSpec(spec, settings.seed);
    resumed.params.set(checkpoint.params);
    const rest = fit(resumed, data, { ...settings, epochs: 2, state: checkpoint.state });
    expect(rest.stopped).toBe(false);
    expectStraightBits(resumed.params, rest.state, rest.history);
  });

  it.each([1, 2, 3])('%i worker(s) stop at step 24 and a new trainer resumes from the checkpoint', async (workers) => {
    const interrupted = workerTrainer(workers);
    const first = await interrupted.fit(data, { epochs: 2, batchSize: settings.batchSize, ...stopAfter(STOP_AT_STEP) });
    expect(first.stopped).toBe(true);
    expect(interrupted.state).toMatchObject({ step: 24, epoch: 1, batch: 8 });
    const checkpoint = saved(interrupted.params, interrupted.state);
    await interrupted.close();

    const resumed = workerTrainer(workers);
    resumed.load({ params: checkpoint.params, optimizerState: checkpoint.state.optimizerState, state: checkpoint.state });
    const rest = await resumed.fit(data, { epochs: 2, batchSize: settings.batchSize });
    expectStraightBits(resumed.params, resumed.state, rest.history);
  });

  it('a reference run stopped mid-epoch resumes on 2 workers, and the other way round, on the same bits', async () => {
    const model = modelFromSpec(spec, settings.seed);
    const first = fit(model, data, { ...settings, epochs: 2, ...stopAfter(STOP_AT_STEP) });
    const onWorkers = workerTrainer(2);
    onWorkers.load({ params: model.params, optimizerState: first.state.optimizerState, state: first.state });
    const rest = await onWorkers.fit(data, { epochs: 2, batchSize: settings.batchSize });
    expectStraightBits(onWorkers.params, onWorkers.state, rest.history);

    const workersFirst = workerTrainer(2);
    await workersFirst.fit(data, { epochs: 2, batchSize: settings.batchSize, ...stopAfter(STOP_AT_STEP) });
    const checkpoint = saved(workersFirst.params, workersFirst.state);
    const onReference = modelFromSpec(spec, settings.seed);
    onReference.params.set(checkpoint.params);
    const referenceRest = fit(onReference, data, { ...settings, epochs: 2, state: checkpoint.state });
    expectStraightBits(onReference.params, referenceRest.state, referenceRest.history);
  });
});

describe('fit once per epoch, as a Keras loop of fit(epochs=1): the Trainer continues; the reference fit continues when given the last state', () => {
  it('3 reference fits of 1 epoch, each given the state the last returned, are the 3-epoch fit bit for bit', () => {
    const model = modelFromSpec(spec, settings.seed);
    let state: TrainingState | undefined;
    const history: EpochMetrics[] = [];
    for (let i = 0; i < 3; i++) {
      const result = fit(model, data, { ...settings, epochs: 1, ...(state === undefined ? {} : { state }) });
      history.push(...result.history);
      state = result.state;
    }
    expect(state).toMatchObject({ step: 48, epoch: 3 });
    expect(lossesOf(history)).toEqual(lossesOf(straight.history));
    expect(bytes(model.params).equals(bytes(straightModel.params))).toBe(true);
  });

  it('without state each reference fit starts a run at step 0: epoch 1\'s shuffle and masks, new Adam moments', () => {
    const model = modelFromSpec(spec, settings.seed);
    const results = [1, 2, 3].map(() => fit(model, data, { ...settings, epochs: 1 }));
    expect(results.map((r) => [r.state.step, r.history[0]!.epoch])).toEqual([[16, 1], [16, 1], [16, 1]]);
    expect(results[0]!.history[0]!.loss).toBe(straight.history[0]!.loss);
    expect(bytes(model.params).equals(bytes(straightModel.params))).toBe(false);
  });

  it('3 Trainer fits of 1 epoch at 2 workers are the 3-epoch fit bit for bit', async () => {
    const trainer = workerTrainer(2);
    const history: EpochMetrics[] = [];
    for (let i = 0; i < 3; i++) history.push(...(await trainer.fit(data, { epochs: 1, batchSize: settings.batchSize })).history);
    expect(trainer.state).toMatchObject({ step: 48, epoch: 3 });
    expect(lossesOf(history)).toEqual(lossesOf(straight.history));
    expect(bytes(trainer.params).equals(bytes(straightModel.params))).toBe(true);
  });
});
