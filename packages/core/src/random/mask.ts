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
 * Writes 1 (keep) or 0 (drop) for `units` units of one sample into mask[at .. at + units).
 * Unit u uses word (u & 1) of counter (u >> 1) of the sample's key.
 */
export function fillSampleMask(sampleKey: Key, threshold: number, mask: Uint8Array, at: number, units: number): void {
  const k0 = sampleKey[0];
  const k1 = sampleKey[1];
  const pairs = units >>> 1;
  for (let i = 0; i < pairs; i++) {
    threefry2x32(k0, k1, i, 0, pair);
    mask[at + 2 * i] = pair[0] >= threshold ? 1 : 0;
    mask[at + 2 * i + 1] = pair[1] >= threshold ? 1 : 0;
  }
  if (units & 1) {
    threefry2x32(k0, k1, pairs, 0, pair);
    mask[at + units - 1] = pair[0] >= threshold ? 1 : 0;
  }
}

/**
 * Fills the keep mask of a batch: row r belongs to global sample samples[r] and has `unitsPerSample`
 * units. `layerKey` comes from `layerMaskKey`.
 */
export function fillBatchMask(
  layerKey: Key,
  step: number,
  samples: ArrayLike<number>,
  unitsPerSample: number,
  p: number,
  mask: Uint8Array,
): Uint8Array {
  const stepKey = foldIn(layerKey, step);
  const threshold = dropThreshold(p);
  for (let row = 0; row < samples.length; row++) {
    fillSampleMask(foldIn(stepKey, samples[row]), threshold, mask, row * unitsPerSample, unitsPerSample);
  }
  return mask;
}

/** Whether unit `unit` of global sample `sample` is kept by the dropout layer at `layerPath` at `step`. */
export function keep(seed: number, layerPath: string, step: number, sample: number, unit: number, p: number): boolean {
  const sampleKey = foldIn(foldIn(layerMaskKey(dropoutRunKey(seed), layerPath), step), sample);
  threefry2x32(sampleKey[0], sampleKey[1], unit >>> 1, 0, pair);
  return pair[unit & 1] >= dropThreshold(p);
}
