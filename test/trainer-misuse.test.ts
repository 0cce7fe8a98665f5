import { afterEach, describe, expect, it } from 'vitest';
import { Dataset, evaluate, fit, LockstepError, modelFromSpec, predict, predictWithUncertainty, sgd, syntheticClassification } from '@lockstep/core';
import { sharedMemoryRanks, Trainer } from '@lockstep/workers';

// A mistake in how a Trainer is called is one LockstepError, at once, and the Trainer stays usable.
const data = syntheticClassification({ seed: 1, samples: 100, features: 8, classes: 3 });
const spec = { input: [8], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 3 }] };
const fitOptions = { epochs: 2, batchSize: 20 };

const open: Trainer[] = [];
function trainer(): Trainer {
  const made = new Trainer({ model: spec, seed: 0, optimizer: sgd({ lr: 0.1 }), chunkSize: 10, workers: 2 });
  open.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** The error `run` throws or rejects with, which must be a LockstepError. */
async function failure(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    return { code: (error as LockstepError).code, message: (error as LockstepError).message };
  }
  throw new Error('expected a LockstepError');
}

describe('a call started while another runs', () => {
  it('is refused at once with E_BUSY; the running fit ends with the bits of a fit alone, and the Trainer goes on', async () => {
    const alone = trainer();
    await alone.fit(data, fitOptions);
    const busy = trainer();
    const running = busy.fit(data, fitOptions);
    const refusals = [
      await failure(() => busy.fit(data, fitOptions)),
      await failure(() => busy.evaluate(data)),
      await failure(() => busy.predict(data.inputs)),
      await failure(() => busy.predictWithUncertainty(data.inputs, { samples: 2, seed: 0 })),
      await failure(() => busy.forwardOnEveryReplica(data.inputs)),
      await failure(() => busy.load({ params: busy.params.slice(), optimizerState: new Float32Array(0), state: busy.state })),
      await failure(() => busy.loadStateDict(busy.stateDict())),
    ];
    expect(refusals).toEqual(
      ['fit', 'evaluate', 'predict', 'predictWithUncertainty', 'forwardOnEveryReplica', 'load', 'loadStateDict'].map((call) => ({
        code: 'E_BUSY',
        message: `${call}: this Trainer is running fit; await it before calling ${call}`,
      })),
    );
    expect((await running).state.step).toBe(10);
    expect(Buffer.from(busy.params.buffer, busy.params.byteOffset, busy.params.byteLength).equals(Buffer.from(alone.params.buffer, alone.params.byteOffset, alone.params.byteLength))).toBe(true);
    expect(busy.isClosed).toBe(false);
    expect(await busy.evaluate(data)).toEqual(await alone.evaluate(data));
  });

  it('an evaluate running refuses a fit the same way', async () => {
    const busy = trainer();
    const running = busy.evaluate(data);
    expect(await failure(() => busy.fit(data, fitOptions))).toEqual({ code: 'E_BUSY', message: 'fit: this Trainer is running evaluate; await it before calling fit' });
    await running;
    expect((await busy.fit(data, fitOptions)).state.step).toBe(10);
  });
});

describe('a loss that does not suit the targets', () => {
  const values = Dataset.regression(data.inputs, [8], new Float32Array(300), 3);
  const wide = Dataset.regression(data.inputs, [8], new Float32Array(400), 4);
  const reference = { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };

  it.each([
    ['an unknown loss', data, { loss: 'hinge' }, 'E_OPTION', 'loss must be "cross-entropy" or "mse", got "hinge"'],
    ['mse on class labels', data, { loss: 'mse' }, 'E_DATA', 'mse needs value targets; use the cross-entropy loss for class labels'],
    ['cross-entropy on value targets', values, { loss: 'cross-entropy' }, 'E_DATA', 'cross-entropy needs class labels; use the mse loss for value targets'],
    ['mse on targets wider than the outputs', wide, {}, 'E_SHAPE', 'mse: the model gives 3 outputs per sample but targets have 4'],
  ] as const)('evaluate, %s: the reference error, and the Trainer stays open', async (_name, set, options, code, message) => {
    const parallel = trainer();
    expect(await failure(() => evaluate(modelFromSpec(spec, 0), set, options as never))).toEqual({ code, message });
    expect(await failure(() => parallel.evaluate(set, options as never))).toEqual({ code, message });
    expect(parallel.isClosed).toBe(false);
  });

  it.each([
    ['value targets beside class labels', { validation: values }, 'E_DATA', 'validation data has value targets but the loss is cross-entropy; give validation data with class labels, like the training data'],
    ['class labels beside value targets', { validation: data, loss: 'mse' }, 'E_DATA', 'mse needs value targets; use the cross-entropy loss for class labels'],
  ] as const)('fit with validation of %s: refused before the first step by both trainers, and the Trainer stays open', async (_name, options, code, message) => {
    const model = modelFromSpec(spec, 0);
    const before = model.params.slice();
    expect(await failure(() => fit(model, data, { ...reference, ...options }))).toEqual({ code, message });
    expect(model.params).toEqual(before);
    const parallel = trainer();
    expect(await failure(() => parallel.fit(data, { ...fitOptions, ...options }))).toEqual({ code, message });
    expect(parallel.state.step).toBe(0);
    expect(parallel.isClosed).toBe(false);
  });

  it('fit on value targets with validation of class labels: the validation data is named', async () => {
    const message = 'validation data has class labels but the loss is mse; give validation data with value targets, like the training data';
    expect(await failure(() => fit(modelFromSpec(spec, 0), values, { ...reference, validation: data }))).toEqual({ code: 'E_DATA', message });
    expect(await failure(() => trainer().fit(values, { ...fitOptions, validation: data }))).toEqual({ code: 'E_DATA', message });
  });
});

describe('load', () => {
  const base = { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0 };
  const reference = { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };

  it.each([
    ['step -1', { ...base, step: -1 }, 'state.step must be an integer >= 0, got -1'],
    ['epoch 1.5', { ...base, epoch: 1.5 }, 'state.epoch must be an integer >= 0, got 1.5'],
    ['epochLossSum NaN', { ...base, step: 2, batch: 2, epochLossSum: NaN }, 'state.epochLossSum must be a finite number, got NaN'],
  ])('a state with %s: the reference fit({ state }) error, nothing loaded, and the Trainer stays open', async (_name, state, message) => {
    expect(await failure(() => fit(modelFromSpec(spec, 0), data, { ...reference, state: { ...state, optimizerState: new Float32Array(0) } }))).toEqual({ code: 'E_OPTION', message: `fit: ${message}` });
    const parallel = trainer();
    const before = parallel.params.slice();
    expect(await failure(() => parallel.load({ params: new Float32Array(before.length).fill(1), optimizerState: new Float32Array(0), state }))).toEqual({ code: 'E_OPTION', message: `load: ${message}` });
    expect(parallel.params).toEqual(before);
    expect(parallel.state.step).toBe(0);
    expect(parallel.isClosed).toBe(false);
  });

  it('without a state, or with params not a Float32Array: one E_OPTION line', async () => {
    const parallel = trainer();
    const params = parallel.params.slice();
    expect(await failure(() => parallel.load({ params, optimizerState: new Float32Array(0) } as never))).toEqual({
      code: 'E_OPTION',
      message: "load: state must be the position saved with the parameters (a checkpoint's, or fit's result.state), got undefined",
    });
    expect(await failure(() => parallel.load({ params: Array.from(params), optimizerState: new Float32Array(0), state: base } as never))).toEqual({
      code: 'E_OPTION',
      message: 'load: params must be a Float32Array, got an array',
    });
  });
});

describe('labels in a Uint8Array, as an IDX file holds them', () => {
  it('train both trainers to the bits of Int32Array labels', async () => {
    const bytes = Dataset.classification(data.inputs, [8], Uint8Array.from(data.targets.kind === 'classes' ? data.targets.labels : []), 3);
    const expected = modelFromSpec(spec, 0);
    fit(expected, data, { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) });
    const reference = modelFromSpec(spec, 0);
    fit(reference, bytes, { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) });
    expect(reference.params).toEqual(expected.params);
    const parallel = trainer();
    await parallel.fit(bytes, fitOptions);
    expect(parallel.params).toEqual(expected.params);
  });
});

describe('the optimizer a Trainer is given', () => {
  it.each([
    ['none', undefined, "optimizer must be an optimizer config, got undefined; build one with sgd({ lr }), adam() or adamw()"],
    ['sgd with lr only', { kind: 'sgd', lr: 0.1 }, 'optimizer has no momentum; build it with sgd()'],
  ])('%s: one E_OPTION line from the constructor, before any worker starts', async (_name, optimizer, message) => {
    expect(await failure(() => new Trainer({ model: spec, seed: 0, optimizer: optimizer as never, workers: 1 }))).toEqual({ code: 'E_OPTION', message });
  });
});

describe('fields a Trainer does not take', () => {
  it.each(['optimizer', 'seed', 'chunkSize', 'kernel'])('Trainer.fit with %s: one line pointing at new Trainer, and the Trainer stays open', async (field) => {
    const parallel = trainer();
    expect(await failure(() => parallel.fit(data, { ...fitOptions, [field]: 1 } as never))).toEqual({
      code: 'E_OPTION',
      message: `Trainer.fit options: ${field} is the Trainer's, the same for every fit; give it to new Trainer({ ${field} })`,
    });
    expect(parallel.isClosed).toBe(false);
  });

  it('a misspelled option of Trainer.fit, evaluate or new Trainer: one line listing the known fields', async () => {
    const parallel = trainer();
    expect(await failure(() => parallel.fit(data, { ...fitOptions, shufle: false } as never))).toEqual({
      code: 'E_OPTION',
      message: 'Trainer.fit options: unknown field "shufle"; known fields: epochs, batchSize, loss, shuffle, augment, validation, onEpoch, onStep, signal, callbacks, earlyStopping',
    });
    expect(await failure(() => parallel.evaluate(data, { batchSize: 8 } as never))).toEqual({ code: 'E_OPTION', message: 'evaluate options: unknown field "batchSize"; known fields: loss' });
    expect(await failure(() => parallel.fit(data, undefined as never))).toEqual({ code: 'E_OPTION', message: 'Trainer.fit: options must be an object with at least epochs and batchSize, got undefined' });
    expect(await failure(() => new Trainer({ model: spec, seed: 0, optimizer: sgd({ lr: 0.1 }), worker: 2 } as never))).toEqual({
      code: 'E_OPTION',
      message: 'new Trainer options: unknown field "worker"; known fields: model, seed, optimizer, chunkSize, workers, kernel, nativeKernels, setup, resourceLimits, ranks',
    });
    expect(parallel.isClosed).toBe(false);
  });
});

describe('data that is not a Dataset', () => {
  const reference = { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };
  const notData = (name: string, got: string): { code: string; message: string } => ({
    code: 'E_DATA',
    message: `${name} must be a Dataset (Dataset.classification, Dataset.regression or new Dataset), got ${got}`,
  });

  it('fit, evaluate and validation: one E_DATA line from both trainers, before any step, and the Trainer stays open', async () => {
    const model = modelFromSpec(spec, 0);
    const before = model.params.slice();
    expect(await failure(() => fit(model, null as never, reference))).toEqual(notData('data', 'null'));
    expect(await failure(() => fit(model, data, { ...reference, validation: {} as never }))).toEqual(notData('validation data', 'an object'));
    expect(await failure(() => evaluate(model, undefined as never))).toEqual(notData('data', 'undefined'));
    expect(await failure(() => evaluate(model, data.inputs as never))).toEqual(notData('data', 'a Float32Array'));
    expect(model.params).toEqual(before);
    const parallel = trainer();
    expect(await failure(() => parallel.fit(null as never, fitOptions))).toEqual(notData('data', 'null'));
    expect(await failure(() => parallel.fit(data, { ...fitOptions, validation: {} as never }))).toEqual(notData('validation data', 'an object'));
    expect(await failure(() => parallel.evaluate(undefined as never))).toEqual(notData('data', 'undefined'));
    expect(parallel.state.step).toBe(0);
    expect(parallel.isClosed).toBe(false);
  });
});

describe('a Dataset or Model that another copy of @lockstep/core made', () => {
  // The tests run core from its TypeScript source; its build in dist/ is a second copy, with classes of its own, as two installed versions would be.
  const anotherCore = (): Promise<typeof import('@lockstep/core')> => import(new URL('../packages/core/dist/index.js', import.meta.url).href);
  const advice = (className: string): string =>
    `got a ${className} made by another copy of @lockstep/core (two are installed: npm ls @lockstep/core lists them); make it with the ${className} of the @lockstep/core that @lockstep/workers uses, or install one version only`;

  it('fit, evaluate, predict and new Trainer name the other copy in one line, where "got an object" left the user guessing', async () => {
    const other = await anotherCore();
    const foreignData = new other.Dataset(data.inputs, [...data.sampleShape], data.targets);
    const dataLine = (name: string) => ({ code: 'E_DATA', message: `${name} must be a Dataset (Dataset.classification, Dataset.regression or new Dataset), ${advice('Dataset')}` });
    const model = modelFromSpec(spec, 0);
    expect(await failure(() => fit(model, foreignData as never, { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) }))).toEqual(dataLine('data'));
    const parallel = trainer();
    expect(await failure(() => parallel.fit(data, { ...fitOptions, validation: foreignData as never }))).toEqual(dataLine('validation data'));
    expect(await failure(() => parallel.predict(foreignData as never))).toEqual({
      code: 'E_DATA',
      message: `inputs must be a Float32Array of samples end to end, or a Dataset, ${advice('Dataset')}`,
    });
    expect(parallel.isClosed).toBe(false);
    // This copy's own Model, trained or not, is taken as it is.
    const own = modelFromSpec(spec, 0);
    const ownTrainer = new Trainer({ model: own, seed: 0, optimizer: sgd({ lr: 0.1 }), workers: 1 });
    open.push(ownTrainer);
    expect(ownTrainer.params).toEqual(own.params);
    const foreignModel = other.modelFromSpec(spec, 0);
    expect(await failure(() => new Trainer({ model: foreignModel as never, seed: 0, optimizer: sgd({ lr: 0.1 }) }))).toEqual({
      code: 'E_OPTION',
      message: `new Trainer: model must be a Model or a model spec, ${advice('Model')}`,
    });
  });
});

describe('callbacks and hooks', () => {
  const reference = { ...fitOptions, chunkSize: 10, seed: 0, optimizer: sgd({ lr: 0.1 }) };

  it.each([
    ['callbacks not an array', { callbacks: { onEpochEnd() {} } }, 'callbacks must be an array of callback objects, such as [{ onEpochEnd: (ctx) => {} }], got an object'],
    ['a callback null', { callbacks: [null] }, 'callbacks[0] must be an object with onStepEnd or onEpochEnd, got null'],
    ['a callback with neither hook', { callbacks: [{ onEpochEnd() {} }, { onEpoch() {} }] }, 'callbacks[1] has neither onStepEnd nor onEpochEnd, so it would never be called; give it one of them'],
    ['onStepEnd not a function', { callbacks: [{ onStepEnd: 5 }] }, 'callbacks[0].onStepEnd must be a function, got 5'],
    ['onEpochEnd not a function', { callbacks: [{ onStepEnd() {}, onEpochEnd: 'log' }] }, 'callbacks[0].onEpochEnd must be a function, got "log"'],
    ['onEpoch not a function', { onEpoch: 5 }, 'onEpoch must be a function, got 5'],
    ['onStep not a function', { onStep: null }, 'onStep must be a function, got null'],
  ])('%s: refused before the first step by both trainers, and the Trainer stays open', async (_name, options, message) => {
    const model = modelFromSpec(spec, 0);
    const before = model.params.slice();
    expect(await failure(() => fit(model, data, { ...reference, ...options } as never))).toEqual({ code: 'E_OPTION', message });
    expect(model.params).toEqual(before);
    const parallel = trainer();
    expect(await failure(() => parallel.fit(data, { ...fitOptions, ...options } as never))).toEqual({ code: 'E_OPTION', message });
    expect(parallel.state.step).toBe(0);
    expect(parallel.isClosed).toBe(false);
  });
});

describe('what predict is given', () => {
  const inputsMessage = (got: string, advice = ''): { code: string; message: string } => ({
    code: 'E_DATA',
    message: `inputs must be a Float32Array of samples end to end, or a Dataset, got ${got}${advice}`,
  });

  it.each([
    ['a plain array', Array.from(data.inputs.subarray(0, 16)), inputsMessage('an array', '; pass Float32Array.from(inputs)')],
    ['a Float64Array', new Float64Array(16), inputsMessage('a Float64Array', '; pass Float32Array.from(inputs)')],
    ['nothing', undefined, inputsMessage('undefined')],
  ])('%s: the same E_DATA line from predict and predictWithUncertainty of both trainers, and the Trainer stays open', async (_name, inputs, expected) => {
    const model = modelFromSpec(spec, 0);
    const parallel = trainer();
    expect(await failure(() => predict(model, inputs as never))).toEqual(expected);
    expect(await failure(() => predictWithUncertainty(model, inputs as never, { samples: 2, seed: 0 }))).toEqual(expected);
    expect(await failure(() => parallel.predict(inputs as never))).toEqual(expected);
    expect(await failure(() => parallel.predictWithUncertainty(inputs as never, { samples: 2, seed: 0 }))).toEqual(expected);
    expect(parallel.isClosed).toBe(false);
  });

  it('a Dataset: the reference predicts its samples, as the Trainer does, with the bits of its inputs', async () => {
    const model = modelFromSpec(spec, 0);
    const parallel = trainer();
    parallel.loadStateDict(model.stateDict());
    const rows = predict(model, data.inputs);
    expect(predict(model, data)).toEqual(rows);
    expect(await parallel.predict(data)).toEqual(rows);
    const uncertainty = predictWithUncertainty(model, data.inputs, { samples: 3, seed: 1 });
    expect(predictWithUncertainty(model, data, { samples: 3, seed: 1 })).toEqual(uncertainty);
    expect(await parallel.predictWithUncertainty(data, { samples: 3, seed: 1 })).toEqual(uncertainty);
  });

  it('predictWithUncertainty without its options: one E_OPTION line from both trainers', async () => {
    const message = 'predictWithUncertainty options must be an object with samples and seed, such as { samples: 30, seed: 0 }, got undefined';
    expect(await failure(() => (predictWithUncertainty as (m: unknown, x: unknown) => unknown)(modelFromSpec(spec, 0), data.inputs))).toEqual({ code: 'E_OPTION', message });
    const parallel = trainer();
    expect(await failure(() => (parallel.predictWithUncertainty as (x: unknown) => unknown).call(parallel, data.inputs))).toEqual({ code: 'E_OPTION', message });
    expect(parallel.isClosed).toBe(false);
  });
});

describe('predict options', () => {
  it('that are not an object, or hold a field no predict takes: one E_OPTION line from both trainers', async () => {
    const model = modelFromSpec(spec, 0);
    const parallel = trainer();
    expect(await failure(() => predict(model, data.inputs, null as never))).toEqual({ code: 'E_OPTION', message: 'predict options must be an object (batchSize), got null' });
    expect(await failure(() => predict(model, data.inputs, { batchSise: 8 } as never))).toEqual({ code: 'E_OPTION', message: 'predict options: unknown field "batchSise"; known fields: batchSize' });
    expect(await failure(() => predictWithUncertainty(model, data.inputs, { samples: 2, seed: 0, passes: 3 } as never))).toEqual({
      code: 'E_OPTION',
      message: 'predictWithUncertainty options: unknown field "passes"; known fields: samples, seed, outputs, batchSize',
    });
    // The Trainer's passes are in blocks its workers claim: it takes no batchSize.
    expect(await failure(() => parallel.predictWithUncertainty(data.inputs, { samples: 2, seed: 0, batchSize: 8 } as never))).toEqual({
      code: 'E_OPTION',
      message: 'predictWithUncertainty options: unknown field "batchSize"; known fields: samples, seed, outputs',
    });
    expect(await failure(() => evaluate(model, data, null as never))).toEqual({ code: 'E_OPTION', message: 'evaluate options must be an object (batchSize, loss), got null' });
    expect(parallel.isClosed).toBe(false);
  });
});

describe('new Trainer: resourceLimits, setup and ranks', () => {
  const options = { model: spec, seed: 0, optimizer: sgd({ lr: 0.1 }), workers: 1 };
  const group = sharedMemoryRanks(2, 1 << 16);

  it.each([
    ['resourceLimits not an object', { resourceLimits: 5 }, 'resourceLimits must be an object (maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb), such as { maxOldGenerationSizeMb: 512 }, got 5'],
    ['a resource limit misspelled', { resourceLimits: { maxOldGenerationSize: 512 } }, 'resourceLimits: unknown field "maxOldGenerationSize"; known fields: maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb'],
    ['a resource limit not a number', { resourceLimits: { maxOldGenerationSizeMb: '512' } }, 'resourceLimits.maxOldGenerationSizeMb must be a finite number > 0, got "512"'],
    ['setup a lone string', { setup: 'file:///tmp/layers.mjs' }, 'setup must be an array of module URLs, got "file:///tmp/layers.mjs"; pass ["file:///tmp/layers.mjs"]'],
    ['setup holding a number', { setup: [5] }, 'setup[0] must be a module URL (a string), got 5'],
    ['ranks null', { ranks: null }, 'ranks must be an object (kind, rank, size), such as sharedMemoryRanks(size, slotBytes)[rank], got null'],
    ['ranks of an unknown kind', { ranks: { ...group[0], kind: 'tcp' } }, "ranks.kind must be one of 'shared-memory', 'mpi', got \"tcp\""],
    ['rank 5 of 2', { ranks: { ...group[0], rank: 5 } }, 'ranks.rank must be an integer in [0, 1], got 5'],
    ['size 0', { ranks: { ...group[0], size: 0 } }, 'ranks.size must be an integer >= 1, got 0'],
    ['more ranks than the buffer holds', { ranks: { ...group[0], size: 3 } }, "ranks.buffer must be a SharedArrayBuffer of at least 196684 bytes for 3 ranks of 65536 bytes, got a buffer of 131144 bytes; make every rank's spec with sharedMemoryRanks(size, slotBytes)"],
  ])('%s: one E_OPTION line from the constructor, before any worker starts', async (_name, extra, message) => {
    expect(await failure(() => new Trainer({ ...options, ...extra } as never))).toEqual({ code: 'E_OPTION', message });
  });
});

describe('a pass of one row where BatchNorm normalizes by the batch\'s statistics (eval mode with trackRunningStats: false, or training)', () => {
  const normSpec = { input: [8], layers: [{ type: 'linear', out: 6 }, { type: 'batch-norm1d', trackRunningStats: false }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 3 }] };
  const rows257 = syntheticClassification({ seed: 2, samples: 257, features: 8, classes: 3 });
  const layer = (mode: string): string => `layer 1 (BatchNorm1d) normalizes by the batch's own statistics ${mode} and needs 2 rows or more`;
  const inEval = layer('in eval mode (trackRunningStats: false)');
  const fewerRows = 'pass a number of rows that leaves 2 rows or more in the last pass, or use trackRunningStats: true';

  it('predict, evaluate, predictWithUncertainty and forwardOnEveryReplica: one E_OPTION line from the Trainer, no worker fails, and it stays open', async () => {
    const parallel = new Trainer({ model: normSpec, seed: 0, optimizer: sgd({ lr: 0.1 }), chunkSize: 10, workers: 2 });
    open.push(parallel);
    expect(await failure(() => parallel.predict(rows257.inputs))).toEqual({ code: 'E_OPTION', message: `predict: 257 rows, 256 at a time, leave a last pass of 1 row, but ${inEval}; ${fewerRows}` });
    expect(await failure(() => parallel.evaluate(rows257))).toEqual({ code: 'E_OPTION', message: `evaluate: 257 rows, 256 at a time, leave a last pass of 1 row, but ${inEval}; ${fewerRows}` });
    expect(await failure(() => parallel.predictWithUncertainty(rows257, { samples: 2, seed: 0 }))).toEqual({
      code: 'E_OPTION',
      message: `predictWithUncertainty: 257 rows, 256 at a time, leave a last pass of 1 row, but ${inEval}; ${fewerRows}`,
    });
    const oneRow = rows257.inputs.subarray(0, 8);
    expect(await failure(() => parallel.forwardOnEveryReplica(oneRow))).toEqual({ code: 'E_OPTION', message: `forwardOnEveryReplica: 1 row, but ${inEval}; pass 2 rows or more, or use trackRunningStats: true` });
    expect(await failure(() => parallel.train().forwardOnEveryReplica(oneRow))).toEqual({ code: 'E_OPTION', message: `forwardOnEveryReplica: 1 row, but ${layer('in training mode')}; pass 2 rows or more` });
    expect(await failure(() => parallel.fit(data, { ...fitOptions, validation: rows257 }))).toEqual({
      code: 'E_OPTION',
      message: `validation data: 257 rows, 256 at a time, leave a last pass of 1 row, but ${inEval}; give validation data of a size that leaves 2 rows or more in the last pass, or use trackRunningStats: true`,
    });
    expect(parallel.isClosed).toBe(false);
    // 258 rows leave a last block of 2: the bits of the reference's batches of 256.
    const rows258 = syntheticClassification({ seed: 2, samples: 258, features: 8, classes: 3 });
    expect(await parallel.eval().predict(rows258.inputs)).toEqual(predict(modelFromSpec(normSpec, 0), rows258.inputs));
  });
});
