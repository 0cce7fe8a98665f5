import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprint, modelFromSpec } from '../src/index.js';

const sha = (...parts: Float32Array[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  return hash.digest('hex').slice(0, 16);
};

describe('fingerprint', () => {
  it('is the first 16 hex digits of the SHA-256 of the parameter bytes, then the buffer bytes', () => {
    const params = Float32Array.of(1, -2.5, 3e-8);
    expect(fingerprint(params)).toBe(sha(params));
    expect(fingerprint(params, Float32Array.of(0.5))).toBe(sha(params, Float32Array.of(0.5)));
    // Empty buffers add nothing: a model without BatchNorm has the fingerprint of its parameters.
    expect(fingerprint(params, new Float32Array(0))).toBe(fingerprint(params));
  });

  it('of a model is that of its parameters and buffers, views included', () => {
    const model = modelFromSpec({ input: [4], layers: [{ type: 'linear', out: 3 }, { type: 'batch-norm1d' }] }, 1);
    expect(model.buffers.length).toBeGreaterThan(0);
    expect(fingerprint(model)).toBe(sha(model.params, model.buffers));
    expect(fingerprint(model)).toBe(fingerprint(model.params, model.buffers));
    const inside = new Float32Array(model.params.length + 2);
    inside.set(model.params, 1);
    expect(fingerprint(inside.subarray(1, 1 + model.params.length), model.buffers)).toBe(fingerprint(model));
  });

  it('changes with one bit of one parameter', () => {
    const params = Float32Array.of(1, 2, 3);
    const before = fingerprint(params);
    expect(before).toBe('8e628779e6a74ee0');
    new Uint32Array(params.buffer)[1]! ^= 1;
    expect(fingerprint(params)).not.toBe(before);
  });
});
