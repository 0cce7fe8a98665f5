import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  applyDecisions,
  augmentDecisions,
  augmentRunKey,
  augmentSample,
  checkAugment,
  Dataset,
  fit,
  modelFromSpec,
  sampleAugmentKey,
  sgd,
  syntheticClassification,
  type AugmentDecisions,
  type AugmentSpec,
  type TrainingState,
} from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { loadCheckpoint } from '@lockstep/cli';
import { writeIdxImages } from './helpers/images.js';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';

const bytes = (array: Float32Array): Buffer => Buffer.from(array.buffer, array.byteOffset, array.byteLength);
const NONE: AugmentDecisions = { cropRow: 0, cropColumn: 0, shiftRow: 0, shiftColumn: 0, flip: false, brightness: 0, contrast: 1 };
const FULL = { cropPadding: 2, flip: true, translate: 0.25, brightness: 0.2, contrast: 0.3 };

/** `decisions` applied to a sample of `shape` with values 1, 2, 3, ... as rows of numbers. */
function applied(shape: [number, number, number], decisions: Partial<AugmentDecisions>): number[][] {
  const [, height, width] = shape;
  const source = Float32Array.from({ length: shape[0] * height * width }, (_, i) => i + 1);
  const target = new Float32Array(source.length);
  applyDecisions(source, target, shape, { ...NONE, ...decisions });
  return Array.from({ length: shape[0] * height }, (_, row) => Array.from(target.subarray(row * width, (row + 1) * width)));
}

describe('augmentSample: a pure function of (seed, epoch, sample)', () => {
  it('a spec of zero strength copies the sample bit for bit, whatever the key', () => {
    const source = Float32Array.from({ length: 3 * 5 * 7 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - 0.1);
    const target = new Float32Array(source.length);
    const spec = checkAugment({}, [3, 5, 7]);
    for (const [epoch, sample] of [[0, 0], [3, 17], [9, 123456]] as const) {
      augmentSample(source, target, [3, 5, 7], spec, sampleAugmentKey(augmentRunKey(1), epoch, sample));
      expect(bytes(target).equals(bytes(source))).toBe(true);
    }
    const zeros = checkAugment({ cropPadding: 0, flip: false, translate: 0, brightness: 0, contrast: 0 }, [3, 5, 7]);
    augmentSample(source, target.fill(0), [3, 5, 7], zeros, [1, 2]);
    expect(bytes(target).equals(bytes(source))).toBe(true);
  });

  it('a flip mirrors each row, and flipping twice is the identity bit for bit', () => {
    expect(applied([1, 2, 3], { flip: true })).toEqual([[3, 2, 1], [6, 5, 4]]);
    const source = Float32Array.from({ length: 2 * 4 * 5 }, (_, i) => i / 7 - 1.3);
    const once = new Float32Array(source.length);
    const twice = new Float32Array(source.length);
    applyDecisions(source, once, [2, 4, 5], { ...NONE, flip: true });
    applyDecisions(once, twice, [2, 4, 5], { ...NONE, flip: true });
    expect(bytes(once).equals(bytes(source))).toBe(false);
    expect(bytes(twice).equals(bytes(source))).toBe(true);
  });

  it('the crop, then the translation, move the sample and bring in 0 (per channel)', () => {
    expect(applied([1, 3, 4], { cropRow: 1 })).toEqual([[5, 6, 7, 8], [9, 10, 11, 12], [0, 0, 0, 0]]);
    expect(applied([1, 3, 4], { cropColumn: -1 })).toEqual([[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]);
    expect(applied([1, 3, 4], { shiftColumn: 1 })).toEqual([[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]);
    expect(applied([1, 3, 4], { shiftRow: -2 })).toEqual([[9, 10, 11, 12], [0, 0, 0, 0], [0, 0, 0, 0]]);
    // What the crop cut off does not come back with a translation the other way.
    expect(applied([1, 3, 4], { cropRow: 1, shiftRow: 1 })).toEqual([[0, 0, 0, 0], [5, 6, 7, 8], [9, 10, 11, 12]]);
    // The flip comes last: it mirrors the moved sample.
    expect(applied([1, 3, 4], { shiftColumn: 1, flip: true })).toEqual([[3, 2, 1, 0], [7, 6, 5, 0], [11, 10, 9, 0]]);
    expect(applied([2, 2, 2], { cropRow: -1 })).toEqual([[0, 0], [1, 2], [0, 0], [5, 6]]);
  });

  it('contrast scales each value around the sample mean, then brightness adds, in stored units and unclamped', () => {
    const source = Float32Array.of(0, 0.5, 1, 0.5);
    const target = new Float32Array(4);
    applyDecisions(source, target, [1, 2, 2], { ...NONE, contrast: 1.5, brightness: 0.25 });
    // Mean 0.5: 0.5 + 1.5 * (v - 0.5) + 0.25.
    expect(Array.from(target)).toEqual([0, 0.75, 1.5, 0.75]);
    applyDecisions(source, target, [1, 2, 2], { ...NONE, brightness: -0.5 });
    expect(Array.from(target)).toEqual([-0.5, 0, 0.5, 0]);
  });

  it('seed 0: the decisions of samples 0 and 1 in epochs 0 and 1 (golden: any change to the stream shows here)', () => {
    const spec = checkAugment(FULL, [1, 4, 4]);
    const run = augmentRunKey(0);
    const decisions = (epoch: number, sample: number): AugmentDecisions => augmentDecisions(spec, [1, 4, 4], sampleAugmentKey(run, epoch, sample));
    expect(decisions(0, 0)).toEqual({ cropRow: -2, cropColumn: 2, shiftRow: 0, shiftColumn: -1, flip: true, brightness: 0.15794415832153463, contrast: 1.1818458551861943 });
    expect(decisions(0, 1)).toEqual({ cropRow: -1, cropColumn: 1, shiftRow: -1, shiftColumn: -1, flip: true, brightness: -0.09306114584429333, contrast: 1.089668530902429 });
    expect(decisions(1, 0)).toEqual({ cropRow: 2, cropColumn: -1, shiftRow: 0, shiftColumn: 1, flip: false, brightness: -0.1862651403791337, contrast: 1.1347608177875896 });
  });

  it('the same key gives the same bits; epochs and samples get different decisions; each decision keeps its own counter', () => {
    const shape = [1, 28, 28] as const;
    const spec = checkAugment(FULL, shape);
    const source = Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 28);
    const [first, again] = [new Float32Array(784), new Float32Array(784)];
    const key = sampleAugmentKey(augmentRunKey(5), 2, 41);
    augmentSample(source, first, shape, spec, key);
    augmentSample(source, again, shape, spec, [key[0], key[1]]);
    expect(bytes(again).equals(bytes(first))).toBe(true);
    const run = augmentRunKey(5);
    const seen = new Set<string>();
    for (let epoch = 0; epoch < 4; epoch++) {
      for (let sample = 0; sample < 4; sample++) seen.add(JSON.stringify(augmentDecisions(spec, shape, sampleAugmentKey(run, epoch, sample))));
    }
    expect(seen.size).toBe(16);
    const flipOff = augmentDecisions({ ...spec, flip: false, brightness: 0 }, shape, key);
    expect(flipOff).toEqual({ ...augmentDecisions(spec, shape, key), flip: false, brightness: 0 });
  });

  it('checks its fields and the samples, naming the field and the fix', () => {
    const cases: Array<[AugmentSpec | unknown, readonly number[], string]> = [
      [{ translate: 0.6 }, [1, 28, 28], 'augment.translate must be a number from 0 to 0.5, got 0.6'],
      [{ brightness: -0.1 }, [1, 28, 28], 'augment.brightness must be a number from 0 to 1, got -0.1'],
      [{ contrast: Number.NaN }, [1, 28, 28], 'augment.contrast must be a number from 0 to 1, got NaN'],
      [{ flip: 1 }, [1, 28, 28], 'augment.flip must be true or false, got 1'],
      [{ cropPadding: 1.5 }, [1, 28, 28], 'augment.cropPadding must be a whole number of pixels >= 0, got 1.5'],
      [{ cropPadding: 4 }, [3, 28, 7], "augment.cropPadding 4 is more than half the samples' height or width (28 x 7); give at most 3"],
      [{ rotate: 10 }, [1, 28, 28], 'augment.rotate is not an augmentation; use cropPadding, flip, translate, brightness, contrast'],
      [[], [1, 28, 28], 'augment must be an object such as {"cropPadding": 2, "flip": true}, got an array'],
      [{ flip: true }, [784], 'augment needs image samples of shape [C,H,W], but the data has samples of shape [784]; leave it out for this data'],
    ];
    for (const [spec, shape, message] of cases) expect(() => checkAugment(spec, shape)).toThrow(message);
  });
});

// 300 image-shaped samples [1, 8, 8] in batches of 40 (the last of 20): 8 steps an epoch.
const synthetic = syntheticClassification({ seed: 41, samples: 300, features: 64, classes: 3 });
const images = new Dataset(synthetic.inputs, [1, 8, 8], synthetic.targets);
const spec = {
  input: [1, 8, 8],
  layers: [
    { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
    { type: 'relu' },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', p: 0.3 },
    { type: 'linear', out: 3 },
  ],
};
const optimizer = sgd({ lr: 0.05, momentum: 0.9 });
const settings = { batchSize: 40, chunkSize: 8, seed: 3, optimizer };
const augment = { cropPadding: 2, flip: true, translate: 0.2, brightness: 0.3, contrast: 0.3 };

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function workerTrainer(workers: number): Trainer {
  const made = new Trainer({ model: spec, seed: settings.seed, optimizer, chunkSize: settings.chunkSize, workers });
  open.push(made);
  return made;
}

describe('training with augmentation: the same bits at any worker count, on either trainer, and after a resume', () => {
  const reference = modelFromSpec(spec, settings.seed);
  const straight = fit(reference, images, { ...settings, epochs: 3, augment });

  it('core\'s reference fit equals the worker Trainer at 1 and 2 workers; augmentation changes the run, one of zero strength does not', async () => {
    expect(straight.state.step).toBe(24);
    for (const workers of [1, 2]) {
      const trainer = workerTrainer(workers);
      const run = await trainer.fit(images, { epochs: 3, batchSize: settings.batchSize, augment, validation: images.slice(0, 50) });
      expect(bytes(trainer.params).equals(bytes(reference.params)), `workers=${workers} parameters`).toBe(true);
      expect(bytes(trainer.state.optimizerState).equals(bytes(straight.state.optimizerState)), `workers=${workers} optimizer state`).toBe(true);
      expect(run.history.map((m) => m.loss)).toEqual(straight.history.map((m) => m.loss));
    }
    const plain = modelFromSpec(spec, settings.seed);
    fit(plain, images, { ...settings, epochs: 3 });
    expect(bytes(plain.params).equals(bytes(reference.params))).toBe(false);
    const identity = modelFromSpec(spec, settings.seed);
    fit(identity, images, { ...settings, epochs: 3, augment: { flip: false, cropPadding: 0 } });
    expect(bytes(identity.params).equals(bytes(plain.params))).toBe(true);
  });

  it('a reference run stopped mid-epoch (step 12: epoch 2, batch 4) resumes on 2 workers and ends on the straight run\'s bits', async () => {
    const model = modelFromSpec(spec, settings.seed);
    const controller = new AbortController();
    let steps = 0;
    const first = fit(model, images, { ...settings, epochs: 3, augment, signal: controller.signal, onStep: () => void (++steps === 12 && controller.abort()) });
    expect(first.state).toMatchObject({ step: 12, epoch: 1, batch: 4 });
    const state: TrainingState = { ...first.state, optimizerState: first.state.optimizerState.slice() };
    const trainer = workerTrainer(2);
    trainer.load({ params: model.params.slice(), optimizerState: state.optimizerState, state });
    await trainer.fit(images, { epochs: 2, batchSize: settings.batchSize, augment });
    expect(trainer.state).toMatchObject({ step: 24, epoch: 3, batch: 0 });
    expect(bytes(trainer.params).equals(bytes(reference.params))).toBe(true);
  });

  it('fit refuses augmentation of samples that are not images, in one line', () => {
    const flat = syntheticClassification({ seed: 1, samples: 20, features: 6, classes: 2 });
    const model = modelFromSpec({ input: [6], layers: [{ type: 'linear', out: 2 }] }, 0);
    expect(() => fit(model, flat, { ...settings, epochs: 1, augment: { flip: true } })).toThrow(
      'augment needs image samples of shape [C,H,W], but the data has samples of shape [6]; leave it out for this data',
    );
  });
});

describe('lockstep train with augment', () => {
  const work = mkdtempSync(join(tmpdir(), 'lockstep-augment-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  // 240 images of 28 x 28 (216 to train): 7 steps of 32 an epoch; a small CNN.
  writeIdxImages(join(work, 'images'), 240);
  const config = {
    data: 'idx:images',
    layers: [{ type: 'conv2d', out: 4, kernelSize: 3, padding: 1 }, { type: 'relu' }, { type: 'max-pool2d', kernelSize: 4 }, { type: 'flatten' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 4 }],
    batchSize: 32,
    chunkSize: 8,
    epochs: 2,
    augment: { cropPadding: 3, flip: true, translate: 0.1, brightness: 0.2, contrast: 0.2 },
  };
  writeFileSync(join(work, 'aug.json'), JSON.stringify(config));
  const { augment: _, ...withoutAugment } = config;
  writeFileSync(join(work, 'plain.json'), JSON.stringify(withoutAugment));
  const train = (args: string[]): ReturnType<typeof lockstep> => lockstep(['train', '--quiet', ...args], work);
  let straight = '';

  it('prints the same fingerprint at 1 and 2 workers, and keeps the augmentation in config.json and the checkpoint', () => {
    const one = train(['--config', 'aug.json', '--workers', '1', '--out', 'one']);
    expect(one.stderr).toBe('');
    straight = fingerprintOf(one.stdout);
    expect(fingerprintOf(train(['--config', 'aug.json', '--workers', '2', '--out', 'two']).stdout)).toBe(straight);
    // The flag gives the same run as the config file's object.
    const flag = train(['--config', 'plain.json', '--augment', 'flip,cropPadding=3,translate=0.1,brightness=0.2,contrast=0.2', '--workers', '2', '--out', 'flag']);
    expect(fingerprintOf(flag.stdout)).toBe(straight);
    expect(fingerprintOf(train(['--config', 'plain.json', '--workers', '2', '--out', 'plain']).stdout)).not.toBe(straight);
    expect(JSON.parse(readFileSync(join(work, 'one', 'config.json'), 'utf8')).augment).toEqual(config.augment);
    expect(loadCheckpoint(join(work, 'two', 'checkpoint.lockstep')).config.augment).toEqual(config.augment);
  });

  it('1 epoch and a --resume to 2, and a run stopped by Ctrl-C mid-epoch and resumed, end on the straight fingerprint', async () => {
    expect(train(['--config', 'aug.json', '--epochs', '1', '--workers', '2', '--out', 'split']).status).toBe(0);
    expect(fingerprintOf(train(['--resume', 'split/checkpoint.lockstep', '--epochs', '2', '--workers', '1']).stdout)).toBe(straight);

    // Every step saves, slowly: Ctrl-C once the first checkpoint is there stops a few steps into epoch 1.
    const args = ['train', '--config', 'aug.json', '--workers', '2', '--checkpoint-every', '1', '--out', 'stopped', '--quiet'];
    const run = startLockstep(args, work, { LOCKSTEP_TEST_SLOW_WRITES_MS: '150' });
    const checkpoint = join(work, 'stopped', 'checkpoint.lockstep');
    while (!existsSync(checkpoint)) await new Promise((resolve) => setTimeout(resolve, 20));
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    const saved = loadCheckpoint(checkpoint);
    expect(saved.state.batch).toBeGreaterThan(0);
    const resumed = train(['--resume', 'stopped/checkpoint.lockstep', '--workers', '1']);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });

  it('bad augmentation settings are one line naming the field and the fix', () => {
    writeFileSync(join(work, 'flip.json'), JSON.stringify({ ...config, augment: { flip: 'yes' } }));
    writeFileSync(join(work, 'rotate.json'), JSON.stringify({ ...config, augment: { rotate: 10 } }));
    writeFileSync(join(work, 'number.json'), JSON.stringify({ ...config, augment: 3 }));
    const cases: Array<[string[], string]> = [
      [['--augment', 'translate=0.7'], 'lockstep: --augment translate must be a number from 0 to 0.5, got 0.7'],
      [['--augment', 'brightness=2'], 'lockstep: --augment brightness must be a number from 0 to 1, got 2'],
      [['--augment', 'cropPadding=-1'], 'lockstep: --augment cropPadding must be a whole number of pixels >= 0, got -1'],
      [['--augment', 'zoom=2'], 'lockstep: --augment zoom is not an augmentation; use cropPadding, flip, translate, brightness, contrast'],
      [['--augment', '{"flip": tru}'], 'lockstep: --augment must be an object such as {"cropPadding": 2, "flip": true}, got "{\\"flip\\": tru}"'],
      [['--config', 'flip.json'], 'lockstep: flip.json: "augment.flip" must be true or false, got "yes"'],
      [['--config', 'rotate.json'], 'lockstep: rotate.json: "augment.rotate" is not an augmentation; use cropPadding, flip, translate, brightness, contrast'],
      [['--config', 'number.json'], 'lockstep: number.json: "augment" must be an object such as {"cropPadding": 2, "flip": true}, got 3'],
      [['--config', 'plain.json', '--augment', 'cropPadding=15'], "lockstep: augment.cropPadding 15 is more than half the samples' height or width (28 x 28); give at most 14"],
      [['--augment', 'flip'], 'lockstep: augment needs image samples of shape [C,H,W], but the data has samples of shape [128]; leave it out for this data'],
      [
        ['--resume', 'one/checkpoint.lockstep', '--augment', 'flip'],
        'lockstep: --augment cannot change when resuming: one/checkpoint.lockstep was trained with augment {"cropPadding":3,"flip":true,"translate":0.1,"brightness":0.2,"contrast":0.2}; leave out --augment',
      ],
    ];
    for (const [args, line] of cases) {
      const result = train([...args, '--out', 'refused']);
      expect(result.stderr, args.join(' ')).toBe(`${line}\n`);
      expect(result.status).toBe(1);
    }
    expect(existsSync(join(work, 'refused'))).toBe(false);
  });
});
