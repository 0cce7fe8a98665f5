import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, fillUniform, foldInString, layerTypes, loadSafetensors, modelFromSafetensors, modelFromSpec, rootKey, type LayerSpec } from '@lockstep/core';
import { f32, readFixture, type FixtureTensor } from './helpers/fixtures.js';

/**
 * PyTorch 1.13 is the oracle: tools/parity/generate_safetensors.py saved an nn.Sequential MLP and CNN
 * (BatchNorm's running statistics after 3 training batches included) as safetensors, written with
 * struct and json as the format says, and their eval-mode logits. lockstep loads the files by
 * PyTorch's names and must give the same logits: within 1e-5 (the sums run in another order).
 */
const TOLERANCE = 1e-5;

interface Case {
  spec: { input: number[]; layers: Array<Record<string, unknown>> };
  names: string[];
  input: FixtureTensor;
  logits: FixtureTensor;
}

const fixture = readFixture<{ cases: Record<string, Case> }>('safetensors.json');
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`./fixtures/safetensors/${name}`, import.meta.url)));

function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

describe('PyTorch parity: safetensors files saved by PyTorch', () => {
  it.each([
    ['mlp', 'mlp.safetensors'],
    ['mlp', 'mlp-f64.safetensors'],
    ['cnn', 'cnn.safetensors'],
  ])('%s from %s: the file alone rebuilds the model, and its logits are PyTorch\'s within 1e-5', (name, fileName) => {
    const c = fixture.cases[name];
    const model = modelFromSafetensors(file(fileName), fileName).eval();
    const logits = model.forward(f32(c.input)).data;
    expect(maxDifference(logits, c.logits.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('lockstep\'s names are PyTorch\'s state_dict keys, without BatchNorm\'s num_batches_tracked (read as I64, left out)', () => {
    for (const [name, c] of Object.entries(fixture.cases)) {
      const decoded = decodeSafetensors(file(`${name}.safetensors`));
      const lockstepNames = [...modelFromSpec(c.spec, 0).stateDict().keys()];
      expect(lockstepNames).toEqual(c.names.filter((key) => !key.endsWith('num_batches_tracked')));
      expect(decoded.counters).toEqual(c.names.filter((key) => key.endsWith('num_batches_tracked')));
    }
  });

  it('the CNN\'s running statistics come from PyTorch\'s training batches, not their initial 0 and 1', () => {
    const model = modelFromSafetensors(file('cnn.safetensors'));
    const dict = model.stateDict();
    expect([...dict.get('1.running_mean')!.data].every((v) => v !== 0)).toBe(true);
    expect([...dict.get('1.running_var')!.data].every((v) => v !== 1)).toBe(true);
  });

  it('lockstep writes back the same tensors it read, bit for bit, in PyTorch\'s order', () => {
    for (const name of ['mlp', 'cnn']) {
      const model = modelFromSpec(fixture.cases[name].spec, 5);
      const original = decodeSafetensors(file(`${name}.safetensors`)).stateDict;
      loadSafetensors(model, file(`${name}.safetensors`));
      const written = decodeSafetensors(encodeSafetensors(model)).stateDict;
      expect([...written.keys()]).toEqual([...original.keys()]);
      for (const [key, tensor] of original) expect(Buffer.from(written.get(key)!.data.buffer).equals(Buffer.from(tensor.data.buffer)), key).toBe(true);
    }
  });
});

/** Whether /usr/bin/python3 imports torch, which generate_safetensors.py --check needs. */
function pythonTorchAvailable(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Two models that hold every built-in layer type between them, classic-scaling dropout and a nested sequential included. */
const EVERY_LAYER: Record<string, { input: number[]; layers: LayerSpec[] }> = {
  cnn: {
    input: [2, 8, 8],
    layers: [
      { type: 'conv2d', out: 4, kernelSize: 3, padding: 1 },
      { type: 'batch-norm2d' },
      { type: 'gelu' },
      { type: 'max-pool2d', kernelSize: 2 },
      { type: 'dropout2d', p: 0.25, scaling: 'classic' },
      { type: 'avg-pool2d', kernelSize: 2, stride: 1 },
      { type: 'flatten' },
      { type: 'linear', out: 12, dropConnect: 0.5 },
      { type: 'batch-norm1d' },
      { type: 'leaky-relu', negativeSlope: 0.1 },
      { type: 'dropout', p: 0.5, scaling: 'classic' },
      { type: 'linear', out: 4 },
    ],
  },
  selu: {
    input: [2, 8, 8],
    layers: [
      { type: 'conv2d', out: 3, kernelSize: 3 },
      { type: 'sigmoid' },
      { type: 'global-avg-pool2d' },
      { type: 'layer-norm' },
      { type: 'tanh' },
      { type: 'linear', out: 8 },
      { type: 'selu' },
      { type: 'alpha-dropout', p: 0.1 },
      { type: 'gaussian-dropout', p: 0.2 },
      { type: 'sequential', layers: [{ type: 'linear', out: 6 }, { type: 'relu' }, { type: 'dropout', p: 0.3 }] },
      { type: 'linear', out: 3 },
    ],
  },
};

const torchAvailable = pythonTorchAvailable();
const work = mkdtempSync(join(tmpdir(), 'lockstep-safetensors-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!torchAvailable)(
  `generate_safetensors.py --check, lockstep to PyTorch${torchAvailable ? '' : ' (skipped: /usr/bin/python3 cannot import torch)'}`,
  () => {
    it('the two models hold every built-in layer type', () => {
      const typesIn = (layers: readonly LayerSpec[]): string[] => layers.flatMap((layer) => [layer.type, ...(layer.type === 'sequential' ? typesIn(layer.layers as LayerSpec[]) : [])]);
      const covered = new Set(Object.values(EVERY_LAYER).flatMap((spec) => typesIn(spec.layers)));
      expect(layerTypes().filter((type) => !covered.has(type))).toEqual([]);
    });

    it.each(Object.keys(EVERY_LAYER))('%s: an exported file loads strictly into the nn.Sequential of its spec, whose eval-mode logits are lockstep\'s within 1e-5', (name) => {
      const model = modelFromSpec(EVERY_LAYER[name], 3);
      // Running statistics away from their initial 0 and 1, as after training.
      fillUniform(foldInString(rootKey(9), name), model.buffers, 0.5, 1.5);
      const file = join(work, `${name}.safetensors`);
      const logits = join(work, `${name}-logits.json`);
      writeFileSync(file, encodeSafetensors(model));
      execFileSync(process.execPath, ['tools/parity/lockstep-logits.mjs', file, logits], { cwd: ROOT, stdio: 'ignore' });
      const out = execFileSync('/usr/bin/python3', ['tools/parity/generate_safetensors.py', '--check', file, logits], { cwd: ROOT, encoding: 'utf8' });
      expect(out).toContain(`${file}: ${model.stateDict().size} tensors loaded into torch`);
      const difference = Number(/max abs logit difference from lockstep (\S+)/.exec(out)?.[1]);
      expect(difference).toBeLessThanOrEqual(TOLERANCE);
    });
  },
);
