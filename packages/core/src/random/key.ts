import { LockstepError, describeValue } from '../errors.js';
import { threefry2x32 } from './threefry.js';

/**
 * An immutable random key (two uint32 words), JAX style: samplers take a key and never change it,
 * and new keys are derived with `foldIn`. The same key always gives the same numbers.
 */
export type Key = readonly [number, number];

const TWO_32 = 4294967296;
const words = new Uint32Array(2);

function checkKeyInput(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LockstepError('E_OPTION', `${name} must be a non-negative safe integer, got ${describeValue(value)}`);
  }
}

/** The root key of a run. `seed` is any non-negative safe integer. */
export function rootKey(seed: number): Key {
  checkKeyInput('seed', seed);
  threefry2x32(seed % TWO_32, Math.floor(seed / TWO_32), 0x6c6f636b, 0x73746570, words);
  return [words[0], words[1]];
}

/** A key derived from `key` and a non-negative integer (a step, a sample index, an epoch). */
export function foldIn(key: Key, data: number): Key {
  foldInto(key[0], key[1], data, words);
  return [words[0], words[1]];
}

/**
 * `foldIn` of the key (key0, key1) for loops over samples: the derived key's two words go to
 * out[0] and out[1] instead of a new array.
 */
export function foldInto(key0: number, key1: number, data: number, out: Uint32Array | Int32Array): void {
  checkKeyInput('foldIn data', data);
  threefry2x32(key0, key1, data % TWO_32, Math.floor(data / TWO_32), out);
}

/** A key derived from `key` and a name (a layer path, a parameter name, a purpose). */
export function foldInString(key: Key, name: string): Key {
  let k0 = key[0];
  let k1 = key[1];
  for (let i = 0; i < name.length; i++) {
    threefry2x32(k0, k1, name.charCodeAt(i), i, words);
    k0 = words[0];
    k1 = words[1];
  }
  threefry2x32(k0, k1, name.length, 0xffffffff, words);
  return [words[0], words[1]];
}

/** Fills `out` with uniform uint32 words: word i comes from counter (floor(i / 2), 0). */
export function randomBits(key: Key, out: Uint32Array): Uint32Array {
  const pairs = out.length >>> 1;
  for (let i = 0; i < pairs; i++) threefry2x32(key[0], key[1], i, 0, out, 2 * i);
  if (out.length & 1) {
    threefry2x32(key[0], key[1], pairs, 0, words);
    out[out.length - 1] = words[0];
  }
  return out;
}

/** The i-th uniform double in [0, 1) of `key`, with 53 random bits. */
export function uniformAt(key: Key, i: number): number {
  threefry2x32(key[0], key[1], i, 1, words);
  return ((words[0] >>> 5) * 67108864 + (words[1] >>> 6)) / 9007199254740992;
}

/** Fills `out` with uniform values in [low, high). */
export function fillUniform(key: Key, out: Float32Array | Float64Array, low: number, high: number): void {
  for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * uniformAt(key, i);
}

/** Fills `out` with normal values (Box-Muller over pairs of keyed uniforms). */
export function fillNormal(key: Key, out: Float32Array | Float64Array, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniformAt(key, i)));
    const angle = 2 * Math.PI * uniformAt(key, i + 1);
    out[i] = mean + std * radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = mean + std * radius * Math.sin(angle);
  }
}

/** A keyed uniform random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(key: Key, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniformAt(key, i) * (i + 1));
    const held = order[i];
    order[i] = order[j];
    order[j] = held;
  }
  return order;
}
