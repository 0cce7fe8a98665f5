import { describe, expect, it } from 'vitest';
import { checkStateValues, decodeSafetensors, encodeSafetensors, loadSafetensors, modelFromSafetensors, modelFromSpec, readSafetensors, writeSafetensors, type Model } from '@lockstep/core';
import { failure } from './helpers/failure.js';

const SPEC = {
  input: [1, 5, 5],
  layers: [{ type: 'conv2d', out: 2, kernelSize: 3 }, { type: 'batch-norm2d' }, { type: 'relu' }, { type: 'flatten' }, { type: 'linear', out: 3 }],
};

function trained(): Model {
  const model = modelFromSpec(SPEC, 3);
  model.buffers.forEach((_, i) => (model.buffers[i] = 0.5 + i / 8));
  return model;
}

/** A safetensors file from a header object and data bytes, as another writer might make it. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), headerText = JSON.stringify(header)): Uint8Array {
  const text = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + text.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
  bytes.set(text, 8);
  bytes.set(data, 8 + text.length);
  return bytes;
}

function little(values: number[], kind: 'f16' | 'bf16' | 'f64' | 'i64' | 'f32'): Uint8Array {
  const size = { f16: 2, bf16: 2, f64: 8, i64: 8, f32: 4 }[kind];
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (kind === 'f16' || kind === 'bf16') view.setUint16(i * 2, v, true);
    else if (kind === 'f64') view.setFloat64(i * 8, v, true);
    else if (kind === 'i64') view.setBigInt64(i * 8, BigInt(v), true);
    else view.setFloat32(i * 4, v, true);
  });
  return bytes;
}

describe('safetensors', () => {
  it('writes the format\'s layout: u64 header length, a JSON header padded to 8 bytes, F32 little-endian data with offsets after the header', () => {
    const bytes = writeSafetensors([['a', { shape: [2], data: Float32Array.of(1, -2) }], ['b.c', { shape: [1, 1], data: Float32Array.of(0.5) }]], { note: 'x' });
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { note: 'x' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      'b.c': { dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] },
    });
    expect(bytes.length).toBe(8 + n + 12);
    expect([0, 4, 8].map((at) => view.getFloat32(8 + n + at, true))).toEqual([1, -2, 0.5]);
  });

  it('refuses to write what its reader would refuse or lose, in one line each: metadata that is not strings, data that does not fill the shape, a name used twice', () => {
    const tensor = { shape: [2], data: Float32Array.of(1, 2) };
    const convert = 'safetensors metadata holds only strings, so convert it (String(value) or JSON.stringify(value))';
    expect(failure(() => encodeSafetensors(trained(), { metadata: { epoch: 3 } as never }))).toEqual({ code: 'E_OPTION', message: `encodeSafetensors: options.metadata["epoch"] is 3, not a string; ${convert}` });
    expect(failure(() => encodeSafetensors(trained(), { metadata: 'run 3' as never }))).toEqual({ code: 'E_OPTION', message: 'encodeSafetensors: options.metadata must be an object of string values, got "run 3"' });
    expect(failure(() => writeSafetensors([['a', tensor]], { tags: ['x'] } as never))).toEqual({ code: 'E_OPTION', message: `writeSafetensors: metadata["tags"] is an array, not a string; ${convert}` });
    expect(failure(() => writeSafetensors([['a', tensor]], null as never))).toEqual({ code: 'E_OPTION', message: 'writeSafetensors: metadata must be an object of string values, got null' });
    expect(failure(() => writeSafetensors([['a', { shape: [2, 2], data: new Float32Array(3) }]]))).toEqual({ code: 'E_SHAPE', message: 'writeSafetensors: tensor "a" has 3 values, its shape [2,2] needs 4' });
    expect(failure(() => writeSafetensors([['a', { shape: [1.5, 2], data: new Float32Array(3) }]]))).toEqual({
      code: 'E_SHAPE',
      message: 'writeSafetensors: tensor "a" has a shape that is not a list of integers >= 0, got [1.5,2]',
    });
    expect(failure(() => writeSafetensors([['a', tensor], ['b', tensor], ['a', tensor]]))).toEqual({ code: 'E_FORMAT', message: 'writeSafetensors: two tensors are named "a"; give each tensor its own name' });
    expect(failure(() => writeSafetensors([['__metadata__', tensor]]))).toEqual({ code: 'E_FORMAT', message: 'writeSafetensors: "__metadata__" is not a tensor name; rename the tensor' });
  });

  it('writes a tensor named "__proto__" as a name like any other', () => {
    const read = readSafetensors(writeSafetensors([['__proto__', { shape: [1], data: Float32Array.of(7) }]]));
    expect([...read.tensors].map(([name, t]) => [name, [...t.data]])).toEqual([['__proto__', [7]]]);
  });

  it('round-trips a model with its running statistics exactly, and the file alone rebuilds it', () => {
    const model = trained();
    const bytes = encodeSafetensors(model, { metadata: { source: 'test' } });
    const decoded = decodeSafetensors(bytes);
    expect([...decoded.stateDict.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '4.weight', '4.bias']);
    expect(decoded.metadata.source).toBe('test');
    expect(decoded.metadata.format).toBe('pt');
    expect(JSON.parse(decoded.metadata['lockstep.spec']).layers[0]).toMatchObject({ type: 'conv2d', out: 2 });
    const rebuilt = modelFromSafetensors(bytes);
    expect(rebuilt.params).toEqual(model.params);
    expect(rebuilt.buffers).toEqual(model.buffers);
    const input = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    expect(rebuilt.eval().forward(input).data.slice()).toEqual(model.eval().forward(input).data.slice());
  });

  it('reads F16, BF16 and F64 as float32, and I64 only for num_batches_tracked (left out)', () => {
    const data = [little([0x3c00, 0xc000, 0x0001], 'f16'), little([0x3f80, 0x4049], 'bf16'), little([0.1], 'f64'), little([7], 'i64')];
    const offsets: number[] = [0];
    for (const d of data) offsets.push(offsets.at(-1)! + d.length);
    const all = new Uint8Array(offsets.at(-1)!);
    data.forEach((d, i) => all.set(d, offsets[i]));
    const decoded = decodeSafetensors(
      file(
        {
          h: { dtype: 'F16', shape: [3], data_offsets: [offsets[0], offsets[1]] },
          b: { dtype: 'BF16', shape: [2], data_offsets: [offsets[1], offsets[2]] },
          d: { dtype: 'F64', shape: [], data_offsets: [offsets[2], offsets[3]] },
          '1.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [offsets[3], offsets[4]] },
        },
        all,
      ),
    );
    expect([...decoded.stateDict.get('h')!.data]).toEqual([1, -2, 2 ** -24]);
    expect([...decoded.stateDict.get('b')!.data]).toEqual([1, 3.140625]);
    expect([...decoded.stateDict.get('d')!.data]).toEqual([Math.fround(0.1)]);
    expect(decoded.stateDict.has('1.num_batches_tracked')).toBe(false);
    expect(decoded.counters).toEqual(['1.num_batches_tracked']);
  });

  it('reads F64 NaN, infinity and values that round to float32\'s largest as they are; only a finite value that would round to infinity is refused', () => {
    // 3.4028235677973362e38 is the last double below the midpoint between float32's largest and 2^128.
    const values = [NaN, -Infinity, 3.4028235e38, -3.4028235677973362e38];
    const decoded = decodeSafetensors(file({ d: { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, little(values, 'f64')), 'f');
    expect([...decoded.stateDict.get('d')!.data]).toEqual([NaN, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38]);
    for (const [value, shown] of [[1e300, '1e+300'], [-3.4028235677973366e38, '-3.4028235677973366e+38']] as const) {
      const bytes = file({ d: { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, little([0, 1, -2, value], 'f64'));
      expect(() => decodeSafetensors(bytes, 'f')).toThrow(`f: tensor "d" holds the F64 value ${shown} at index 3, outside float32's range (lockstep reads F64 as float32); save values within ±3.4e38`);
    }
  });

  it('loads NaN and infinity as PyTorch does; checkStateValues refuses them in parameters and running statistics, naming the tensor', () => {
    const source = trained();
    const fix = 'training starts from finite weights, so save them again from a model that has no NaN or infinity';
    for (const [name, index, value] of [['0.bias', 1, NaN], ['1.running_var', 0, -Infinity]] as const) {
      const dict = source.stateDict();
      dict.get(name)!.data[index] = value;
      const target = modelFromSpec(SPEC, 9);
      loadSafetensors(target, writeSafetensors(dict), 'w.safetensors');
      expect(target.stateDict().get(name)!.data[index]).toBe(value);
      expect(() => checkStateValues(dict, 'w.safetensors')).toThrow(`w.safetensors: tensor "${name}" holds ${value} at index ${index}; ${fix}`);
    }
    expect(() => checkStateValues(source.stateDict(), 'w.safetensors')).not.toThrow();
  });

  it('accepts num_batches_tracked of a BatchNorm layer and lists it as unexpected anywhere else', () => {
    const model = trained();
    const dict = model.stateDict();
    const withCounter = (name: string): Uint8Array => {
      const plain = readSafetensors(writeSafetensors(dict));
      const header: Record<string, unknown> = {};
      let end = 0;
      for (const [key, t] of plain.tensors) {
        header[key] = { dtype: 'F32', shape: t.shape, data_offsets: [end, end + t.data.length * 4] };
        end += t.data.length * 4;
      }
      header[name] = { dtype: 'I64', shape: [], data_offsets: [end, end + 8] };
      const data = new Uint8Array(end + 8);
      let at = 0;
      for (const t of plain.tensors.values()) data.set(little([...t.data], 'f32'), (at += t.data.length * 4) - t.data.length * 4);
      data.set(little([12], 'i64'), end);
      return file(header, data);
    };
    const target = modelFromSpec(SPEC, 9);
    loadSafetensors(target, withCounter('1.num_batches_tracked'), 'w.safetensors');
    expect(target.params).toEqual(model.params);
    expect(() => loadSafetensors(target, withCounter('4.num_batches_tracked'), 'w.safetensors')).toThrow(
      'w.safetensors: 1 mismatch with the model: unexpected 4.num_batches_tracked; give the tensors of a model with the same layers and sizes',
    );
  });

  it('lists every name and shape that does not match the model in one line', () => {
    const other = modelFromSpec({ input: [1, 5, 5], layers: [{ type: 'conv2d', out: 3, kernelSize: 3 }, { type: 'flatten' }, { type: 'linear', out: 3 }] }, 0);
    expect(() => loadSafetensors(trained(), encodeSafetensors(other), 'w.safetensors')).toThrow(
      'w.safetensors: 10 mismatches with the model: missing 1.weight; missing 1.bias; missing 1.running_mean; missing 1.running_var; missing 4.weight; missing 4.bias; ' +
        "0.weight has shape [3,1,3,3], the model's is [2,1,3,3]; 0.bias has shape [3], the model's is [2]; unexpected 2.weight; unexpected 2.bias; give the tensors of a model with the same layers and sizes",
    );
  });

  const refusals: Array<[string, Uint8Array, string]> = [
    ['a truncated file', Uint8Array.of(1, 2, 3), 'f: is truncated: 3 bytes, fewer than the 8 of the header length; it is not a whole safetensors file'],
    ['a header length larger than the file', file({}).subarray(0, 9), 'f: the header length 2 is larger than the file (9 bytes); the file is truncated or not safetensors'],
    ['a header that is not JSON', file(null, undefined, '{"a": '), 'f: the header is not JSON (Unexpected end of JSON input); the file is corrupted or not safetensors'],
    ['a header that is a list', file([]), 'f: the header is not a JSON object; the file is corrupted or not safetensors'],
    ['metadata that is not strings', file({ __metadata__: { a: 1 } }), 'f: "__metadata__" must be an object of string values; the file is corrupted or not safetensors'],
    ['an unread dtype', file({ w: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), 'f: tensor "w" has dtype I32, which lockstep does not read; save it as F32 (F16, BF16 and F64 are converted)'],
    ['I64 outside a counter', file({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'f: tensor "w" has dtype I64, which lockstep reads only for BatchNorm\'s num_batches_tracked; save it as F32'],
    ['offsets past the data', file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), 'f: tensor "w" has data_offsets [0, 8] past the 4 data bytes; the file is truncated'],
    ['offsets that do not match the shape', file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), 'f: tensor "w" has 4 data bytes, its shape [2] of F32 needs 8; the file is corrupted or not safetensors'],
    ['backwards offsets', file({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(8)), 'f: tensor "w" has "data_offsets" that are not [begin, end] with 0 <= begin <= end; the file is corrupted or not safetensors'],
    [
      'overlapping tensors',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      'f: tensors "a" and "b" overlap (data_offsets [0, 8] and [4, 12]); the file is corrupted',
    ],
    ['a bad shape', file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), 'f: tensor "w" has a "shape" that is not a list of integers >= 0; the file is corrupted or not safetensors'],
    // huggingface/safetensors' validate: sorted by offsets, the tensors cover the data from byte 0 to the end, each byte once.
    [
      'bytes before the first tensor',
      file({ a: { dtype: 'F32', shape: [3], data_offsets: [16, 28] } }, new Uint8Array(28)),
      'f: data bytes [0, 16) belong to no tensor, before tensor "a" (data_offsets [16, 28]); a safetensors file\'s tensors leave no gaps, so the file is corrupted',
    ],
    [
      'a gap between tensors',
      file({ b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(12)),
      'f: data bytes [4, 8) belong to no tensor, before tensor "b" (data_offsets [8, 12]); a safetensors file\'s tensors leave no gaps, so the file is corrupted',
    ],
    [
      'bytes after the last tensor',
      file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, new Uint8Array(76)),
      'f: the last 64 bytes belong to no tensor (the tensors end at data byte 12 of 76); the file is corrupted or has bytes appended',
    ],
    ['data and no tensor', file({ __metadata__: { a: 'b' } }, new Uint8Array(8)), 'f: the last 8 bytes belong to no tensor (the tensors end at data byte 0 of 8); the file is corrupted or has bytes appended'],
    [
      'an empty tensor inside another',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, new Uint8Array(8)),
      'f: tensors "a" and "e" overlap (data_offsets [0, 8] and [4, 4]); the file is corrupted',
    ],
    [
      'a tensor named twice (JSON.parse would keep the second)',
      file(null, new Uint8Array(24), '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}'),
      'f: the header has the key "a" twice in one object (JSON readers differ on which one counts); the file is corrupted',
    ],
    [
      'a name written twice, once escaped',
      file(null, new Uint8Array(4), '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "\\u0061" :{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
      'f: the header has the key "a" twice in one object (JSON readers differ on which one counts); the file is corrupted',
    ],
    [
      'a field twice in one tensor',
      file(null, new Uint8Array(4), '{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,4],"dtype":"F32"}}'),
      'f: the header has the key "dtype" twice in one object (JSON readers differ on which one counts); the file is corrupted',
    ],
  ];
  for (const [what, bytes, message] of refusals) {
    it(`refuses ${what} in one line`, () => {
      expect(() => decodeSafetensors(bytes, 'f')).toThrow(message);
      try {
        decodeSafetensors(bytes, 'f');
      } catch (error) {
        expect(error).toMatchObject({ code: 'E_FORMAT', message });
      }
    });
  }

  it('reads the layouts the format allows: header order unlike the offsets, empty tensors at a boundary, a header padded with spaces, braces, quotes and repeated words inside strings', () => {
    const metadata = { note: '{"a": 1, "a": 2}, [\\"a\\"]', a: 'a' };
    const header = {
      __metadata__: metadata,
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      e: { dtype: 'F32', shape: [0, 3], data_offsets: [8, 8] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      z: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
    };
    const read = readSafetensors(file(null, little([1, 2], 'f32'), `${JSON.stringify(header)}      `), 'f');
    expect([...read.tensors].map(([name, t]) => [name, t.shape, [...t.data]])).toEqual([['b', [1], [2]], ['e', [0, 3], []], ['a', [1], [1]], ['z', [0], []]]);
    expect(read.metadata).toEqual(metadata);
  });

  it('refuses to rebuild a model from a file without lockstep\'s spec', () => {
    expect(() => modelFromSafetensors(writeSafetensors([]), 'f')).toThrow('f: has no "lockstep.spec" metadata, so it does not say which model it holds; build the model yourself and use loadSafetensors');
  });
});
