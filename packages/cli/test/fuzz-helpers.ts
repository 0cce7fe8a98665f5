import { expect } from 'vitest';
import fc from 'fast-check';
import { LockstepError } from '@lockstep/core';
import { UserError } from '../src/errors.js';

/** Rethrows anything but a UserError or LockstepError, so fast-check reports it; checks the message is one line. */
export function expectOneLineError(error: unknown): void {
  if (!(error instanceof UserError || error instanceof LockstepError)) throw error;
  expect(error.message).toMatch(/^[^\n]+$/);
}

/** Runs `action`; its error, if any, must be one line of ours. */
export function oneLineOr<T>(action: () => T): T | null {
  try {
    return action();
  } catch (error) {
    expectOneLineError(error);
    return null;
  }
}

/** Cuts `text` short, flips bits in it, or splices junk into it. */
export function damagedText(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: text.length }).map((length) => text.slice(0, length)),
    fc.array(fc.record({ at: fc.nat({ max: text.length - 1 }), bit: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 6 }).map((flips) => {
      const chars = [...text];
      for (const { at, bit } of flips) chars[at] = String.fromCharCode(chars[at]!.charCodeAt(0) ^ (1 << bit));
      return chars.join('');
    }),
    fc.tuple(fc.nat({ max: text.length }), fc.string({ maxLength: 8 })).map(([at, junk]) => text.slice(0, at) + junk + text.slice(at)),
  );
}

/** Values of every type, with sizes from plausible to absurd. */
export const anyValue = fc.oneof(
  fc.integer({ min: -2, max: 300 }),
  fc.constantFrom(0.5, 2 ** 31, 2 ** 32, 1e9, 1e15, Number.MAX_SAFE_INTEGER, 1e300, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: -1, max: 1e9 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** Names every plain object inherits: a lookup by `in` or `[]` finds them without an own property. */
export const INHERITED_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'];

/** An object with these own properties, as JSON.parse makes them (even "__proto__"). */
export function ownRecord(pairs: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of pairs) Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  return record;
}
