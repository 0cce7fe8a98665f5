import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, exportOnnx, loadSafetensors, modelFromSafetensors, modelFromSpec } from '@lockstep/core';
import { failure } from './helpers/failure.js';

// The export and safetensors calls check what they are given as predict and fit do: a misspelled
// option was ignored (exportOnnx wrote logits for { softMax: true }), null was a TypeError.
const model = modelFromSpec({ input: [4], layers: [{ type: 'linear', out: 3 }] }, 0);

describe('options of exportOnnx and encodeSafetensors', () => {
  it('refuse an unknown field, naming it and the fields they know', () => {
    expect(failure(() => exportOnnx(model, { softMax: true } as never))).toEqual({ code: 'E_OPTION', message: 'exportOnnx options: unknown field "softMax"; known fields: softmax, inputNormalization, metadata' });
    expect(failure(() => encodeSafetensors(model, { meta: {} } as never))).toEqual({ code: 'E_OPTION', message: 'encodeSafetensors options: unknown field "meta"; known fields: metadata' });
  });

  it('refuse options that are not an object', () => {
    expect(failure(() => exportOnnx(model, null as never))).toEqual({ code: 'E_OPTION', message: 'exportOnnx options must be an object (softmax, inputNormalization, metadata), got null' });
    expect(failure(() => encodeSafetensors(model, true as never))).toEqual({ code: 'E_OPTION', message: 'encodeSafetensors options must be an object (metadata), got true' });
  });
});

describe('the bytes a safetensors reader is given', () => {
  const bytes = encodeSafetensors(model);

  it('may be an ArrayBuffer', () => {
    const buffer = bytes.slice().buffer;
    const target = modelFromSpec({ input: [4], layers: [{ type: 'linear', out: 3 }] }, 1);
    loadSafetensors(target, buffer, 'w.safetensors');
    expect(target.params).toEqual(model.params);
    expect([...decodeSafetensors(buffer).stateDict.keys()]).toEqual(['0.weight', '0.bias']);
    expect(modelFromSafetensors(buffer).params).toEqual(model.params);
  });

  it('are refused in one E_OPTION line when neither a Uint8Array nor an ArrayBuffer', () => {
    const needed = "the file's bytes must be a Uint8Array (a Buffer is one) or an ArrayBuffer";
    expect(failure(() => loadSafetensors(model, 'w.safetensors' as never, 'w.safetensors'))).toEqual({ code: 'E_OPTION', message: `w.safetensors: ${needed}, got "w.safetensors"` });
    expect(failure(() => decodeSafetensors([...bytes] as never))).toEqual({ code: 'E_OPTION', message: `safetensors: ${needed}, got an array` });
  });
});
