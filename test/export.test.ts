import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, modelFromSafetensors, softmaxRows, writeSafetensors, type StateDict } from '@lockstep/core';
import { fingerprint, loadCheckpoint } from '@lockstep/cli';
import { exportCommand, type ExportFlags } from '../packages/cli/src/commands/export.js';
import { trainCommand } from '../packages/cli/src/commands/train.js';
import { UserError } from '../packages/cli/src/errors.js';
import { fingerprintOf, lockstep } from './helpers/lockstep.js';
import { argmaxDisagreements, maxAbsDifference, runOnnx } from './helpers/onnx.js';

// lockstep export and train --init-from on the default MLP and the built-in data set, one epoch each.
const work = mkdtempSync(join(tmpdir(), 'lockstep-export-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const train = ['train', '--epochs', '1', '--quiet'];

function run(args: string[]): string {
  const result = lockstep(args, work);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

function refused(args: string[]): string {
  const result = lockstep(args, work);
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  return result.stderr.trim();
}

/** The state dict as a safetensors file of F64 tensors, as PyTorch saves a float64 model, with one value replaced by `value`. */
function f64Safetensors(dict: StateDict, name: string, index: number, value: number): Buffer {
  const header: Record<string, unknown> = {};
  let end = 0;
  for (const [key, tensor] of dict) {
    header[key] = { dtype: 'F64', shape: tensor.shape, data_offsets: [end, end + tensor.data.length * 8] };
    end += tensor.data.length * 8;
  }
  const text = Buffer.from(JSON.stringify(header));
  const bytes = Buffer.alloc(8 + text.length + end);
  bytes.writeBigUInt64LE(BigInt(text.length), 0);
  text.copy(bytes, 8);
  let at = 8 + text.length;
  for (const [key, tensor] of dict) {
    for (let i = 0; i < tensor.data.length; i++, at += 8) bytes.writeDoubleLE(key === name && i === index ? value : tensor.data[i], at);
  }
  return bytes;
}

let source = '';
beforeAll(() => {
  source = fingerprintOf(run([...train, '--workers', '1', '--early-stopping', 'patience=2', '--out', 'source']));
  run(['export', '--checkpoint', 'source/checkpoint.lockstep', '--format', 'safetensors', '--out', 'source.safetensors']);
});

describe('lockstep export --format safetensors', () => {
  it('writes the checkpoint\'s parameters with PyTorch names, and its spec, so the file alone rebuilds the model', () => {
    const checkpoint = loadCheckpoint(join(work, 'source', 'checkpoint.lockstep'));
    const bytes = readFileSync(join(work, 'source.safetensors'));
    const { stateDict, metadata } = decodeSafetensors(bytes);
    expect([...stateDict].map(([name, t]) => `${name} ${JSON.stringify(t.shape)}`)).toEqual(['0.weight [256,128]', '0.bias [256]', '3.weight [256,256]', '3.bias [256]', '6.weight [10,256]', '6.bias [10]']);
    const { 'lockstep.spec': spec, ...rest } = metadata;
    expect(JSON.parse(spec).input).toEqual([128]);
    expect(rest).toEqual({
      format: 'pt',
      'lockstep.checkpoint': 'source/checkpoint.lockstep',
      'lockstep.step': String(checkpoint.state.step),
      'lockstep.epoch': '1',
      'lockstep.input.layout': "[128]: the built-in data set's features",
    });
    const model = modelFromSafetensors(bytes);
    expect(Buffer.from(model.params.buffer).equals(Buffer.from(checkpoint.params.buffer, checkpoint.params.byteOffset, checkpoint.params.byteLength))).toBe(true);
    expect(fingerprint(model.params, model.buffers)).toBe(source);
    expect(readdirSync(work).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('exports best.lockstep too', () => {
    const out = run(['export', '--checkpoint', 'source/best.lockstep', '--format', 'safetensors', '--out', 'best.safetensors']);
    expect(out).toMatch(/^exported source\/best\.lockstep \(step \d+, epoch 1; 6 tensors, 101386 values\) as safetensors to best\.safetensors \(\d+ bytes\)\n$/);
    const best = loadCheckpoint(join(work, 'source', 'best.lockstep'));
    expect(modelFromSafetensors(readFileSync(join(work, 'best.safetensors'))).params).toEqual(best.params);
  });

  it('warns in one line on stderr of each classic-scaling dropout, which nn.Dropout does not scale in eval mode; --format onnx, whose graph scales, does not', () => {
    const layers = [
      { type: 'linear', out: 16 },
      { type: 'relu' },
      { type: 'dropout', p: 0.5, scaling: 'classic' },
      { type: 'sequential', layers: [{ type: 'linear', out: 8 }, { type: 'relu' }, { type: 'dropout', p: 0.25, scaling: 'classic' }] },
      { type: 'linear', out: 10 },
    ];
    writeFileSync(join(work, 'classic.json'), JSON.stringify({ layers }));
    run([...train, '--config', 'classic.json', '--workers', '1', '--out', 'classic']);
    const result = lockstep(['export', '--checkpoint', 'classic/checkpoint.lockstep', '--format', 'safetensors', '--out', 'classic.safetensors'], work);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^exported classic\/checkpoint\.lockstep .* as safetensors to classic\.safetensors/);
    expect(result.stderr).toBe(
      "warning: classic-scaling dropout multiplies its output by 1 - p in eval mode, which PyTorch's nn.Dropout and nn.Dropout2d do not: layer 2 (Dropout p=0.5, times 0.5), layer 3.2 (Dropout p=0.25, times 0.75); " +
        "in PyTorch multiply each one's output by that factor at eval (or the weights, not the bias, of the Linear or Conv2d right after it), or export --format onnx, whose graph does\n",
    );
    run(['export', '--checkpoint', 'classic/checkpoint.lockstep', '--format', 'onnx', '--out', 'classic.onnx']);
  });

  it('refuses each bad flag in one line (in process: no training needed)', async () => {
    const checkpoint = join(work, 'source', 'checkpoint.lockstep');
    const refusals: Array<[Partial<ExportFlags>, string]> = [
      [{ format: 'safetensors', out: 'm.safetensors', softmax: true }, '--softmax applies to --format onnx only; leave it out for --format safetensors'],
      [{ format: 'safetensors', out: 'm.safetensors', preprocessing: false }, '--no-preprocessing applies to --format onnx only; leave it out for --format safetensors'],
      [{ format: 'onnx', out: 'm.safetensors' }, '--out must end in .onnx for --format onnx, got "m.safetensors"'],
      [{ format: 'pt', out: 'm.pt' }, '--format must be one of safetensors, onnx, got "pt"'],
      [{ out: 'm.safetensors' }, '--format is required: one of safetensors, onnx'],
      [{ format: 'safetensors' }, '--out is required: the .safetensors file to write'],
      [{ format: 'safetensors', out: checkpoint }, `--out must end in .safetensors for --format safetensors, got ${JSON.stringify(checkpoint)}`],
      [{ format: 'safetensors', out: 'm.safetensors', checkpoint: 'none.lockstep' }, 'cannot read the checkpoint none.lockstep: ENOENT; check the path'],
    ];
    mkdirSync(join(work, 'dir.safetensors'));
    refusals.push([{ format: 'safetensors', out: join(work, 'dir.safetensors') }, `--out ${join(work, 'dir.safetensors')} is a folder; give a file name ending in .safetensors`]);
    for (const [flags, message] of refusals) await expect(exportCommand({ checkpoint, ...flags })).rejects.toThrow(new UserError(message));
  });
});

describe('lockstep export over an existing file', () => {
  it.each([['safetensors'], ['onnx']])('--format %s: one line, exit 1 and the file unchanged; --overwrite replaces it', (format) => {
    const out = `mine.${format}`;
    writeFileSync(join(work, out), 'my own model\n');
    const args = ['export', '--checkpoint', 'source/checkpoint.lockstep', '--format', format];
    const refused = lockstep([...args, '--out', out], work);
    expect(refused.stderr).toBe(`lockstep: ${out} already exists; replace it with --overwrite, or choose another --out\n`);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(readFileSync(join(work, out), 'utf8')).toBe('my own model\n');
    run([...args, '--out', `fresh.${format}`]);
    run([...args, '--out', out, '--overwrite']);
    expect(readFileSync(join(work, out))).toEqual(readFileSync(join(work, `fresh.${format}`)));
  });
});

describe('lockstep export --format onnx', () => {
  it('writes the eval-mode graph that onnxruntime-node runs to predict\'s probabilities (--softmax) or to logits', async () => {
    const rows = Array.from({ length: 64 }, (_, r) => Array.from({ length: 128 }, (_, i) => Math.sin(r * 128 + i * 0.7).toFixed(5)).join(','));
    writeFileSync(join(work, 'rows.csv'), `${[Array.from({ length: 128 }, (_, i) => `x${i + 1}`).join(','), ...rows].join('\n')}\n`);
    const input = Float32Array.from(rows.flatMap((row) => row.split(',').map(Number)));
    const predicted = (JSON.parse(run(['predict', '--checkpoint', 'source/checkpoint.lockstep', '--input', 'rows.csv'])) as Array<{ probabilities: number[] }>).flatMap((row) => row.probabilities);

    expect(run(['export', '--checkpoint', 'source/checkpoint.lockstep', '--format', 'onnx', '--softmax', '--out', 'source.onnx'])).toMatch(
      /^exported source\/checkpoint\.lockstep \(step \d+, epoch 1; 6 tensors, 101386 values\) as onnx to source\.onnx \(\d+ bytes\)\n$/,
    );
    const probabilities = await runOnnx(readFileSync(join(work, 'source.onnx')), input, [64, 128]);
    expect(probabilities.name).toBe('probabilities');
    expect(maxAbsDifference(probabilities.data, predicted)).toBeLessThanOrEqual(1e-5);
    expect(argmaxDisagreements(probabilities.data, predicted, 10)).toBe(0);

    run(['export', '--checkpoint', 'source/checkpoint.lockstep', '--format', 'onnx', '--out', 'logits.onnx']);
    const logits = await runOnnx(readFileSync(join(work, 'logits.onnx')), input, [64, 128]);
    expect(logits.name).toBe('logits');
    expect(maxAbsDifference(softmaxRows(logits.data, 64, 10, new Float64Array(640)), predicted)).toBeLessThanOrEqual(1e-5);
  });
});

describe('lockstep train --init-from', () => {
  it('fine-tunes from the file\'s weights: the same fingerprint at 1 and 2 workers, another than from the seed\'s weights', () => {
    const [one, two, plain] = [
      fingerprintOf(run([...train, '--workers', '1', '--init-from', 'source.safetensors', '--out', 'tuned1'])),
      fingerprintOf(run([...train, '--workers', '2', '--init-from', 'source.safetensors', '--out', 'tuned2'])),
      fingerprintOf(run([...train, '--workers', '1', '--out', 'plain'])),
    ];
    expect(two).toBe(one);
    expect(plain).not.toBe(one);
    expect(plain).toBe(source);
  });

  it('records the file and its sha256 in config.json and every checkpoint, and a resumed run keeps the record', () => {
    const sha256 = createHash('sha256').update(readFileSync(join(work, 'source.safetensors'))).digest('hex');
    const record = { file: 'source.safetensors', sha256 };
    expect(JSON.parse(readFileSync(join(work, 'tuned1', 'config.json'), 'utf8')).initFrom).toEqual(record);
    expect(loadCheckpoint(join(work, 'tuned1', 'checkpoint.lockstep')).initFrom).toEqual(record);
    run(['train', '--resume', 'tuned1/checkpoint.lockstep', '--epochs', '2', '--workers', '1', '--quiet']);
    expect(loadCheckpoint(join(work, 'tuned1', 'checkpoint.lockstep')).initFrom).toEqual(record);
    expect(loadCheckpoint(join(work, 'plain', 'checkpoint.lockstep')).initFrom).toBeUndefined();
  });

  it('export then --init-from reproduces the exported weights exactly (a step of lr 0 changes nothing)', () => {
    const print = fingerprintOf(run([...train, '--workers', '1', '--lr', '0', '--init-from', 'source.safetensors', '--out', 'still']));
    expect(print).toBe(source);
    run(['export', '--checkpoint', 'still/checkpoint.lockstep', '--format', 'safetensors', '--out', 'still.safetensors']);
    const [before, after] = ['source.safetensors', 'still.safetensors'].map((name) => decodeSafetensors(readFileSync(join(work, name))).stateDict);
    for (const [name, tensor] of before) expect(Buffer.from(after.get(name)!.data.buffer).equals(Buffer.from(tensor.data.buffer)), name).toBe(true);
  });

  it('refuses --resume with it, an unreadable file, another format and another model, each in one line', async () => {
    const file = join(work, 'source.safetensors');
    await expect(trainCommand({ initFrom: file, resume: join(work, 'tuned1', 'checkpoint.lockstep') })).rejects.toThrow(
      new UserError('--init-from starts a new run from other weights, --resume continues a run from its own; give one of them'),
    );
    await expect(trainCommand({ initFrom: 'none.safetensors' })).rejects.toThrow(new UserError('cannot read --init-from none.safetensors: ENOENT; check the path'));
    const checkpoint = join(work, 'source', 'checkpoint.lockstep');
    await expect(trainCommand({ initFrom: checkpoint })).rejects.toThrow(new UserError(`--init-from takes a .safetensors file, got ${JSON.stringify(checkpoint)}; write one with lockstep export --format safetensors`));
    writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32] }));
    expect(refused(['train', '--config', 'small.json', '--init-from', 'source.safetensors', '--out', 'small'])).toBe(
      "lockstep: source.safetensors: 6 mismatches with the model: 0.weight has shape [256,128], the model's is [32,128]; 0.bias has shape [256], the model's is [32]; " +
        "3.weight has shape [256,256], the model's is [10,32]; 3.bias has shape [256], the model's is [10]; unexpected 6.weight; unexpected 6.bias; give the tensors of a model with the same layers and sizes, or describe their model in small.json's \"layers\" or \"hidden\"",
    );
    expect(refused(['train', '--init-from', 'source.safetensors', '--data', 'fashion-mnist', '--out', 'images'])).toMatch(/; give the tensors of a model with the same layers and sizes, or describe their model in a --config file \("layers" or "hidden"\)$/);
    expect(existsSync(join(work, 'small'))).toBe(false);
  });

  it('refuses NaN, infinity and an F64 value past float32\'s range in one line, before anything is written', () => {
    const exported = (): StateDict => decodeSafetensors(readFileSync(join(work, 'source.safetensors'))).stateDict;
    const withValue = (name: string, index: number, value: number): StateDict => {
      const dict = exported();
      dict.get(name)!.data[index] = value;
      return dict;
    };
    writeFileSync(join(work, 'nan.safetensors'), writeSafetensors(withValue('3.weight', 5, NaN)));
    writeFileSync(join(work, 'inf.safetensors'), writeSafetensors(withValue('6.bias', 9, -Infinity)));
    writeFileSync(join(work, 'f64.safetensors'), f64Safetensors(exported(), '0.bias', 7, 1e300));
    const fix = 'training starts from finite weights, so save them again from a model that has no NaN or infinity';
    const cases = [
      ['nan', `lockstep: nan.safetensors: tensor "3.weight" holds NaN at index 5; ${fix}`],
      ['inf', `lockstep: inf.safetensors: tensor "6.bias" holds -Infinity at index 9; ${fix}`],
      ['f64', 'lockstep: f64.safetensors: tensor "0.bias" holds the F64 value 1e+300 at index 7, outside float32\'s range (lockstep reads F64 as float32); save values within ±3.4e38'],
    ];
    for (const [name, message] of cases) {
      expect(refused([...train, '--workers', '1', '--init-from', `${name}.safetensors`, '--out', `from-${name}`])).toBe(message);
      expect(existsSync(join(work, `from-${name}`))).toBe(false);
    }
  });

  it('refuses a file with bytes after its last tensor, as huggingface/safetensors does, before anything is written', () => {
    writeFileSync(join(work, 'appended.safetensors'), Buffer.concat([readFileSync(join(work, 'source.safetensors')), Buffer.from('junk')]));
    expect(refused([...train, '--workers', '1', '--init-from', 'appended.safetensors', '--out', 'from-appended'])).toBe(
      'lockstep: appended.safetensors: the last 4 bytes belong to no tensor (the tensors end at data byte 405544 of 405548); the file is corrupted or has bytes appended',
    );
    expect(existsSync(join(work, 'from-appended'))).toBe(false);
  });
});
