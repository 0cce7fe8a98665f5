import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, modelFromSafetensors, modelFromSpec } from '@lockstep/core';
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
