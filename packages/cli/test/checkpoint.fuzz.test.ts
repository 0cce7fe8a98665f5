import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { checkOptimizer, KERNEL_FAMILIES, sgd } from '@lockstep/core';
import { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/run/checkpoint.js';
import { modelSpecOf } from '../src/config/model-spec.js';
import { DEFAULT_CONFIG } from '../src/config/settings.js';
import { anyValue, oneLineOr } from './fuzz-helpers.js';

// A checkpoint file, however damaged, loads as a checkpoint of the right shape or gives one line.
// Damage that keeps the checksum valid reaches the msgpack decoder and the schema. Fixed seeds keep
// CI reproducible.
const RUNS = { seed: 3, numRuns: 500 };
const packr = new Packr({ moreTypes: true });

const config = { ...DEFAULT_CONFIG, hidden: [4], epochs: 2 };
const spec = modelSpecOf(config, [6], 3);
const valid: Checkpoint = {
  config,
  spec,
  optimizer: sgd({ lr: config.lr, momentum: config.momentum }),
  kernel: KERNEL_FAMILIES.strict,
  params: Float32Array.from({ length: 43 }, (_, i) => Math.sin(i)),
  optimizerState: Float32Array.from({ length: 43 }, (_, i) => Math.cos(i)),
  state: { step: 17, epoch: 1, batch: 3, epochLossSum: 12.5, epochCorrect: 40 },
};
const file = encodeCheckpoint(valid);
const payload = file.subarray(48);

/** A file with a correct header and checksum around `body`. */
function sealed(body: Uint8Array): Buffer {
  const header = Buffer.alloc(48);
  header.write('LOCKSTEP', 0, 'latin1');
  header.writeUInt32LE(CHECKPOINT_FORMAT, 8);
  header.writeUInt32LE(body.length, 12);
  createHash('sha256').update(body).digest().copy(header, 16);
  return Buffer.concat([header, body]);
}

const damage = (bytes: Uint8Array): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.nat({ max: bytes.length }).map((length) => Buffer.from(bytes.subarray(0, length))),
    fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 6 }).map((flips) => {
      const copy = Buffer.from(bytes);
      for (const { at, bit } of flips) copy[at]! ^= 1 << bit;
      return copy;
    }),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((junk) => Buffer.concat([bytes, junk])),
  );

/** Paths of every field of a checkpoint, for replacing one with a value of another type. */
const FIELDS = [
  ...Object.keys(valid).map((key) => [key]),
  ...Object.keys(config).map((key) => ['config', key]),
  ...Object.keys(valid.optimizer).map((key) => ['optimizer', key]),
  ...Object.keys(valid.state).map((key) => ['state', key]),
  ['spec', 'input'],
  ['spec', 'layers'],
];
const strangeValue = fc.oneof(
  anyValue,
  fc.constantFrom(new Float64Array(43), new Int32Array(3), new Float32Array(0), new Date(0), new Map([[1, 2]]), new Set([1]), /x/, -1, NaN, Infinity),
);
const retyped = fc.record({ path: fc.constantFrom(...FIELDS), to: strangeValue }).map(({ path, to }) => {
  const copy = structuredClone(valid) as unknown as Record<string, Record<string, unknown>>;
  if (path.length === 1) (copy as Record<string, unknown>)[path[0]!] = to;
  else copy[path[0]!]![path[1]!] = to;
  return sealed(packr.pack(copy));
});

/** Loads `bytes`: either one line, or a checkpoint whose fields have the types the trainer needs. */
function checkLoad(bytes: Buffer): void {
  const loaded = oneLineOr(() => decodeCheckpoint(bytes, 'fuzz.lockstep'));
  if (loaded === null) return;
  expect(loaded.params).toBeInstanceOf(Float32Array);
  expect(loaded.optimizerState).toBeInstanceOf(Float32Array);
  for (const count of [loaded.state.step, loaded.state.epoch, loaded.state.batch]) expect(Number.isSafeInteger(count) && count >= 0).toBe(true);
  expect(() => checkOptimizer(loaded.optimizer)).not.toThrow();
}

describe('checkpoints under fuzzing', () => {
  it('the file cut short, bit-flipped or extended: the checkpoint or one line', () => {
    fc.assert(fc.property(damage(file), checkLoad), RUNS);
  });

  it('a damaged payload behind a valid checksum: the checkpoint or one line', () => {
    fc.assert(fc.property(damage(payload), (body) => checkLoad(sealed(body))), RUNS);
  });

  it('one field of another type, behind a valid checksum: the checkpoint or one line', () => {
    fc.assert(fc.property(retyped, checkLoad), { ...RUNS, numRuns: 600 });
  });

  it('any value as the payload: one line', () => {
    fc.assert(fc.property(fc.anything({ withTypedArray: true, withMap: true, withSet: true, withDate: true }), (value) => checkLoad(sealed(packr.pack(value)))), RUNS);
  });
});
