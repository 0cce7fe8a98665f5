import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LockstepError, Model, sequentialFromSpec } from '@lockstep/core';

// Any JSON-like value given as a model spec must build a model or give one E_SPEC line: never another
// error, and never a model too large to allocate. Fixed seeds keep CI reproducible.
const RUNS = { seed: 7, numRuns: 4000 };

const LAYER_FIELDS: Record<string, string[]> = {
  linear: ['out', 'in', 'bias', 'init'],
  relu: [],
  'leaky-relu': ['negativeSlope'],
  tanh: [],
  sigmoid: [],
  gelu: ['approximate'],
  flatten: [],
  dropout: ['p', 'scaling'],
  sequential: ['layers'],
  conv2d: ['out', 'in', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'init'],
  'max-pool2d': ['kernelSize', 'stride', 'padding'],
  'avg-pool2d': ['kernelSize', 'stride', 'padding', 'countIncludePad'],
  'global-avg-pool2d': [],
  dropout2d: ['p', 'scaling'],
  selu: [],
  'gaussian-dropout': ['p'],
  'alpha-dropout': ['p'],
};
/** Names every plain object inherits: a lookup by `in` or `[]` finds them without an own property. */
const INHERITED = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf'];

/** Values of every type, with sizes from plausible to absurd. */
const value = fc.oneof(
  fc.integer({ min: -2, max: 8 }),
  fc.constantFrom(0.5, 2 ** 31, 1e9, 1e15, Number.MAX_SAFE_INTEGER, 1e300, NaN, Infinity, -0),
  fc.double(),
  fc.constantFrom('inverted', 'classic', 'tanh', 'none', 'kaiming-uniform', 'torch-default', ''),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);

/** Own properties named like inherited ones, as JSON.parse makes them. */
function entry(pairs: Array<[string, unknown]>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, v] of pairs) Object.defineProperty(record, key, { value: v, enumerable: true, writable: true, configurable: true });
  return record;
}

const layer: fc.Memo<unknown> = fc.memo((depth) => {
  const fields = fc.constantFrom(...Object.keys(LAYER_FIELDS), ...INHERITED, 'custom').chain((type) =>
    fc
      .array(fc.tuple(fc.constantFrom(...(Object.hasOwn(LAYER_FIELDS, type) ? LAYER_FIELDS[type]! : []), ...INHERITED, 'typo'), depth > 1 ? fc.oneof(value, fc.array(layer(depth - 1), { maxLength: 3 })) : value), { maxLength: 4 })
      .map((pairs) => entry([['type', type], ...pairs])),
  );
  return depth > 1 ? fc.oneof(fields, value) : fields;
});

/** A valid spec with one field of one layer set to any value. */
const VALID = {
  input: [2, 6, 6],
  layers: [
    { type: 'conv2d', out: 3, kernelSize: 3, padding: 1 },
    { type: 'max-pool2d', kernelSize: 2 },
    { type: 'dropout2d', p: 0.1 },
    { type: 'flatten' },
    { type: 'linear', out: 8 },
    { type: 'leaky-relu', negativeSlope: 0.1 },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 4 },
  ],
};
const mutated = fc
  .record({ at: fc.nat({ max: VALID.layers.length - 1 }), field: fc.constantFrom('out', 'in', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'p', 'negativeSlope', 'bias', 'type'), to: value })
  .map(({ at, field, to }) => ({ ...VALID, layers: VALID.layers.map((l, i) => (i === at ? { ...l, [field]: to } : l)) }));

const spec = fc.oneof(
  mutated,
  fc.record({
    input: fc.oneof(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }), value),
    layers: fc.oneof(fc.array(layer(3), { maxLength: 5 }), value),
  }),
  fc.anything(),
);

/** Builds the spec's model: either it allocates a sane model or it fails with one E_SPEC line. */
function checkSpec(candidate: unknown): void {
  try {
    const sequential = sequentialFromSpec(candidate);
    const model = new Model(sequential, (candidate as { input: number[] }).input);
    expect(model.params.length).toBe(model.size);
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    expect((error as LockstepError).code).toBe('E_SPEC');
    expect((error as Error).message).toMatch(/^[^\n]+$/);
  }
}

describe('model specs under fuzzing', () => {
  it('wrong types, inherited property names, nesting and absurd sizes: a model or one E_SPEC line', () => {
    fc.assert(fc.property(spec, checkSpec), RUNS);
  });

  it('bit flips in the JSON text of a valid spec: a model, one E_SPEC line, or invalid JSON', () => {
    const text = JSON.stringify({ input: [1, 8, 8], layers: [{ type: 'conv2d', out: 4, kernelSize: 3, padding: 1 }, { type: 'relu' }, { type: 'max-pool2d', kernelSize: 2 }, { type: 'flatten' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 10 }] });
    const flips = fc.array(fc.record({ at: fc.nat({ max: text.length - 1 }), bit: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(flips, (changes) => {
        const chars = [...text];
        for (const { at, bit } of changes) chars[at] = String.fromCharCode(chars[at]!.charCodeAt(0) ^ (1 << bit));
        let parsed: unknown;
        try {
          parsed = JSON.parse(chars.join(''));
        } catch {
          return;
        }
        checkSpec(parsed);
      }),
      RUNS,
    );
  });
});
