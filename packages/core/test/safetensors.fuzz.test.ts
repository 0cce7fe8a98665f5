import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, LockstepError, loadSafetensors, modelFromSpec } from '@lockstep/core';

// Damaged safetensors files never crash or hang the reader: each decodes (and then loads into the
// model, or is refused for its names and shapes) or is refused with one LockstepError line. Seeds
// are fixed, so a failure here is found again by the same run.
const SPEC = { input: [4], layers: [{ type: 'linear', out: 3 }, { type: 'batch-norm1d' }, { type: 'relu' }, { type: 'linear', out: 2 }] };
const model = modelFromSpec(SPEC, 5);
const valid = encodeSafetensors(model);

/** Longest a decode of these small files may take before it counts as a hang. */
const SLOW_MS = 2000;

type Outcome = 'loaded' | 'refused';

function outcomeOf(bytes: Uint8Array): Outcome {
  const started = performance.now();
  const target = modelFromSpec(SPEC, 6);
  try {
    decodeSafetensors(bytes, 'f');
    loadSafetensors(target, bytes, 'f');
    return 'loaded';
  } catch (error) {
    if (!(error instanceof LockstepError)) throw error;
    expect(error.message).not.toMatch(/\n/);
    expect(error.message.startsWith('f: ')).toBe(true);
    return 'refused';
  } finally {
    expect(performance.now() - started).toBeLessThan(SLOW_MS);
  }
}

/** The valid file with some of these done to it: bytes overwritten, a cut, bytes inserted. */
const damaged = fc
  .record({
    writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat()),
    insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 32 }))),
  })
  .map(({ writes, cut, insert }) => {
    let bytes = Uint8Array.from(valid);
    for (const [at, value] of writes) bytes[at % bytes.length] = value;
    if (insert !== null) {
      const at = insert[0] % (bytes.length + 1);
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert[1], ...bytes.subarray(at)]);
    }
    if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
    return bytes;
  });

/** A file whose header is made of arbitrary JSON in the places the format gives meaning to. */
const oddHeaders = fc
  .record({
    tensors: fc.dictionary(
      fc.constantFrom('0.weight', '0.bias', '1.num_batches_tracked', '3.weight', 'x', '__metadata__'),
      fc.record({
        dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8'), fc.jsonValue()),
        shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 3 }), fc.jsonValue()),
        data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -2, max: 80 }), fc.integer({ min: -2, max: 80 })), fc.jsonValue()),
      }),
    ),
    data: fc.uint8Array({ maxLength: 80 }),
  })
  .map(({ tensors, data }) => {
    const text = new TextEncoder().encode(JSON.stringify(tensors));
    const bytes = new Uint8Array(8 + text.length + data.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    bytes.set(data, 8 + text.length);
    return bytes;
  });

describe('fuzzed safetensors files (fast-check, fixed seeds)', () => {
  it('the undamaged file loads', () => {
    expect(outcomeOf(valid)).toBe('loaded');
  });

  it('damaged files: 2,000 load or are refused with one line, none slower than 2 s', () => {
    const seen = new Set<Outcome>();
    fc.assert(fc.property(damaged, (bytes) => void seen.add(outcomeOf(bytes))), { seed: 31, numRuns: 2000 });
    expect(seen).toEqual(new Set(['loaded', 'refused']));
  });

  it('headers of arbitrary JSON values: 2,000 refused or loaded, never a crash', () => {
    fc.assert(fc.property(oddHeaders, (bytes) => void outcomeOf(bytes)), { seed: 32, numRuns: 2000 });
  });

  it('random bytes, and random header lengths: 2,000 refused, never a crash', () => {
    const files = fc.tuple(fc.bigUint64Array({ minLength: 1, maxLength: 1 }), fc.uint8Array({ maxLength: 256 })).map(([length, tail]) => Uint8Array.from([...new Uint8Array(length.buffer), ...tail]));
    fc.assert(fc.property(files, (bytes) => {
      expect(outcomeOf(bytes)).toBe('refused');
    }), { seed: 33, numRuns: 2000 });
  });

  it('every cut of the file is refused', () => {
    for (let length = 0; length < valid.length; length++) expect(outcomeOf(valid.subarray(0, length)), `cut to ${length} bytes`).toBe('refused');
  });
});
