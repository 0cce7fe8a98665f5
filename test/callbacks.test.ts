import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fit, modelFromSpec, sgd, syntheticClassification, type Callback, type EpochMetrics, type ScheduleConfig, type TrainingState } from '@lockstep/core';
import { sharedMemoryRanks, Trainer } from '@lockstep/workers';

// 600 samples in batches of 50 and chunks of 25: 12 steps an epoch. A wide MLP without dropout on few
// samples overfits within a few epochs, so early stopping has something to stop.
const all = syntheticClassification({ seed: 61, samples: 900, features: 16, classes: 4 });
const data = all.slice(0, 600);
const validation = all.slice(600, 900);
const spec = { input: [16], layers: [{ type: 'linear', out: 128 }, { type: 'relu' }, { type: 'linear', out: 128 }, { type: 'relu' }, { type: 'linear', out: 4 }] };
const schedule: ScheduleConfig = { kind: 'warmup-cosine', warmup: 2, startFactor: 0.25, totalSteps: 28, minLr: 0, interval: 'epoch' };
const optimizer = sgd({ lr: 0.2, momentum: 0.9, schedule });
const settings = { batchSize: 50, chunkSize: 25, seed: 3, optimizer };
const earlyStopping = { monitor: 'val_loss', patience: 2, restoreBestWeights: true } as const;
const EPOCHS = 30;

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
const lossesOf = (history: EpochMetrics[]): number[] => history.map((m) => m.valLoss!);

/** A copy of a position in training without early stopping's state, from which a fit watches afresh. */
const positionOf = (state: TrainingState): TrainingState => ({
  step: state.step,
  epoch: state.epoch,
  batch: state.batch,
  epochLossSum: state.epochLossSum,
  epochCorrect: state.epochCorrect,
  optimizerState: state.optimizerState.slice(),
});

/** Stops the fit after optimizer step `step`, from a step-end hook. */
const stopAtStep = (step: number): Callback => ({ onStepEnd: ({ progress }) => (progress.step === step ? 'stop' : undefined) });

const RUN_SYNCHRONOUSLY =
  "callbacks run synchronously between steps, so the fit can neither wait for a promise nor see a stop asked after an await; make the hook a plain function that calls ctx.stop() or returns 'stop', and start any async work from it without returning its promise";

const OBSERVE_SYNCHRONOUSLY =
  'onStep and onEpoch run synchronously between steps, so the fit can neither wait for a promise nor fail when one rejects; make the hook a plain function, and start any async work from it without returning its promise, catching its errors there';

describe('callbacks: a hook at a step\'s or an epoch\'s end stops the fit cleanly, at a position to resume from', () => {
  const straightModel = modelFromSpec(spec, settings.seed);
  const straight = fit(straightModel, data, { ...settings, epochs: 3 });

  it('onStepEnd returning "stop" at step 17 (epoch 2, batch 5); a new fit resumes to the bits of an uninterrupted one', () => {
    const model = modelFromSpec(spec, settings.seed);
    const seen: number[] = [];
    const first = fit(model, data, { ...settings, epochs: 3, callbacks: [{ onStepEnd: ({ progress }) => void seen.push(progress.lr) }, stopAtStep(17)] });
    expect(first).toMatchObject({ stopped: false, stopRequested: true });
    expect(first.state).toMatchObject({ step: 17, epoch: 1, batch: 5 });
    // The warm-up's rate of epoch 1 (0.25 x 0.2), then epoch 2's (0.25 + 0.75 / 2) x 0.2, as each step's progress says.
    expect(seen.slice(10, 14)).toEqual([0.05, 0.05, 0.2 * (0.25 + 0.75 / 2), 0.2 * (0.25 + 0.75 / 2)]);
    const rest = fit(model, data, { ...settings, epochs: 2, state: first.state });
    expect(rest.stopRequested).toBe(false);
    expect(bytes(model.params).equals(bytes(straightModel.params))).toBe(true);
  });

  it('a callback that is a class instance sees itself as `this` (Keras\' callbacks are objects with state)', () => {
    class StopAfter implements Callback {
      seen = 0;
      constructor(private readonly steps: number) {}
      onStepEnd(): 'stop' | undefined {
        this.seen += 1;
        return this.seen === this.steps ? 'stop' : undefined;
      }
    }
    const callback = new StopAfter(5);
    const result = fit(modelFromSpec(spec, settings.seed), data, { ...settings, epochs: 3, callbacks: [callback] });
    expect([result.stopRequested, result.state.step, callback.seen]).toEqual([true, 5, 5]);
  });

  it('ctx.stop() at the end of epoch 2, on the worker trainer at 2 workers: the reference trainer\'s bits, stopped there', async () => {
    const reference = modelFromSpec(spec, settings.seed);
    const stopAtEpoch2: Callback = { onEpochEnd: (ctx) => (ctx.metrics.epoch === 2 ? ctx.stop() : undefined) };
    expect(fit(reference, data, { ...settings, epochs: 3, callbacks: [stopAtEpoch2] }).state).toMatchObject({ step: 24, epoch: 2, batch: 0 });
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    const result = await trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, callbacks: [stopAtEpoch2] });
    expect(result.stopRequested).toBe(true);
    expect(result.history.map((m) => m.epoch)).toEqual([1, 2]);
    expect(trainer.state).toMatchObject({ step: 24, epoch: 2, batch: 0 });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
    expect(straight.history[1]!.loss).toBe(result.history[1]!.loss);
  });

  it('onStepEnd stopping at step 17 (mid-epoch) on the worker trainer at 2 workers: the reference trainer\'s bits, and a resumed fit gives the uninterrupted bits', async () => {
    const reference = modelFromSpec(spec, settings.seed);
    fit(reference, data, { ...settings, epochs: 3, callbacks: [stopAtStep(17)] });
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    const first = await trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, callbacks: [stopAtStep(17)] });
    expect(first).toMatchObject({ stopped: false, stopRequested: true });
    expect(trainer.state).toMatchObject({ step: 17, epoch: 1, batch: 5 });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
    const rest = await trainer.fit(data, { epochs: 2, batchSize: settings.batchSize });
    expect(rest.stopRequested).toBe(false);
    expect(bytes(trainer.params).equals(bytes(straightModel.params))).toBe(true);
  });

  it('across 2 ranks a stop asked on rank 1 alone stops both after the same step, on the bits of one trainer stopped there', async () => {
    const reference = modelFromSpec(spec, settings.seed);
    fit(reference, data, { ...settings, epochs: 3, callbacks: [stopAtStep(7)] });
    const size = reference.size;
    const groups = sharedMemoryRanks(2, Math.max(4 * size, 16 * 2));
    const trainers = groups.map((group) => new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 1, ranks: group }));
    open.push(...trainers);
    const runs = await Promise.all(trainers.map((trainer, rank) => trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, callbacks: rank === 1 ? [stopAtStep(7)] : [] })));
    for (const [rank, trainer] of trainers.entries()) {
      expect(runs[rank]!.stopRequested, `rank ${rank}`).toBe(true);
      expect(trainer.state.step, `rank ${rank} steps`).toBe(7);
      expect(bytes(trainer.params).equals(bytes(reference.params)), `rank ${rank} parameters`).toBe(true);
    }
  });
});

describe('early stopping with a warm-up-then-cosine schedule: the same epoch and bits at workers 1 and 2 and after a resume', () => {
  const reference = modelFromSpec(spec, settings.seed);
  const run = fit(reference, data, { ...settings, epochs: EPOCHS, validation, earlyStopping });
  const watch = run.state.earlyStopping!;

  it('stops before the end, and ends with the best epoch\'s parameters', () => {
    console.log(`library early stopping: stopped after epoch ${watch.stoppedEpoch} of ${EPOCHS}, best epoch ${watch.bestEpoch} (val_loss ${watch.best})`);
    expect(run.stopRequested).toBe(true);
    expect(watch.stoppedEpoch).toBeLessThan(EPOCHS);
    expect(watch.stoppedEpoch).toBe(watch.bestEpoch + earlyStopping.patience);
    expect(watch.best).toBe(Math.min(...lossesOf(run.history)));
    expect(bytes(reference.params).equals(bytes(watch.bestParams!))).toBe(true);
    // The metrics lines carry each epoch's learning rate: warm-up, then the cosine.
    expect(run.history.slice(0, 3).map((m) => m.lr)).toEqual([0.05, 0.2 * (0.25 + 0.75 / 2), 0.2]);
  });

  it.each([1, 2])('%i worker(s): the same epochs, metrics and parameters', async (workers) => {
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers });
    open.push(trainer);
    const result = await trainer.fit(data, { epochs: EPOCHS, batchSize: settings.batchSize, validation, earlyStopping });
    expect(result.stopRequested).toBe(true);
    expect(lossesOf(result.history)).toEqual(lossesOf(run.history));
    expect(trainer.state.earlyStopping).toMatchObject({ stoppedEpoch: watch.stoppedEpoch, bestEpoch: watch.bestEpoch, best: watch.best });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
  });

  it('stopped by a signal mid-run and resumed from a copy of its state: stops at the same epoch with the same bits', () => {
    const model = modelFromSpec(spec, settings.seed);
    const controller = new AbortController();
    const stopAt = 12 * 2 + 5;
    const onStep = (progress: { step: number }): void => (progress.step === stopAt ? controller.abort() : undefined);
    const first = fit(model, data, { ...settings, epochs: EPOCHS, validation, earlyStopping, signal: controller.signal, onStep });
    expect(first.stopped).toBe(true);
    const saved: TrainingState = { ...first.state, optimizerState: first.state.optimizerState.slice(), earlyStopping: { ...first.state.earlyStopping! } };
    const resumed = modelFromSpec(spec, settings.seed);
    resumed.params.set(model.params);
    const rest = fit(resumed, data, { ...settings, epochs: EPOCHS - saved.epoch, validation, earlyStopping, state: saved });
    expect(rest.stopRequested).toBe(true);
    expect(rest.state.earlyStopping).toMatchObject({ stoppedEpoch: watch.stoppedEpoch, bestEpoch: watch.bestEpoch });
    expect(bytes(resumed.params).equals(bytes(reference.params))).toBe(true);
  });

  it('restoreBestWeights in a fit that runs all its epochs (4, best epoch 2): it ends with the best epoch\'s parameters, as Keras\' on_train_end, and its state keeps the last epoch\'s', () => {
    const model = modelFromSpec(spec, settings.seed);
    const all = fit(model, data, { ...settings, epochs: watch.stoppedEpoch, validation, earlyStopping: { ...earlyStopping, patience: 50 } });
    expect(all.stopRequested).toBe(false);
    expect(all.state.earlyStopping).toMatchObject({ stoppedEpoch: 0, bestEpoch: watch.bestEpoch });
    expect(bytes(model.params).equals(bytes(reference.params))).toBe(true);
    const last = modelFromSpec(spec, settings.seed);
    fit(last, data, { ...settings, epochs: watch.stoppedEpoch });
    expect(bytes(all.state.earlyStopping!.lastParams!).equals(bytes(last.params))).toBe(true);
  });

  it('fits of 3 and then 1 epochs on one state, each ending with the best epoch\'s parameters, give the bits of one fit of 4: the second goes on from the last epoch\'s', () => {
    const model = modelFromSpec(spec, settings.seed);
    const lasting = { ...earlyStopping, patience: 50 };
    const first = fit(model, data, { ...settings, epochs: 3, validation, earlyStopping: lasting });
    expect(bytes(model.params).equals(bytes(watch.bestParams!))).toBe(true);
    const second = fit(model, data, { ...settings, epochs: 1, validation, earlyStopping: lasting, state: first.state });
    expect(lossesOf([...first.history, ...second.history])).toEqual(lossesOf(run.history));
    expect(second.state.earlyStopping).toMatchObject({ stoppedEpoch: 0, bestEpoch: watch.bestEpoch });
    expect(bytes(model.params).equals(bytes(reference.params))).toBe(true);
  });

  it('2 workers: the Trainer\'s fits of 3 and then 1 epochs end with the reference fit\'s best-epoch bits', async () => {
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    const lasting = { ...earlyStopping, patience: 50 };
    const first = await trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, validation, earlyStopping: lasting });
    expect(bytes(trainer.params).equals(bytes(watch.bestParams!))).toBe(true);
    const second = await trainer.fit(data, { epochs: 1, batchSize: settings.batchSize, validation, earlyStopping: lasting });
    expect(lossesOf([...first.history, ...second.history])).toEqual(lossesOf(run.history));
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
  });

  it('a fit given the state of a run that early stopping ended watches afresh: it trains all 3 epochs, as from that position without early stopping\'s state', () => {
    const again = modelFromSpec(spec, settings.seed);
    again.params.set(reference.params);
    const more = fit(again, data, { ...settings, epochs: 3, validation, earlyStopping, state: { ...run.state, optimizerState: run.state.optimizerState.slice() } });
    const fresh = modelFromSpec(spec, settings.seed);
    fresh.params.set(reference.params);
    const expected = fit(fresh, data, { ...settings, epochs: 3, validation, earlyStopping, state: positionOf(run.state) });
    expect(more.history.map((m) => m.epoch)).toEqual([1, 2, 3].map((e) => watch.stoppedEpoch + e));
    expect(more.state.step).toBe(run.state.step + 3 * 12);
    expect(lossesOf(more.history)).toEqual(lossesOf(expected.history));
    expect(more.state.earlyStopping).toEqual(expected.state.earlyStopping);
    expect(bytes(again.params).equals(bytes(fresh.params))).toBe(true);
  });

  it('2 workers: after early stopping ended a fit and loadStateDict put in other weights, the next fit trains those with a fresh early stopping', async () => {
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    await trainer.fit(data, { epochs: EPOCHS, batchSize: settings.batchSize, validation, earlyStopping });
    const other = modelFromSpec(spec, 123);
    trainer.loadStateDict(other.stateDict());
    const result = await trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, validation, earlyStopping });
    const expected = fit(other, data, { ...settings, epochs: 3, validation, earlyStopping, state: positionOf(run.state) });
    expect(result.history.map((m) => m.epoch)).toEqual([1, 2, 3].map((e) => watch.stoppedEpoch + e));
    expect(lossesOf(result.history)).toEqual(lossesOf(expected.history));
    expect(trainer.state.earlyStopping).toEqual(expected.state.earlyStopping);
    expect(bytes(trainer.params).equals(bytes(other.params))).toBe(true);
  });

  it('2 workers: a fit a callback stopped mid-run goes on with its early stopping in the next fit, to the uninterrupted run\'s epoch and bits', async () => {
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    const first = await trainer.fit(data, { epochs: EPOCHS, batchSize: settings.batchSize, validation, earlyStopping, callbacks: [stopAtStep(12 * 2 + 5)] });
    expect(first.stopRequested).toBe(true);
    expect(trainer.state).toMatchObject({ step: 29, epoch: 2, batch: 5, earlyStopping: { stoppedEpoch: 0 } });
    const rest = await trainer.fit(data, { epochs: EPOCHS - 2, batchSize: settings.batchSize, validation, earlyStopping });
    expect(lossesOf([...first.history, ...rest.history])).toEqual(lossesOf(run.history));
    expect(trainer.state.earlyStopping).toMatchObject({ stoppedEpoch: watch.stoppedEpoch, bestEpoch: watch.bestEpoch, best: watch.best });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
  });

  it('2 workers: weights loaded after a fit a callback stopped are watched afresh, not against the replaced weights\' best (which would be put back)', async () => {
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    await trainer.fit(data, { epochs: EPOCHS, batchSize: settings.batchSize, validation, earlyStopping, callbacks: [stopAtStep(12 * 2 + 5)] });
    const position = positionOf(trainer.state);
    const other = modelFromSpec(spec, 123);
    trainer.loadStateDict(other.stateDict());
    expect(trainer.state.earlyStopping).toBeUndefined();
    const result = await trainer.fit(data, { epochs: 4, batchSize: settings.batchSize, validation, earlyStopping });
    const expected = fit(other, data, { ...settings, epochs: 4, validation, earlyStopping, state: position });
    expect(result.history.map((m) => m.epoch)).toEqual([3, 4, 5, 6]);
    expect(lossesOf(result.history)).toEqual(lossesOf(expected.history));
    expect(bytes(trainer.params).equals(bytes(other.params))).toBe(true);
  });
});

describe('bad input: one line naming the setting, before any step', () => {
  const plateau = { kind: 'plateau', monitor: 'val_accuracy', mode: 'max', factor: 0.5, patience: 1, threshold: 0, thresholdMode: 'abs', cooldown: 0, minLr: 0, eps: 1e-8 } as const;
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['early stopping on val_loss without validation data', { earlyStopping: {} }, 'earlyStopping.monitor: val_loss is not computed: the run has no validation data; monitor loss or accuracy, or give validation data'],
    ['a negative patience', { earlyStopping: { patience: -1 }, validation }, 'earlyStopping.patience must be an integer >= 0, got -1'],
    ['a negative minDelta', { earlyStopping: { minDelta: -0.1 }, validation }, 'earlyStopping.minDelta must be a finite number >= 0, got -0.1'],
    [
      'a warm-up longer than the run',
      { optimizer: sgd({ lr: 0.1, schedule: { kind: 'warmup-cosine', warmup: 40, startFactor: 0.1, totalSteps: 10, minLr: 0 } }) },
      "schedule warmup 40 is not shorter than the run's 36 steps; shorten the warm-up or train longer",
    ],
    [
      'one-cycle shorter than the run',
      { optimizer: sgd({ lr: 0.1, schedule: { kind: 'one-cycle', maxLr: 0.1, totalSteps: 20, pctStart: 0.3, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4 } }) },
      "schedule totalSteps 20 is shorter than the run's 36 steps; one-cycle has no learning rate past its last step",
    ],
    ['reduce-on-plateau on val_accuracy without validation data', { optimizer: sgd({ lr: 0.1, schedule: plateau }) }, 'schedule monitor: val_accuracy is not computed: the run has no validation data; monitor loss or accuracy, or give validation data'],
    [
      'an async onEpochEnd, whose stop the fit would never see',
      {
        callbacks: [
          {
            onEpochEnd: async (ctx: { stop(): void }) => {
              ctx.stop();
              return 'stop';
            },
          },
        ],
      },
      `callbacks[0].onEpochEnd is an async function, but ${RUN_SYNCHRONOUSLY}`,
    ],
    ['an async onStep, whose rejection no fit would see', { onStep: async () => undefined }, `onStep is an async function, but ${OBSERVE_SYNCHRONOUSLY}`],
    ['an async onEpoch', { onEpoch: async () => undefined }, `onEpoch is an async function, but ${OBSERVE_SYNCHRONOUSLY}`],
  ];
  it.each(cases)('%s', async (_, options, message) => {
    const model = modelFromSpec(spec, settings.seed);
    const before = model.params.slice();
    expect(() => fit(model, data, { ...settings, epochs: 3, ...options })).toThrow(message);
    expect(bytes(model.params).equals(bytes(before))).toBe(true);
    // The Trainer takes its optimizer once, when it is made; its fit takes the rest.
    const { optimizer: given, ...fitOptions } = options;
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer: (given as typeof optimizer | undefined) ?? optimizer, chunkSize: settings.chunkSize, workers: 1 });
    open.push(trainer);
    await expect(trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, ...fitOptions })).rejects.toThrow(message);
    expect(trainer.state.step).toBe(0);
  });

  it('a plateau factor of 1 and a one-cycle without a second phase are refused by the optimizer', () => {
    expect(() => sgd({ lr: 0.1, schedule: { ...plateau, factor: 1 } })).toThrow('schedule factor must be > 0 and < 1, got 1');
    expect(() => sgd({ lr: 0.1, schedule: { kind: 'one-cycle', maxLr: 0.1, totalSteps: 10, pctStart: 0.1, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4 } })).toThrow(
      'schedule pctStart 0.1 x schedule totalSteps 10 is 1, which leaves the first phase of one-cycle no steps; choose another pctStart',
    );
  });
});

describe('a hook that returns a promise: the fit fails at once with one E_OPTION line, and the promise\'s rejection is not left unhandled', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown): void => void unhandled.push(reason);
  beforeAll(() => void process.on('unhandledRejection', record));
  afterAll(() => void process.off('unhandledRejection', record));

  const rejecting = (): Callback => ({ onStepEnd: () => Promise.reject(new Error('written after the fit')) as never });
  const thenable = (): Callback => ({ onEpochEnd: () => ({ then: () => undefined }) as never });

  it.each([
    ['onStepEnd returning a promise that rejects: at step 1', rejecting, 'onStepEnd', 1],
    ['onEpochEnd returning a thenable: at the end of epoch 1', thenable, 'onEpochEnd', 12],
  ] as const)('%s, in both trainers', async (_name, callback, hook, step) => {
    const message = `callbacks[1].${hook} returned a promise, but ${RUN_SYNCHRONOUSLY}`;
    const model = modelFromSpec(spec, settings.seed);
    const callbacks = [stopAtStep(30), callback()];
    let reached = 0;
    const onStep = (): void => void (reached += 1);
    expect(() => fit(model, data, { ...settings, epochs: 3, callbacks, onStep })).toThrow(expect.objectContaining({ code: 'E_OPTION', message }));
    expect(reached).toBe(step);
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    await expect(trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, callbacks })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION', message }));
    expect(trainer.state.step).toBe(step);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(unhandled).toEqual([]);
  });
});

describe('onStep or onEpoch returning a promise: the fit fails at once with one E_OPTION line, and the promise\'s rejection is not left unhandled', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown): void => void unhandled.push(reason);
  beforeAll(() => void process.on('unhandledRejection', record));
  afterAll(() => void process.off('unhandledRejection', record));

  const counting = (): { hooks: { onStep: () => unknown; onEpoch: () => unknown }; steps: () => number } => {
    let steps = 0;
    const hooks = {
      onStep: () => ((steps += 1), steps === 3 ? Promise.reject(new Error('logged after the fit')) : undefined),
      onEpoch: () => ({ then: () => undefined }),
    };
    return { hooks, steps: () => steps };
  };

  it.each([
    ['onStep returning a promise that rejects: at step 3', 'onStep', 3],
    ['onEpoch returning a thenable: at the end of epoch 1', 'onEpoch', 12],
  ] as const)('%s, in both trainers', async (_name, hook, step) => {
    const message = `${hook} returned a promise, but ${OBSERVE_SYNCHRONOUSLY}`;
    const direct = counting();
    expect(() => fit(modelFromSpec(spec, settings.seed), data, { ...settings, epochs: 3, [hook]: direct.hooks[hook] })).toThrow(expect.objectContaining({ code: 'E_OPTION', message }));
    const trainer = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers: 2 });
    open.push(trainer);
    const workers = counting();
    await expect(trainer.fit(data, { epochs: 3, batchSize: settings.batchSize, [hook]: workers.hooks[hook] })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION', message }));
    expect(trainer.state.step).toBe(step);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(unhandled).toEqual([]);
  });
});
