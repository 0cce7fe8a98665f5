import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fingerprint, loadSafetensors, LockstepError, modelFromSpec, predict, softmaxRows, stateDictOf, writeSafetensors, type Model, type ModelSpec } from '@lockstep/core';
import { checkConfig, DEFAULT_CONFIG, loadCheckpoint } from '@lockstep/cli';
import { importCommand, type ImportFlags } from '../packages/cli/src/commands/import.js';
import { runData } from '../packages/cli/src/data/run-data.js';
import { UserError } from '../packages/cli/src/errors.js';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';
import { maxAbsDifference, runOnnx } from './helpers/onnx.js';

// lockstep import of weights written here, as PyTorch would write them, for a small BatchNorm MLP on the built-in data.
const work = mkdtempSync(join(tmpdir(), 'lockstep-import-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const layers = [{ type: 'linear', out: 16 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'dropout', p: 0.2 }, { type: 'linear', out: 10 }];
const spec: ModelSpec = { input: [128], layers } as ModelSpec;
writeFileSync(join(work, 'bn.json'), JSON.stringify({ layers, epochs: 1 }));
const ROWS = 16;
const rows = Array.from({ length: ROWS }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.sin(r * 128 + i * 0.7).toFixed(5)).join(','));
writeFileSync(join(work, 'rows.csv'), `${[Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(','), ...rows].join('\n')}\n`);
const input = Float32Array.from(rows.flatMap((row) => row.split(',').map(Number)));

function run(args: string[]): string {
  const result = lockstep(args, work);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Each tensor's data bytes by name, straight from the file's header offsets: no decoding that could hide a difference. */
function tensorBytes(path: string): Map<string, Buffer> {
  const file = readFileSync(join(work, path));
  const length = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + length).toString()) as Record<string, { data_offsets: [number, number] }>;
  const data = file.subarray(8 + length);
  return new Map(Object.entries(header).filter(([name]) => name !== '__metadata__').map(([name, { data_offsets: [from, to] }]) => [name, data.subarray(from, to)]));
}

/** core's model of bn.json holding `file`'s weights: the reference, without workers or a checkpoint. */
function referenceModel(file: string): Model {
  const model = modelFromSpec(spec, 0);
  loadSafetensors(model, readFileSync(join(work, file)));
  return model;
}

let sha256 = '';
beforeAll(() => {
  // Running statistics unlike any that initialization gives, a -0 and a subnormal, and the tensors in reverse order: the file is read by name, value for value.
  const dict = stateDictOf(modelFromSpec(spec, 7));
  dict.get('1.running_mean')!.data.forEach((_, i, values) => (values[i] = Math.sin(i + 1)));
  dict.get('1.running_var')!.data.forEach((_, i, values) => (values[i] = 0.5 + Math.cos(i) ** 2));
  dict.get('0.bias')!.data.set([-0, 1e-40], 0);
  const bytes = writeSafetensors(new Map([...dict].reverse()), { format: 'pt' });
  writeFileSync(join(work, 'w.safetensors'), bytes);
  sha256 = createHash('sha256').update(bytes).digest('hex');
});

describe('lockstep import', () => {
  it('writes a run folder whose checkpoint holds the file\'s weights at step 0, and records the file and its sha256', () => {
    const out = run(['import', '--config', 'bn.json', '--weights', 'w.safetensors', '--out', 'imp']);
    const values = 128 * 16 + 16 + 4 * 16 + 16 * 10 + 10;
    const reference = referenceModel('w.safetensors');
    const print = fingerprint(reference.params, reference.buffers);
    expect(out).toBe(`imported w.safetensors (8 tensors, ${values} values) as the model of bn.json into imp/checkpoint.lockstep, at step 0; sha256 ${sha256}\nfingerprint ${print}\n`);
    expect(readdirSync(join(work, 'imp')).sort()).toEqual(['checkpoint.lockstep', 'config.json']);
    const checkpoint = loadCheckpoint(join(work, 'imp', 'checkpoint.lockstep'));
    expect(fingerprint(checkpoint.params, checkpoint.buffers!)).toBe(print);
    expect(checkpoint.initFrom).toEqual({ file: 'w.safetensors', sha256 });
    expect(checkpoint.state).toEqual({ step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0 });
    expect(checkpoint.optimizerState).toEqual(new Float32Array(checkpoint.params.length));
    const config = JSON.parse(readFileSync(join(work, 'imp', 'config.json'), 'utf8'));
    expect(config.initFrom).toEqual({ file: 'w.safetensors', sha256 });
    expect(config.model.layers.map((layer: { type: string }) => layer.type)).toEqual(layers.map((layer) => layer.type));
  });

  it('export --format safetensors gives back every tensor of the file byte for byte, running statistics, -0 and a subnormal included', () => {
    run(['export', '--checkpoint', 'imp/checkpoint.lockstep', '--format', 'safetensors', '--out', 'back.safetensors']);
    const [given, back] = [tensorBytes('w.safetensors'), tensorBytes('back.safetensors')];
    expect([...back.keys()]).toEqual([...given.keys()].reverse());
    for (const [name, bytes] of given) expect(back.get(name)!.equals(bytes), name).toBe(true);
  });

  it('predict and eval give what core\'s model on the same weights gives, bit for bit; the ONNX export runs to the same probabilities', async () => {
    const reference = referenceModel('w.safetensors');
    const probabilities = softmaxRows(predict(reference, input), ROWS, 10, new Float64Array(ROWS * 10));
    const expected = Array.from({ length: ROWS }, (_, r) => ({ probabilities: [...probabilities.subarray(r * 10, (r + 1) * 10)].map((p) => Number(p.toPrecision(7))) }));
    expect(JSON.parse(run(['predict', '--checkpoint', 'imp/checkpoint.lockstep', '--input', 'rows.csv', '--workers', '1']))).toEqual(expected);

    const test = runData(checkConfig({ ...DEFAULT_CONFIG, layers }, 'bn.json')).test!;
    const { loss, accuracy } = JSON.parse(run(['eval', '--checkpoint', 'imp/checkpoint.lockstep', '--json', '--workers', '1']));
    expect({ loss, accuracy }).toEqual(evaluate(reference, test));

    run(['export', '--checkpoint', 'imp/checkpoint.lockstep', '--format', 'onnx', '--softmax', '--out', 'imp.onnx']);
    const onnx = await runOnnx(readFileSync(join(work, 'imp.onnx')), input, [ROWS, 128]);
    expect(maxAbsDifference(onnx.data, probabilities)).toBeLessThanOrEqual(1e-6);
  });

  it('train --resume of an imported checkpoint trains as train --init-from with the same file and config, bit for bit', () => {
    // Resumed into another folder, so that imp/ stays the import.
    const resumed = fingerprintOf(run(['train', '--resume', 'imp/checkpoint.lockstep', '--out', 'resumed', '--workers', '1', '--quiet']));
    const tuned = fingerprintOf(run(['train', '--config', 'bn.json', '--init-from', 'w.safetensors', '--workers', '1', '--quiet', '--out', 'tuned']));
    expect(resumed).toBe(tuned);
    expect(loadCheckpoint(join(work, 'resumed', 'checkpoint.lockstep')).initFrom).toEqual({ file: 'w.safetensors', sha256 });
  });
});

describe('lockstep import refuses', () => {
  it('an --out that holds a run in one line, exit 1, leaving it as it was; --overwrite replaces the run with the import of its own exported weights, which ends as it did', () => {
    const trained = readFileSync(join(work, 'tuned', 'checkpoint.lockstep'));
    const { params, buffers } = loadCheckpoint(join(work, 'tuned', 'checkpoint.lockstep'));
    run(['export', '--checkpoint', 'tuned/checkpoint.lockstep', '--format', 'safetensors', '--out', 'tuned.safetensors']);
    const args = ['import', '--config', 'bn.json', '--weights', 'tuned.safetensors', '--out', 'tuned'];
    const refused = lockstep(args, work);
    expect(refused.stderr).toBe("lockstep: tuned already holds a run's checkpoint; continue that run with --resume tuned/checkpoint.lockstep, replace it with --overwrite, or choose another --out\n");
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(readFileSync(join(work, 'tuned', 'checkpoint.lockstep')).equals(trained)).toBe(true);
    expect(fingerprintOf(run([...args, '--overwrite']))).toBe(fingerprint(params, buffers));
    expect(readdirSync(join(work, 'tuned')).sort()).toEqual(['checkpoint.lockstep', 'config.json']);
  });

  it('a missing flag or file, another format, a file that is not safetensors, other names or shapes, and NaN, each in one line, before anything is written', async () => {
    const [config, weights, out] = ['bn.json', 'w.safetensors', 'refused'].map((name) => join(work, name));
    writeFileSync(join(work, 'wide.json'), JSON.stringify({ layers: [{ type: 'linear', out: 32 }, { type: 'relu' }, { type: 'linear', out: 10 }] }));
    const dict = stateDictOf(referenceModel('w.safetensors'));
    dict.get('4.weight')!.data[3] = NaN;
    writeFileSync(join(work, 'nan.safetensors'), writeSafetensors(dict));
    writeFileSync(join(work, 'text.safetensors'), 'x1,x2\n');
    const refusals: Array<[ImportFlags, string]> = [
      [{ weights, out }, '--config is required: the config file (as train takes it) whose "layers" or "hidden" and "data" give the model the weights are for'],
      [{ config, out }, "--weights is required: the .safetensors file of the weights, named as PyTorch's nn.Sequential names them"],
      [{ config, weights: join(work, 'none.safetensors'), out }, `cannot read --weights ${join(work, 'none.safetensors')}: ENOENT; check the path`],
      [{ config, weights: join(work, 'imp', 'checkpoint.lockstep'), out }, `--weights takes a .safetensors file, got ${JSON.stringify(join(work, 'imp', 'checkpoint.lockstep'))}; in PyTorch, safetensors.torch.save_file(model.state_dict(), "w.safetensors") writes one`],
      [{ config, weights: join(work, 'text.safetensors'), out }, `${join(work, 'text.safetensors')}: is truncated: 6 bytes, fewer than the 8 of the header length; it is not a whole safetensors file`],
      [{ config: join(work, 'none.json'), weights, out }, `cannot read the config file ${join(work, 'none.json')}: ENOENT; check the path given to --config`],
      [
        { config: join(work, 'wide.json'), weights, out },
        `${weights}: 10 mismatches with the model: missing 2.weight; missing 2.bias; unexpected 4.bias; unexpected 4.weight; unexpected 1.running_var; unexpected 1.running_mean; unexpected 1.bias; unexpected 1.weight; ` +
          `0.bias has shape [16], the model's is [32]; 0.weight has shape [16,128], the model's is [32,128]; give the tensors of a model with the same layers and sizes, or describe their model in ${join(work, 'wide.json')}'s "layers" or "hidden"`,
      ],
      [{ config, weights: join(work, 'nan.safetensors'), out }, `${join(work, 'nan.safetensors')}: tensor "4.weight" holds NaN at index 3; training starts from finite weights, so save them again from a model that has no NaN or infinity`],
    ];
    for (const [flags, message] of refusals) {
      const error = await importCommand(flags).then(() => null, (thrown: unknown) => thrown);
      // The two kinds the command line prints as one line, without a stack.
      expect(error instanceof UserError || error instanceof LockstepError, String(error)).toBe(true);
      expect((error as Error).message).toBe(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});
