import { foldIn, foldInString, foldInto, rootKey, type Key } from './key.js';
import { WASM_BASE64 as MASK_WASM } from '../wasm/mask.generated.js';
import { WasmInstance } from '../wasm/instance.js';
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

/**
 * A unit's draw is 16 random bits: units whose draw falls below p * 2^16 are dropped, so p = 0 keeps
 * all and p = 1 drops all, and p counts to within 2^-16 (a kept fraction off by at most 1.5e-5).
 * Sixteen bits let one Threefry call decide four units, halving dropout's cost.
 */
export function dropThreshold(p: number): number {
  return p * 65536;
}

/** Halfword (u & 1) of word ((u >> 1) & 1) at counter (u >> 2): the draw of unit u. */
function drawOf(word0: number, word1: number, unit: number): number {
  const word = (unit & 2) === 0 ? word0 : word1;
  return (unit & 1) === 0 ? word & 0xffff : word >>> 16;
}

const pair = new Uint32Array(2);
/** The key of the sample whose mask `fillBatchMask` is filling, as int32 words (see `threefry2x32`). */
const rowKey = new Int32Array(2);

/** Units per group of the SIMD kernel: four counters of four units. */
const GROUP_UNITS = 16;
/** Groups per kernel call, so a DropConnect mask of millions of weights needs no more kernel memory than a layer's. */
const GROUPS_PER_CALL = 4096;
/** The kernel, and the view of its output that the last call copied out (reused while its length holds). */
let simd: { instance: WasmInstance; fill: (...args: number[]) => void; output: Float32Array } | null = null;

/** The first `groups` * 16 units of `fillSampleMask`, on the SIMD kernel of wasm/mask.wat. */
function fillGroups(k0: number, k1: number, k2: number, least: number, kept: number, groups: number, mask: Float32Array, at: number): void {
  if (simd === null) {
    const instance = new WasmInstance(MASK_WASM, 'a dropout mask kernel scratch');
    simd = { instance, fill: instance.exports.fill as (...args: number[]) => void, output: new Float32Array(0) };
  }
  const floats = simd.instance.floatsFor(Math.min(groups, GROUPS_PER_CALL) * GROUP_UNITS);
  for (let first = 0; first < groups; first += GROUPS_PER_CALL) {
    const values = Math.min(GROUPS_PER_CALL, groups - first) * GROUP_UNITS;
    simd.fill(k0, k1, k2, least, kept, (first * GROUP_UNITS) / 4, values / GROUP_UNITS, 0);
    if (simd.output.buffer !== floats.buffer || simd.output.length !== values) simd.output = floats.subarray(0, values);
    mask.set(simd.output, at + first * GROUP_UNITS);
  }
}

/**
 * Writes `kept` (a kept unit's multiplier: 1, or the dropout scale) or 0 (dropped) for `units` units
 * of one sample into mask[at .. at + units). Units 4i .. 4i+3 draw the four halfwords of
 * Threefry-2x32-20 at counter (i, 0) under the sample's key (low then high half of word 0, then of
 * word 1). Whole groups of 16 units run on a SIMD kernel, four counters at a time; the rest runs
 * here, with the rounds spelled out (the same as `threefry2x32`).
 */
export function fillSampleMask(sampleKey: Key, threshold: number, kept: number, mask: Float32Array, at: number, units: number): void {
  fillMaskOfKey(sampleKey[0], sampleKey[1], threshold, kept, mask, at, units);
}

/** `fillSampleMask` of the key (key0, key1). */
function fillMaskOfKey(key0: number, key1: number, threshold: number, kept: number, mask: Float32Array, at: number, units: number): void {
  const k0 = key0 | 0;
  const k1 = key1 | 0;
  const k2 = (0x1bd11bda ^ k0 ^ k1) | 0;
  // Draws are integers, so draw >= threshold exactly when draw - ceil(threshold) has no sign bit:
  // the keep bit comes from arithmetic, not from a branch that a random mask would mispredict.
  const least = Math.ceil(threshold);
  const groups = Math.floor(units / GROUP_UNITS);
  if (groups > 0) fillGroups(k0, k1, k2, least, kept, groups, mask, at);
  for (let u = groups * GROUP_UNITS; u < units; u += 4) {
    let x0 = ((u >>> 2) + k0) | 0;
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
    if (u + 3 < units) {
      mask[at + u] = kept * (1 ^ (((x0 & 0xffff) - least) >>> 31));
      mask[at + u + 1] = kept * (1 ^ (((x0 >>> 16) - least) >>> 31));
      mask[at + u + 2] = kept * (1 ^ (((x1 & 0xffff) - least) >>> 31));
      mask[at + u + 3] = kept * (1 ^ (((x1 >>> 16) - least) >>> 31));
    } else {
      for (let v = u; v < units; v++) mask[at + v] = drawOf(x0, x1, v) >= threshold ? kept : 0;
    }
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
  // As int32 (the same bits), so that passing them on per row boxes nothing.
  const step0 = stepKey[0] | 0;
  const step1 = stepKey[1] | 0;
  const threshold = dropThreshold(p);
  for (let row = 0; row < samples.length; row++) {
    foldInto(step0, step1, samples[row], rowKey);
    fillMaskOfKey(rowKey[0], rowKey[1], threshold, kept, mask, row * unitsPerSample, unitsPerSample);
  }
  return mask;
}

/**
 * DropConnect's weight mask for one chunk: weight j is kept when keep(seed, L, t, s0, j), where s0 is
 * the global index of the chunk's first sample. It is a sample's mask address with the weights as the
 * units, so one chunk shares one weight mask; chunks are fixed by the config, not by the workers.
 */
export function fillWeightMask(layerKey: Key, step: number, firstSample: number, p: number, mask: Float32Array, kept = 1): Float32Array {
  fillSampleMask(foldIn(foldIn(layerKey, step), firstSample), dropThreshold(p), kept, mask, 0, mask.length);
  return mask;
}

/** Whether unit `unit` of global sample `sample` is kept by the dropout layer at `layerPath` at `step`. */
export function keep(seed: number, layerPath: string, step: number, sample: number, unit: number, p: number): boolean {
  const sampleKey = foldIn(foldIn(layerMaskKey(dropoutRunKey(seed), layerPath), step), sample);
  threefry2x32(sampleKey[0], sampleKey[1], unit >>> 2, 0, pair);
  return drawOf(pair[0], pair[1], unit) >= dropThreshold(p);
}
