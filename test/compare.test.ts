import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate, fit, modelFromSpec, type ModelSpec, type TrainingState } from '@lockstep/core';
import { fingerprint } from '@lockstep/cli';
import { checkConfig, readConfigFile } from '../packages/cli/src/config/config-file.js';
import { trainProbe } from '../packages/cli/src/commands/compare.js';
import { dropoutRatesFlag } from '../packages/cli/src/config/dropout-rates.js';
import { modelSpecOf } from '../packages/cli/src/config/model-spec.js';
import { optimizerOf } from '../packages/cli/src/config/optimizer.js';
import { checkFlagsKeepModels, COMPARE_FLAG_KEYS } from '../packages/cli/src/config/config-list.js';
import { DEFAULT_CONFIG, SETTING_KEYS, SETTINGS, type RunConfig } from '../packages/cli/src/config/settings.js';
import { buildProgram } from '../packages/cli/src/program.js';
import { runData } from '../packages/cli/src/data/run-data.js';
import { UserError } from '../packages/cli/src/errors.js';
import { writeIdxImages } from './helpers/images.js';
import { parseXml } from './helpers/xml.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/lockstep.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lockstep-compare-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function lockstep(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Epoch {
  epoch: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  trainEvalLoss: number;
  trainEvalAccuracy: number;
}
interface Summary {
  name: string;
  rate?: number;
  bestValAccuracy: number;
  bestEpoch: number;
  finalTrainAccuracy: number;
  finalValAccuracy: number;
  gap: number;
}
interface Comparison {
  rates: number[];
  configs?: Array<{ name: string; file: string; config: { layers?: unknown[] } }>;
  interrupted: boolean;
  samples: { train: number; trainProbe: number; validation: number };
  runs: Array<{ name: string; rate?: number; folder: string; finished: boolean; initialFingerprint: string; finalFingerprint: string | null; epochs: Epoch[]; summary: Summary | null }>;
}

const readJson = <T>(...path: string[]): T => JSON.parse(readFileSync(join(work, ...path), 'utf8')) as T;
/** compare.json without what depends on the clock or the worker count. */
const numbersOf = (folder: string): unknown =>
  JSON.parse(readFileSync(join(work, folder, 'compare.json'), 'utf8'), (key, value) => (['seconds', 'samplesPerSecond', 'workers'].includes(key) ? undefined : value));

// A small model keeps each run to about a second; --hidden replaces the default 256,256.
const SMALL = ['--epochs', '3', '--hidden', '64,64'];
const RATES = [0, 0.2, 0.5];

describe('lockstep compare', () => {
  it('trains every rate, prints a table that agrees with compare.json, and writes the picture and one folder per rate', () => {
    const { status, stdout, stderr } = lockstep(['compare', '--dropout', '0,0.2,0.5', ...SMALL, '--workers', '2', '--out', 'two']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(readdirSync(join(work, 'two')).sort()).toEqual(['compare.html', 'compare.json', 'compare.svg', 'dropout-0', 'dropout-0.2', 'dropout-0.5']);
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => / \| epoch \d\/3 \| /.test(l)).map((l) => l.split(' | ').slice(0, 2).join(' | '))).toEqual(
      RATES.flatMap((rate) => [1, 2, 3].map((e) => `dropout ${rate} | epoch ${e}/3`)),
    );

    const comparison = readJson<Comparison>('two', 'compare.json');
    expect(comparison.rates).toEqual(RATES);
    expect(comparison.interrupted).toBe(false);
    expect(comparison.samples).toEqual({ train: 4500, trainProbe: 4500, validation: 500 });
    const header = lines.indexOf('dropout | best val acc (epoch) | final train acc | final val acc | gap (train - val)');
    expect(header).toBeGreaterThan(0);
    comparison.runs.forEach((run, i) => {
      expect(run).toMatchObject({ name: `dropout ${RATES[i]}`, rate: RATES[i], folder: `dropout-${RATES[i]}`, finished: true });
      expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
      const last = run.epochs[2]!;
      const best = Math.max(...run.epochs.map((e) => e.valAccuracy));
      const summary = run.summary!;
      expect(summary).toEqual({
        name: `dropout ${RATES[i]}`,
        rate: RATES[i],
        bestValAccuracy: best,
        bestEpoch: run.epochs.find((e) => e.valAccuracy === best)!.epoch,
        finalTrainAccuracy: last.trainEvalAccuracy,
        finalValAccuracy: last.valAccuracy,
        gap: last.trainEvalAccuracy - last.valAccuracy,
      });
      for (const e of run.epochs) {
        // Accuracies are counts over 4,500 probe and 500 validation samples.
        expect(Math.round(e.trainEvalAccuracy * 4500) / 4500).toBe(e.trainEvalAccuracy);
        expect(Math.round(e.valAccuracy * 500) / 500).toBe(e.valAccuracy);
      }
      const gap = summary.gap.toFixed(4);
      const row = [String(RATES[i]), `${summary.bestValAccuracy.toFixed(4)} (${summary.bestEpoch})`, summary.finalTrainAccuracy.toFixed(4), summary.finalValAccuracy.toFixed(4), summary.gap >= 0 ? `+${gap}` : gap];
      expect(lines[header + 2 + i]!.split('|').map((cell) => cell.trim())).toEqual(row);

      const config = readJson<{ dropout: number; hidden: number[]; workers: number }>('two', run.folder, 'config.json');
      expect(config).toMatchObject({ dropout: RATES[i], hidden: [64, 64], epochs: 3, workers: 2 });
      const metrics = readFileSync(join(work, 'two', run.folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(metrics).toEqual(run.epochs);
    });
    expect(lines[lines.length - 1]).toMatch(/^3 rates in 0 min \d+ s; picture in two\/compare\.svg, every number in two\/compare\.json$/);
    expect(readdirSync(join(work, 'two', 'dropout-0.5')).sort()).toEqual(['config.json', 'metrics.jsonl']);
  });

  it('compare.svg is well-formed SVG naming every series, dashed train and solid validation lines', () => {
    const svg = readFileSync(join(work, 'two', 'compare.svg'), 'utf8');
    const document = parseXml(svg);
    expect(document.root).toBe('svg');
    expect(document.rootAttributes).toMatchObject({ xmlns: 'http://www.w3.org/2000/svg', width: '960', height: '540' });
    const names = RATES.flatMap((rate) => [`dropout ${rate}: train`, `dropout ${rate}: validation`]);
    for (const name of names) expect(document.texts).toContain(name);
    for (const title of ['epoch', 'accuracy', 'lockstep compare: dropout 0, 0.2, 0.5 on the built-in data set']) expect(document.texts).toContain(title);
    expect(document.texts.some((t) => t.startsWith('dashed: train accuracy in eval mode (dropout off) on 4500 training samples'))).toBe(true);
    expect(svg).toContain('stroke-dasharray');
    expect(readFileSync(join(work, 'two', 'compare.html'), 'utf8')).toContain(svg);
  });

  it('every rate starts from the same initial weights, bit for bit, and only p differs between the models', () => {
    const comparison = readJson<Comparison>('two', 'compare.json');
    const specs = comparison.runs.map((run) => readJson<{ model: ModelSpec }>('two', run.folder, 'config.json').model);
    const initial = specs.map((spec) => modelFromSpec(spec, 0).params);
    for (const [i, params] of initial.entries()) {
      expect(Buffer.from(params.buffer, params.byteOffset, params.byteLength).equals(Buffer.from(initial[0]!.buffer, initial[0]!.byteOffset, initial[0]!.byteLength))).toBe(true);
      // The trainer's own initial parameters, fingerprinted before the first step, are these.
      expect(comparison.runs[i]!.initialFingerprint).toBe(fingerprint(params));
      const withoutRate = JSON.stringify(specs[i]!.layers.map((l) => (l.type === 'dropout' ? { ...l, p: 'p' } : l)));
      expect(withoutRate).toBe(JSON.stringify(specs[0]!.layers.map((l) => (l.type === 'dropout' ? { ...l, p: 'p' } : l))));
      expect(specs[i]!.layers.filter((l) => l.type === 'dropout').map((l) => (l as { p: number }).p)).toEqual([RATES[i], RATES[i]]);
    }
    expect(new Set(comparison.runs.map((run) => run.finalFingerprint)).size).toBe(3);
  });

  it('train accuracy is the eval-mode accuracy on the training probe after each epoch, as the reference trainer gets it', () => {
    const config = checkConfig({ ...DEFAULT_CONFIG, epochs: 3, hidden: [64, 64], dropout: 0.5 }, 'test');
    const data = runData(config);
    const probe = trainProbe(data.train, config.seed);
    const spec = readJson<{ model: ModelSpec }>('two', 'dropout-0.5', 'config.json').model;
    const model = modelFromSpec(spec, config.seed);
    const epochs = readJson<Comparison>('two', 'compare.json').runs[2]!.epochs;
    let state: TrainingState | undefined;
    for (const recorded of epochs) {
      const result = fit(model, data.train, { epochs: 1, batchSize: config.batchSize, chunkSize: config.chunkSize, seed: config.seed, optimizer: optimizerOf(config), validation: data.validation!, state });
      state = result.state;
      const onProbe = evaluate(model, probe);
      expect([recorded.trainEvalLoss, recorded.trainEvalAccuracy]).toEqual([onProbe.loss, onProbe.accuracy]);
      expect([recorded.valLoss, recorded.valAccuracy]).toEqual([result.history[0]!.valLoss, result.history[0]!.valAccuracy]);
      expect(recorded.accuracy).toBe(result.history[0]!.accuracy);
    }
    // With half the units dropped, the running accuracy of the epoch is not the eval-mode one.
    expect(epochs.every((e) => e.accuracy < e.trainEvalAccuracy)).toBe(true);
  });

  it('--workers 1 gives the same numbers as --workers 2, bit for bit', () => {
    const { status } = lockstep(['compare', '--dropout', '0,0.2,0.5', ...SMALL, '--workers', '1', '--out', 'one', '--quiet']);
    expect(status).toBe(0);
    expect(numbersOf('one')).toEqual(numbersOf('two'));
  });

  it('--json prints one event per line, and --dropout defaults to 0,0.2,0.5', () => {
    const { status, stdout } = lockstep(['compare', '--epochs', '1', '--hidden', '32', '--out', 'json', '--json']);
    expect(status).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['info', 'epoch', 'epoch', 'epoch', 'result']);
    expect(events[0]).toMatchObject({ rates: RATES, trainProbe: 4500, validation: 500, out: 'json' });
    expect(events.slice(1, 4).map((e) => [e.rate, e.epoch])).toEqual(RATES.map((rate) => [rate, 1]));
    const comparison = readJson<Comparison>('json', 'compare.json');
    expect(events[4]).toMatchObject({ interrupted: false, out: 'json', rates: comparison.runs.map((run) => run.summary) });
  });

  it('Ctrl-C stops cleanly with 130 and leaves the finished rates written', async () => {
    const child = spawn(process.execPath, [BIN, 'compare', '--dropout', '0,0.5', '--epochs', '4', '--workers', '1', '--out', 'stopped', '--json'], { cwd: work });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"rate":0.5') && !child.killed) child.kill('SIGINT');
    });
    expect(await exited).toBe(130);
    const result = JSON.parse(output.trim().split('\n').pop()!);
    expect(result).toMatchObject({ event: 'result', interrupted: true });
    expect(result.rates.map((r: Summary) => r.rate)).toEqual([0]);
    const comparison = readJson<Comparison>('stopped', 'compare.json');
    expect(comparison.interrupted).toBe(true);
    expect(comparison.runs.map((run) => [run.rate, run.finished])).toEqual([[0, true], [0.5, false]]);
    expect(comparison.runs[0]!.epochs).toHaveLength(4);
    expect(comparison.runs[1]!.epochs.length).toBeGreaterThanOrEqual(1);
    expect(comparison.runs[1]!.epochs.length).toBeLessThan(4);
    expect(readFileSync(join(work, 'stopped', 'dropout-0', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    parseXml(readFileSync(join(work, 'stopped', 'compare.svg'), 'utf8'));
    expect(readdirSync(join(work, 'stopped')).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});

describe('lockstep compare with augmentation', () => {
  it('trains each rate with the config\'s augmentation: the same bits as lockstep train with it, and not those without it', () => {
    writeIdxImages(join(work, 'images'), 240);
    writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32] }));
    const common = ['--config', 'small.json', '--data', 'idx:images', '--epochs', '2', '--workers', '2'];
    const compared = (folder: string, extra: string[]): string | null => {
      expect(lockstep(['compare', ...common, ...extra, '--dropout', '0.2', '--out', folder, '--quiet']).status).toBe(0);
      return readJson<Comparison>(folder, 'compare.json').runs[0]!.finalFingerprint;
    };
    const augmented = compared('augmented', ['--augment', 'cropPadding=2,flip']);
    const trained = lockstep(['train', ...common, '--augment', 'cropPadding=2,flip', '--dropout', '0.2', '--out', 'trained-augmented']);
    expect(trained.status).toBe(0);
    expect(trained.stdout).toContain(`fingerprint ${augmented}`);
    expect(compared('plain', [])).not.toBe(augmented);
  });
});

describe('--dropout: 1 to 8 distinct rates, each in the range core\'s dropout layers check, [0, 1]', () => {
  it('keeps the order given and allows spaces', () => {
    expect(dropoutRatesFlag('0.5, 0 ,0.25')).toEqual([0.5, 0, 0.25]);
    expect(dropoutRatesFlag('0.99')).toEqual([0.99]);
    expect(dropoutRatesFlag('0,1')).toEqual([0, 1]);
  });

  const notANumber = (item: string): string => `--dropout must be a number, got "${item}"`;
  const outOfRange = (item: string): string => `--dropout: p=${item} is out of range [0, 1]`;
  it.each([
    ['', '--dropout needs 1 to 8 rates separated by commas, e.g. 0,0.2,0.5; got ""'],
    [' ', '--dropout needs 1 to 8 rates separated by commas, e.g. 0,0.2,0.5; got ""'],
    ['a', notANumber('a')],
    ['1.5', outOfRange('1.5')],
    ['1.0001', outOfRange('1.0001')],
    ['0,-0.1', outOfRange('-0.1')],
    ['0,,0.5', notANumber('')],
    ['0.2,NaN', notANumber('NaN')],
    ['0.2,Infinity', notANumber('Infinity')],
    ['0.2,0.2', '--dropout lists the rate 0.2 more than once; give each rate once'],
    ['0.5,0.2,0.50', '--dropout lists the rate 0.5 more than once; give each rate once'],
    ['0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8', '--dropout takes at most 8 rates, got 9 in "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8"'],
  ])('%j: %s', (value, message) => {
    expect(() => dropoutRatesFlag(value)).toThrowError(new UserError(message));
  });
});

it('examples/configs/dropout-compare.json, the README\'s Fashion-MNIST comparison, is a 784-1024-1024-10 MLP with Adam', () => {
  const path = fileURLToPath(new URL('../examples/configs/dropout-compare.json', import.meta.url));
  const config = checkConfig({ ...DEFAULT_CONFIG, ...readConfigFile(path).settings }, path);
  expect(config).toMatchObject({ data: 'fashion-mnist', optimizer: 'adam', lr: 0.001, batchSize: 128, chunkSize: 64, epochs: 15 });
  const layers = modelSpecOf({ ...config, dropout: 0.2 }, [1, 28, 28], 10).layers;
  expect(layers.map((l) => (l.type === 'linear' ? l.out : l.type === 'dropout' ? `dropout ${l.p}` : l.type))).toEqual(['flatten', 1024, 'relu', 'dropout 0.2', 1024, 'relu', 'dropout 0.2', 10]);
});

describe('lockstep compare: bad input is one line naming the flag, with nothing written', () => {
  writeFileSync(join(work, 'no-dropout.json'), JSON.stringify({ layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 10 }] }));
  writeFileSync(join(work, 'with-layers.json'), JSON.stringify({ layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 10 }] }));
  writeFileSync(join(work, 'no-validation.json'), JSON.stringify({ validationSplit: 0 }));
  writeFileSync(join(work, 'skip-bad.json'), JSON.stringify({ skipBadImages: true }));

  it.each([
    [['--dropout', ''], 'lockstep: --dropout needs 1 to 8 rates separated by commas, e.g. 0,0.2,0.5; got ""'],
    [['--dropout', '0.2,0.2'], 'lockstep: --dropout lists the rate 0.2 more than once; give each rate once'],
    [['--hidden', '64,'], 'lockstep: --hidden must be a list of integers >= 1, e.g. 1024,1024, got "64,"'],
    [['--config', 'no-dropout.json'], 'lockstep: no-dropout.json: "layers" has no {"type": "dropout"} entry for --dropout to set; add one, e.g. after an activation'],
    [['--config', 'with-layers.json', '--hidden', '32'], 'lockstep: --hidden sets the widths of the default MLP, but with-layers.json gives "layers"; drop one of the two'],
    [['--config', 'no-validation.json'], 'lockstep: lockstep compare needs validation samples, and validationSplit 0 of 5000 samples leaves none; raise "validationSplit" in --config'],
    [['--image-size', '8,8'], 'lockstep: --image-size 8,8 only applies to images:DIR data, and the data is default; leave it out'],
    [['--skip-bad-images'], 'lockstep: --skip-bad-images only applies to images:DIR data, and the data is default; leave it out'],
    [['--config', 'skip-bad.json'], 'lockstep: "skipBadImages": true in skip-bad.json only applies to images:DIR data, and the data is default; leave it out'],
    [['--data', 'images:x', '--image-fit', 'crop'], 'lockstep: --image-fit crop only applies with an image size; give one (e.g. --image-size 32,32) or leave it out'],
  ])('%j', (args, message) => {
    const { status, stdout, stderr } = lockstep(['compare', ...args, '--out', 'never']);
    expect(stderr).toBe(`${message}\n`);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(readdirSync(work)).not.toContain('never');
  });
});

describe('--dropout reaches the dropout entries inside a sequential', () => {
  writeFileSync(
    join(work, 'nested.json'),
    JSON.stringify({ layers: [{ type: 'sequential', layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }] }, { type: 'linear', out: 10 }] }),
  );

  it('compare trains each rate from the same weights to other parameters, those train gets with that --dropout', () => {
    const { status, stderr } = lockstep(['compare', '--config', 'nested.json', '--dropout', '0,0.9', '--epochs', '1', '--workers', '1', '--out', 'nested', '--quiet']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const [none, high] = readJson<Comparison>('nested', 'compare.json').runs;
    expect(high!.initialFingerprint).toBe(none!.initialFingerprint);
    expect(high!.finalFingerprint).not.toBe(none!.finalFingerprint);
    const model = readJson<{ model: ModelSpec }>('nested', 'dropout-0.9', 'config.json').model;
    expect((model.layers[0] as { layers: Array<{ p?: number }> }).layers[2]).toEqual({ type: 'dropout', p: 0.9 });
    const trained = lockstep(['train', '--config', 'nested.json', '--dropout', '0.9', '--epochs', '1', '--workers', '1', '--out', 'nested-train', '--quiet']);
    expect(trained.stdout).toBe(`fingerprint ${high!.finalFingerprint}\n`);
  });
});

describe('lockstep compare --configs: one model per config file, everything else the same', () => {
  // Three configs with the same layers, so the same initial weights: only where p = 0.5 sits differs.
  const layers = (first: number, second: number): object[] => [
    { type: 'linear', out: 32 },
    { type: 'batch-norm1d' },
    { type: 'relu' },
    { type: 'dropout', p: first },
    { type: 'linear', out: 32 },
    { type: 'batch-norm1d' },
    { type: 'relu' },
    { type: 'dropout', p: second },
    { type: 'linear', out: 10 },
  ];
  const FILES = { 'before-bn.json': layers(0.5, 0), 'after-bn.json': layers(0, 0.5), 'none.json': layers(0, 0) };
  const NAMES = ['before-bn', 'after-bn', 'none'];
  const ARGS = ['compare', '--configs', 'variants/before-bn.json,variants/after-bn.json,variants/none.json', '--epochs', '2'];

  it('trains each config, prints a table of config names, and writes one folder per config; 1 worker gives the numbers of 2', () => {
    mkdirSync(join(work, 'variants'), { recursive: true });
    for (const [file, l] of Object.entries(FILES)) writeFileSync(join(work, 'variants', file), JSON.stringify({ layers: l, batchSize: 64, chunkSize: 32 }));
    const { status, stdout, stderr } = lockstep([...ARGS, '--workers', '2', '--out', 'configs-two']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(readdirSync(join(work, 'configs-two')).sort()).toEqual(['after-bn', 'before-bn', 'compare.html', 'compare.json', 'compare.svg', 'none']);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'comparing before-bn, after-bn, none: one model per config file, 2 epochs each on 4500 samples (500 for validation; train accuracy in eval mode on 4500 of them) with 2 workers; run folder configs-two',
    );
    expect(lines.filter((l) => / \| epoch \d\/2 \| /.test(l)).map((l) => l.split(' | ').slice(0, 2).join(' | '))).toEqual(NAMES.flatMap((name) => [1, 2].map((e) => `${name} | epoch ${e}/2`)));
    const comparison = readJson<Comparison>('configs-two', 'compare.json');
    expect(comparison.configs!.map((c) => [c.name, c.file, c.config.layers])).toEqual(Object.entries(FILES).map(([file, l], i) => [NAMES[i], `variants/${file}`, l]));
    expect(comparison).not.toHaveProperty('rates');
    const header = lines.indexOf('config    | best val acc (epoch) | final train acc | final val acc | gap (train - val)');
    expect(header).toBeGreaterThan(0);
    comparison.runs.forEach((run, i) => {
      expect(run).toMatchObject({ name: NAMES[i], folder: NAMES[i], finished: true });
      expect(run).not.toHaveProperty('rate');
      expect(run.summary).not.toHaveProperty('rate');
      expect(lines[header + 2 + i]!.split('|').map((cell) => cell.trim()).slice(0, 2)).toEqual([NAMES[i], `${run.summary!.bestValAccuracy.toFixed(4)} (${run.summary!.bestEpoch})`]);
      const config = readJson<{ model: ModelSpec; workers: number }>('configs-two', run.folder, 'config.json');
      expect(config.model.layers).toEqual(Object.values(FILES)[i]);
    });
    // The same layers and seed: the same initial weights, bit for bit; different dropout: different models.
    expect(new Set(comparison.runs.map((run) => run.initialFingerprint)).size).toBe(1);
    expect(new Set(comparison.runs.map((run) => run.finalFingerprint)).size).toBe(3);
    expect(lines[lines.length - 1]).toMatch(/^3 configs in 0 min \d+ s; picture in configs-two\/compare\.svg, every number in configs-two\/compare\.json$/);
    const document = parseXml(readFileSync(join(work, 'configs-two', 'compare.svg'), 'utf8'));
    for (const name of NAMES) for (const series of ['train', 'validation']) expect(document.texts).toContain(`${name}: ${series}`);
    expect(document.texts).toContain('lockstep compare: before-bn, after-bn, none on the built-in data set');

    expect(lockstep([...ARGS, '--workers', '1', '--out', 'configs-one', '--quiet']).status).toBe(0);
    expect(numbersOf('configs-one')).toEqual(numbersOf('configs-two'));
  });

  it('a config is trained as lockstep train trains it: the same final fingerprint', () => {
    const trained = lockstep(['train', '--config', 'variants/before-bn.json', '--epochs', '2', '--workers', '2', '--out', 'trained-before-bn']);
    expect(trained.status).toBe(0);
    expect(trained.stdout).toContain(`fingerprint ${readJson<Comparison>('configs-two', 'compare.json').runs[0]!.finalFingerprint}`);
  });
});

it('examples/configs/variance-shift: the same layers in all three; p = 0.5 between each linear layer and its BatchNorm, after each ReLU, or nowhere', () => {
  const folder = fileURLToPath(new URL('../examples/configs/variance-shift/', import.meta.url));
  const read = (name: string) => checkConfig({ ...DEFAULT_CONFIG, ...readConfigFile(join(folder, `${name}.json`)).settings }, name);
  const [before, after, none] = ['dropout-before-bn', 'dropout-after-bn', 'no-dropout'].map(read);
  const shape = (layers: unknown[] | undefined): string[] => (layers as Array<{ type: string; out?: number; p?: number }>).map((l) => (l.type === 'dropout' ? `dropout ${l.p}` : l.out === undefined ? l.type : `${l.type} ${l.out}`));
  const block = (a: number, b: number): string[] => ['linear 512', `dropout ${a}`, 'batch-norm1d', 'relu', `dropout ${b}`];
  expect(shape(before!.layers)).toEqual(['flatten', ...block(0.5, 0), ...block(0.5, 0), 'linear 10']);
  expect(shape(after!.layers)).toEqual(['flatten', ...block(0, 0.5), ...block(0, 0.5), 'linear 10']);
  expect(shape(none!.layers)).toEqual(['flatten', ...block(0, 0), ...block(0, 0), 'linear 10']);
  const rest = (c: typeof before) => ({ ...c, layers: undefined });
  expect(rest(after)).toEqual(rest(before));
  expect(rest(none)).toEqual(rest(before));
  expect(before).toMatchObject({ data: 'fashion-mnist', optimizer: 'adam', lr: 0.001, batchSize: 128, chunkSize: 64, epochs: 5 });
});

describe('lockstep compare --configs: bad input is one line naming the file and the fix, with nothing written', () => {
  mkdirSync(join(work, 'bad', 'sub'), { recursive: true });
  const files: Record<string, unknown> = {
    'a.json': { hidden: [16], epochs: 1 },
    'b.json': { hidden: [8], epochs: 1 },
    'sub/a.json': { hidden: [16], epochs: 1 },
    'fashion.json': { data: 'fashion-mnist', hidden: [16], epochs: 1 },
    'longer.json': { hidden: [16], epochs: 2 },
    'clip.json': { hidden: [16], epochs: 1, clipNorm: 1 },
    'zero-epochs.json': { epochs: 0 },
    'bad-layer.json': { layers: [{ type: 'lineer', out: 16 }], epochs: 1 },
    'layers.json': { layers: [{ type: 'linear', out: 16 }], epochs: 1 },
    'one-sample-chunks.json': { layers: [{ type: 'linear', out: 4 }, { type: 'batch-norm1d' }, { type: 'linear', out: 10 }], batchSize: 4, chunkSize: 1, epochs: 1 },
    'no-validation.json': { hidden: [16], epochs: 1, validationSplit: 0 },
    'early.json': { hidden: [16], dropout: 0.2, epochs: 1, earlyStopping: { patience: 1 } },
    'cosine.json': { hidden: [16], epochs: 1, schedule: { kind: 'cosine' } },
    'default-widths.json': { epochs: 1 },
    'out3.json': { layers: [{ type: 'linear', out: 3 }], epochs: 1 },
    'huge.json': { hidden: [16000, 16000], epochs: 1 },
    'cache.json': { hidden: [8], epochs: 1, cacheMb: 64 },
  };
  for (const [file, config] of Object.entries(files)) writeFileSync(join(work, 'bad', file), JSON.stringify(config));
  writeFileSync(join(work, 'bad', 'broken.json'), '{"epochs": 1');
  const only = 'the configs compared may differ only in "layers", "hidden" and "dropout"';
  const stopsEarly = (compared: string): string => `early stopping does not apply to compare, which trains every ${compared} for all its epochs; remove "earlyStopping" from early.json`;

  it.each([
    [['--configs', 'a.json,b.json', '--dropout', '0.2'], '--configs compares whole config files and --dropout the rates of one model; give one of the two'],
    [['--configs', 'a.json', '--config', 'b.json'], '--configs lists every config file compared, so --config is not needed; add its file to --configs'],
    [['--configs', ''], '--configs needs 1 to 8 config files separated by commas, e.g. a.json,b.json; got ""'],
    [['--configs', 'a.json,,b.json'], '--configs needs 1 to 8 config files separated by commas, e.g. a.json,b.json; got "a.json,,b.json"'],
    [['--configs', 'a.json,b.json,a.json'], '--configs lists a.json more than once; give each config file once'],
    [['--configs', '1.json,2.json,3.json,4.json,5.json,6.json,7.json,8.json,9.json'], '--configs takes at most 8 config files, got 9; compare them in two runs'],
    [['--configs', 'a.json,sub/a.json'], '--configs: a.json and sub/a.json would both be named "a" in the table and the run folder; rename one of the files'],
    [['--configs', 'a.json,missing.json'], 'cannot read the config file missing.json: ENOENT; check the path given to --configs'],
    [['--configs', 'a.json,broken.json'], 'broken.json is not valid JSON: Expected \',\' or \'}\' after property value in JSON at position 12'],
    [['--configs', 'a.json,zero-epochs.json'], 'zero-epochs.json: "epochs" must be an integer >= 1, got 0'],
    [['--configs', 'a.json,fashion.json'], `--configs: "data" is "fashion-mnist" in fashion.json but "default" in a.json; ${only}, so give every file the same "data" or set it for all with --data`],
    [['--configs', 'a.json,longer.json'], `--configs: "epochs" is 2 in longer.json but 1 in a.json; ${only}, so give every file the same "epochs" or set it for all with --epochs`],
    [['--configs', 'a.json,clip.json'], `--configs: "clipNorm" is 1 in clip.json but unset in a.json; ${only}, so give every file the same "clipNorm" or set it for all with --clip-norm`],
    [['--configs', 'a.json,bad-layer.json'], 'bad-layer.json: model spec layers[0]: "type" must be one of linear, relu, leaky-relu, tanh, sigmoid, gelu, flatten, dropout, sequential, conv2d, max-pool2d, avg-pool2d, global-avg-pool2d, dropout2d, selu, gaussian-dropout, alpha-dropout, batch-norm1d, batch-norm2d, layer-norm, got "lineer"'],
    [['--configs', 'one-sample-chunks.json'], 'one-sample-chunks.json: chunkSize 1 leaves a chunk of 1 sample, and layer 1 (BatchNorm1d) needs more than 1 value per channel in training; choose a chunkSize that leaves every chunk at least 2 samples'],
    [['--configs', 'a.json,layers.json', '--hidden', '32'], '--hidden sets the widths of the default MLP, but layers.json gives "layers"; drop one of the two'],
    [['--configs', 'no-validation.json'], 'lockstep compare needs validation samples, and validationSplit 0 of 5000 samples leaves none; raise "validationSplit" in every file of --configs'],
    [['--configs', 'early.json'], stopsEarly('config')],
    // Compare has no --early-stopping to set it for all, and refuses early stopping anyway.
    [['--configs', 'a.json,early.json'], stopsEarly('config')],
    // Nor a --schedule: the advice names no flag.
    [['--configs', 'a.json,cosine.json'], `--configs: "schedule" is {"kind":"cosine","eta_min":0,"interval":"epoch"} in cosine.json but unset in a.json; ${only}, so give every file the same "schedule"`],
    [
      ['--configs', 'a.json,b.json', '--hidden', '32'],
      '--hidden would give every file of --configs the same "hidden", which is what they differ in ([16] in a.json, [8] in b.json); leave out --hidden and set "hidden" in each file',
    ],
    [
      ['--configs', 'a.json,default-widths.json', '--hidden', '32'],
      '--hidden would give every file of --configs the same "hidden", which is what they differ in ([16] in a.json, unset (the default [256,256]) in default-widths.json); leave out --hidden and set "hidden" in each file',
    ],
    [['--configs', 'a.json,out3.json'], 'out3.json: data: 10 classes but the model has 3 outputs'],
    [['--configs', 'a.json,cache.json'], '"cacheMb": 64 in cache.json only applies to images:DIR data, and the data is default; leave it out'],
    [['--configs', 'a.json,b.json', '--cache-mb', '64'], '--cache-mb 64 only applies to images:DIR data, and the data is default; leave it out'],
    [
      ['--configs', 'a.json,huge.json', '--workers', '1'],
      'huge.json: the model has 258240010 parameters (985 MiB of float32), too many to train with batch 64, chunkSize 32 and 1 worker: ' +
        "its parameters, optimizer state, 2 chunk gradients and the workers' kernel buffers must fit in one 4 GiB WebAssembly memory; " +
        'use smaller layers or chunkSize 64 (one chunk gradient instead of 2)',
    ],
    [['--config', 'early.json', '--dropout', '0,0.5'], stopsEarly('rate')],
  ])('%j', (args, message) => {
    const result = spawnSync(process.execPath, [BIN, 'compare', ...args, '--out', 'never'], { cwd: join(work, 'bad'), encoding: 'utf8', timeout: 120_000 });
    expect(result.stderr).toBe(`lockstep: ${message}\n`);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(readdirSync(join(work, 'bad'))).not.toContain('never');
  });
});

describe('compare --configs: which flags apply to every file', () => {
  const file = (name: string, fromFile: Partial<RunConfig>) => ({ file: name, fromFile });

  it('a flag of a setting the models are made of is taken where the files agree on it, or none sets it', () => {
    expect(() => checkFlagsKeepModels({ hidden: [32] }, [file('a.json', { hidden: [16], dropout: 0 }), file('b.json', { hidden: [16], dropout: 0.5 })])).not.toThrow();
    expect(() => checkFlagsKeepModels({ hidden: [32] }, [file('a.json', { dropout: 0 }), file('b.json', { hidden: [256, 256], dropout: 0.5 })])).not.toThrow();
    expect(() => checkFlagsKeepModels({ hidden: [32] }, [file('a.json', { hidden: [16] }), file('b.json', { hidden: [16] }), file('c.json', { hidden: [8] })])).toThrow(
      new UserError('--hidden would give every file of --configs the same "hidden", which is what they differ in ([16] in a.json, [8] in c.json); leave out --hidden and set "hidden" in each file'),
    );
  });

  it('the advice for configs that differ names only flags compare has', () => {
    const compare = buildProgram({ exitCode: 0 }).commands.find((command) => command.name() === 'compare')!;
    const flags = new Set(compare.options.map((option) => option.long));
    const settingFlags = SETTING_KEYS.filter((key) => SETTINGS[key].flag !== undefined && flags.has(SETTINGS[key].flag!));
    expect(new Set(settingFlags)).toEqual(COMPARE_FLAG_KEYS);
  });
});

describe('lockstep compare into a folder that already holds a comparison', () => {
  const args = ['compare', '--epochs', '1', '--workers', '1', '--hidden', '16', '--quiet'];
  /** Every file under a folder, by its path inside it, with its bytes. */
  const contents = (folder: string): Record<string, string> =>
    Object.fromEntries(
      readdirSync(join(work, folder), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .sort()
        .map((path) => [path.slice(join(work, folder).length + 1), readFileSync(path, 'base64')]),
    );

  it('is refused with one line, leaving the comparison whole; --overwrite replaces it and keeps other files', () => {
    expect(lockstep([...args, '--dropout', '0,0.5', '--out', 'cmp']).status).toBe(0);
    writeFileSync(join(work, 'cmp', 'notes.txt'), 'mine');
    const before = contents('cmp');
    expect(Object.keys(before)).toEqual([
      'compare.html',
      'compare.json',
      'compare.svg',
      'dropout-0.5/config.json',
      'dropout-0.5/metrics.jsonl',
      'dropout-0/config.json',
      'dropout-0/metrics.jsonl',
      'notes.txt',
    ]);
    const refused = lockstep([...args, '--dropout', '0.2', '--out', 'cmp']);
    expect(refused.stderr).toBe('lockstep: cmp already holds a comparison (compare.json); replace it with --overwrite, or choose another --out\n');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(contents('cmp')).toEqual(before);

    const replaced = lockstep([...args, '--dropout', '0.2', '--out', 'cmp', '--overwrite']);
    expect(replaced.stderr).toBe('');
    expect(replaced.status).toBe(0);
    expect(Object.keys(contents('cmp'))).toEqual(['compare.html', 'compare.json', 'compare.svg', 'dropout-0.2/config.json', 'dropout-0.2/metrics.jsonl', 'notes.txt']);
    expect(readdirSync(join(work, 'cmp')).sort()).toEqual(['compare.html', 'compare.json', 'compare.svg', 'dropout-0.2', 'notes.txt']);
    expect(JSON.parse(readFileSync(join(work, 'cmp', 'compare.json'), 'utf8')).rates).toEqual([0.2]);
    expect(readFileSync(join(work, 'cmp', 'notes.txt'), 'utf8')).toBe('mine');
  });

  it.each([['compare.svg'], ['dropout-0.5/metrics.jsonl']])('without compare.json but with %s: one line naming it, exit 1, the folder unchanged; --overwrite replaces it', (held) => {
    const out = `held-${held.replace('/', '-')}`;
    mkdirSync(join(work, out, 'dropout-0.5'), { recursive: true });
    writeFileSync(join(work, out, held), 'mine');
    writeFileSync(join(work, out, 'notes.txt'), 'mine too');
    const before = contents(out);
    const refused = lockstep([...args, '--dropout', '0,0.5', '--out', out]);
    expect(refused.stderr).toBe(`lockstep: ${out} already holds ${held}, which a comparison writes; replace it with --overwrite, or choose another --out\n`);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(contents(out)).toEqual(before);

    const replaced = lockstep([...args, '--dropout', '0,0.5', '--out', out, '--overwrite']);
    expect(replaced.stderr).toBe('');
    expect(replaced.status).toBe(0);
    expect(Object.keys(contents(out))).toEqual(['compare.html', 'compare.json', 'compare.svg', 'dropout-0.5/config.json', 'dropout-0.5/metrics.jsonl', 'dropout-0/config.json', 'dropout-0/metrics.jsonl', 'notes.txt']);
    expect(readFileSync(join(work, out, held), 'utf8')).not.toBe('mine');
  });

  it('holding only files a comparison never writes, other rates\' folders included: it runs, and they stay; a killed write\'s temporary file goes', () => {
    mkdirSync(join(work, 'others', 'dropout-0.9'), { recursive: true });
    writeFileSync(join(work, 'others', 'dropout-0.9', 'metrics.jsonl'), 'mine');
    writeFileSync(join(work, 'others', 'config.json'), 'mine too');
    writeFileSync(join(work, 'others', 'config.json.tmp-1'), 'mine as well');
    writeFileSync(join(work, 'others', 'compare.json.tmp-1'), '{}');
    const run = lockstep([...args, '--dropout', '0', '--out', 'others']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readdirSync(join(work, 'others')).sort()).toEqual(['compare.html', 'compare.json', 'compare.svg', 'config.json', 'config.json.tmp-1', 'dropout-0', 'dropout-0.9']);
    expect(readFileSync(join(work, 'others', 'dropout-0.9', 'metrics.jsonl'), 'utf8')).toBe('mine');
    expect(readFileSync(join(work, 'others', 'config.json'), 'utf8')).toBe('mine too');
  });
});
