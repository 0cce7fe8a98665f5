import { foldIn, foldInString, rootKey, type Key } from './key.js';
import { threefry2x32 } from './threefry.js';

/**
 * Dropout masks are addressed, not drawn in order: the decision for unit `u` of global sample `s` in
 * the layer at path `L` at optimizer step `t` depends on (seed, L, t, s, u) only, so it does not matter
 * which worker, chunk or batch computes it.
 */

/** The key every dropout layer of a run derives its own key from. */
export function dropoutRunKey(seed: number): Key {
  return foldInString(rootKey(seed), 'dropout');
}

export function layerMaskKey(runKey: Key, layerPath: string): Key {
  return foldInString(runKey, layerPath);
}

/** Units whose word falls below p * 2^32 are dropped, so p = 0 keeps all and p = 1 drops all. */
export function dropThreshold(p: number): number {
  return p * 4294967296;
}

const pair = new Uint32Array(2);

/**
 * Writes `kept` (a kept unit's multiplier: 1, or the dropout scale) or 0 (dropped) for `units` units
 * of one sample into mask[at .. at + units). Unit u uses word (u & 1) of Threefry-2x32-20 at counter
 * (u >> 1, 0) under the sample's key; the rounds are spelled out here (the same as `threefry2x32`)
 * because this is dropout's hot loop.
 */
export function fillSampleMask(sampleKey: Key, threshold: number, kept: number, mask: Float32Array, at: number, units: number): void {
  const k0 = sampleKey[0] | 0;
  const k1 = sampleKey[1] | 0;
  const k2 = (0x1bd11bda ^ k0 ^ k1) | 0;
  for (let u = 0; u < units; u += 2) {
    let x0 = ((u >>> 1) + k0) | 0;
    let x1 = k1;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k1) | 0; x1 = (x1 + k2 + 1) | 0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k2) | 0; x1 = (x1 + k0 + 2) | 0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k0) | 0; x1 = (x1 + k1 + 3) | 0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k1) | 0; x1 = (x1 + k2 + 4) | 0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k2) | 0; x1 = (x1 + k0 + 5) | 0;
    mask[at + u] = x0 >>> 0 >= threshold ? kept : 0;
    if (u + 1 < units) mask[at + u + 1] = x1 >>> 0 >= threshold ? kept : 0;
  }
}

/**
 * Fills the mask of a batch: row r belongs to global sample samples[r] and has `unitsPerSample`
 * units; kept units get `kept` (default 1), dropped ones 0. `layerKey` comes from `layerMaskKey`.
 */
export function fillBatchMask(
  layerKey: Key,
  step: number,
  samples: ArrayLike<number>,
  unitsPerSample: number,
  p: number,
  mask: Float32Array,
  kept = 1,
): Float32Array {
  const stepKey = foldIn(layerKey, step);
  const threshold = dropThreshold(p);
  for (let row = 0; row < samples.length; row++) {
    fillSampleMask(foldIn(stepKey, samples[row]), threshold, kept, mask, row * unitsPerSample, unitsPerSample);
  }
  return mask;
}

/** Whether unit `unit` of global sample `sample` is kept by the dropout layer at `layerPath` at `step`. */
export function keep(seed: number, layerPath: string, step: number, sample: number, unit: number, p: number): boolean {
  const sampleKey = foldIn(foldIn(layerMaskKey(dropoutRunKey(seed), layerPath), step), sample);
  threefry2x32(sampleKey[0], sampleKey[1], unit >>> 1, 0, pair);
  return pair[unit & 1] >= dropThreshold(p);
}
