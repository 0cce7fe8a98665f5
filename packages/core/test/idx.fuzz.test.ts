import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { idxImagesToFloat, idxLabels, LockstepError, parseIdx, type IdxArray } from '@lockstep/core';

// Every damaged IDX file must give a parsed array or one E_IDX line: never another error, a hang or
// an allocation the file cannot back. Fixed seeds keep CI reproducible.
const RUNS = { seed: 42, numRuns: 400 };
const SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

function header(type: number, shape: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * shape.length);
  bytes[2] = type;
  bytes[3] = shape.length;
  shape.forEach((dim, i) => new DataView(bytes.buffer).setUint32(4 + 4 * i, dim));
  return bytes;
}

const validIdx = fc
  .record({ type: fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e), shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }) })
  .chain(({ type, shape }) => {
    const length = shape.reduce((a, b) => a * b, 1) * SIZES[type]!;
    return fc.uint8Array({ minLength: length, maxLength: length }).map((payload) => Buffer.concat([header(type, shape), payload]));
  });

/** Cuts the file short, flips bits in it, or appends junk. */
const damage = (file: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.nat({ max: file.length }).map((length) => file.subarray(0, length)),
    fc.array(fc.record({ at: fc.nat({ max: file.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 8 }).map((flips) => {
      const copy = Uint8Array.from(file);
      for (const { at, bit } of flips) copy[at]! ^= 1 << bit;
      return copy;
    }),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((junk) => Buffer.concat([file, junk])),
  );

const damagedIdx = validIdx.chain(damage);
/** Headers whose dimensions can claim up to 2^128 values, over tiny payloads. */
const hugeClaims = fc
  .record({ type: fc.constantFrom(0x08, 0x0d, 0x0e), shape: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 4 }), payload: fc.uint8Array({ maxLength: 64 }) })
  .map(({ type, shape, payload }) => Buffer.concat([header(type, shape), payload]));

/** Parses `bytes`: the array must match its header, and an error must be one E_IDX line. */
function checkParse(bytes: Uint8Array): IdxArray | LockstepError {
  let parsed: IdxArray;
  try {
    parsed = parseIdx(bytes, 'fuzz.idx');
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    expect((error as LockstepError).code).toBe('E_IDX');
    expect((error as Error).message).toMatch(/^fuzz\.idx: [^\n]+$/);
    return error as LockstepError;
  }
  expect(parsed.data.length).toBe(parsed.shape.reduce((a, b) => a * b, 1));
  for (const convert of [() => idxImagesToFloat(parsed, 'fuzz.idx'), () => idxLabels(parsed, 'fuzz.idx')]) {
    try {
      convert();
    } catch (error) {
      expect(error).toBeInstanceOf(LockstepError);
      expect((error as Error).message).not.toContain('\n');
    }
  }
  return parsed;
}

describe('parseIdx under fuzzing', () => {
  it('truncated, bit-flipped or extended files: the array or one E_IDX line', () => {
    fc.assert(fc.property(damagedIdx, (bytes) => void checkParse(bytes)), RUNS);
  });

  it('the same, gzip-compressed, and damaged gzip streams', () => {
    fc.assert(fc.property(damagedIdx, (bytes) => void checkParse(gzipSync(bytes))), RUNS);
    fc.assert(fc.property(validIdx.chain((file) => damage(gzipSync(file))), (bytes) => void checkParse(bytes)), RUNS);
  });

  it('random bytes, raw and behind a gzip magic', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void checkParse(bytes)), RUNS);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void checkParse(Buffer.concat([Buffer.from([0x1f, 0x8b]), bytes]))), RUNS);
  });

  it('a gzip stream longer than its header promises stops at the promised size, however long it is', () => {
    const longStreams = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }),
      extra: fc.integer({ min: 1, max: 1 << 20 }),
    });
    fc.assert(
      fc.property(longStreams, ({ shape, extra }) => {
        const head = header(0x08, shape);
        const claimed = shape.reduce((a, b) => a * b, 1);
        const error = checkParse(gzipSync(Buffer.concat([head, new Uint8Array(claimed + extra)])));
        expect(error).toBeInstanceOf(LockstepError);
        expect((error as Error).message).toContain(`decompresses to more than ${head.length + claimed} bytes`);
      }),
      { seed: 42, numRuns: 50 },
    );
  });

  it('headers claiming up to 2^128 values are refused in well under a millisecond each, raw or gzip', () => {
    const started = performance.now();
    fc.assert(
      fc.property(hugeClaims, (bytes) => {
        expect(checkParse(bytes)).toBeInstanceOf(LockstepError);
        expect(checkParse(gzipSync(bytes))).toBeInstanceOf(LockstepError);
      }),
      RUNS,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
