import { describeValue, LockstepError } from '../errors.js';
import { foldIn, foldInString, rootKey, uniformAt, type Key } from '../random/key.js';
import { formatShape } from '../tensor.js';
import type { Dataset } from './dataset.js';

/**
 * Keyed augmentation of image samples ([C, H, W], stored as float32). Every decision for a sample is
 * a pure function of (seed, epoch, global sample index), like a dropout mask: it does not matter
 * which worker, chunk or resumed run computes it (docs/design.md, "Augmentation").
 *
 * Everything works on the stored values, whatever their normalization: what a shift brings in is 0
 * in stored units (black for pixels read as value / 255, as the IDX reader stores them), brightness
 * is added in stored units, and nothing is clamped.
 */
export interface AugmentSpec {
  /** Random crop: pad every side with this many pixels of 0, then crop H x W back at a keyed offset (0 to half of H and of W; default 0). */
  readonly cropPadding?: number;
  /** Mirror left to right with probability 1/2 (default false). */
  readonly flip?: boolean;
  /** Shift by a keyed whole number of pixels up to this fraction of H (rows) and of W (columns), each way, bringing in 0 (0 to 0.5; default 0). */
  readonly translate?: number;
  /** Add a keyed delta from [-brightness, brightness] to every value, in stored units (0 to 1; default 0). */
  readonly brightness?: number;
  /** Scale every value's distance from the sample's mean by a keyed factor from [1 - contrast, 1 + contrast] (0 to 1; default 0). */
  readonly contrast?: number;
}

/** A checked spec, every field given. */
export type CheckedAugmentSpec = Required<AugmentSpec>;

/** What one sample's augmentation does, drawn from its key. */
export interface AugmentDecisions {
  /** The crop's offset from the centre, rows and columns, each in [-cropPadding, cropPadding]. */
  readonly cropRow: number;
  readonly cropColumn: number;
  /** The translation, rows down and columns right, each within floor(translate * H) and floor(translate * W). */
  readonly shiftRow: number;
  readonly shiftColumn: number;
  readonly flip: boolean;
  /** Added to every value after the contrast. */
  readonly brightness: number;
  /** Multiplies every value's distance from the sample's mean. */
  readonly contrast: number;
}

/** A spec and the key of the run it belongs to (`augmentRunKey(seed)`): what a step engine needs. */
export interface Augmentation {
  readonly spec: CheckedAugmentSpec;
  readonly key: Key;
}

export const AUGMENT_FIELDS = ['cropPadding', 'flip', 'translate', 'brightness', 'contrast'] as const;
const RANGES = { translate: 0.5, brightness: 1, contrast: 1 } as const;

/** How messages name the spec (no field) or one of its fields. */
export type AugmentNamer = (field?: string) => string;
const augmentNamer: AugmentNamer = (field) => (field === undefined ? 'augment' : `augment.${field}`);

/**
 * Checks a spec's fields and returns it with every field given; `name` says how messages name them.
 * The limit of `cropPadding` depends on the samples: `checkAugmentFits` checks it.
 */
export function checkAugmentSpec(spec: unknown, name: AugmentNamer = augmentNamer): CheckedAugmentSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new LockstepError('E_OPTION', `${name()} must be an object such as {"cropPadding": 2, "flip": true}, got ${describeValue(spec)}`);
  }
  const given = spec as Record<string, unknown>;
  const unknown = Object.keys(given).find((key) => !(AUGMENT_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined) throw new LockstepError('E_OPTION', `${name(unknown)} is not an augmentation; use ${AUGMENT_FIELDS.join(', ')}`);
  const { cropPadding = 0, flip = false, translate = 0, brightness = 0, contrast = 0 } = given;
  if (!Number.isSafeInteger(cropPadding) || (cropPadding as number) < 0) {
    throw new LockstepError('E_OPTION', `${name('cropPadding')} must be a whole number of pixels >= 0, got ${describeValue(cropPadding)}`);
  }
  if (typeof flip !== 'boolean') throw new LockstepError('E_OPTION', `${name('flip')} must be true or false, got ${describeValue(flip)}`);
  const strengths = { translate, brightness, contrast };
  for (const field of ['translate', 'brightness', 'contrast'] as const) {
    const value = strengths[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > RANGES[field]) {
      throw new LockstepError('E_OPTION', `${name(field)} must be a number from 0 to ${RANGES[field]}, got ${describeValue(value)}`);
    }
  }
  return { cropPadding: cropPadding as number, flip, translate: translate as number, brightness: brightness as number, contrast: contrast as number };
}

/** Checks that samples of `sampleShape` are images [C, H, W] that `spec` can augment. */
export function checkAugmentFits(spec: CheckedAugmentSpec, sampleShape: readonly number[], name: AugmentNamer = augmentNamer): void {
  if (sampleShape.length !== 3) {
    throw new LockstepError('E_SHAPE', `${name()} needs image samples of shape [C,H,W], but the data has samples of shape ${formatShape(sampleShape)}; leave it out for this data`);
  }
  const most = Math.floor(Math.min(sampleShape[1], sampleShape[2]) / 2);
  if (spec.cropPadding > most) {
    throw new LockstepError('E_OPTION', `${name('cropPadding')} ${spec.cropPadding} is more than half the samples' height or width (${sampleShape[1]} x ${sampleShape[2]}); give at most ${most}`);
  }
}

/** A checked spec for samples of `sampleShape`. */
export function checkAugment(spec: unknown, sampleShape: readonly number[]): CheckedAugmentSpec {
  const checked = checkAugmentSpec(spec);
  checkAugmentFits(checked, sampleShape);
  return checked;
}

/** Whether `spec` leaves every sample as it is, so a trainer need not apply it. */
export function isIdentityAugment(spec: CheckedAugmentSpec): boolean {
  return spec.cropPadding === 0 && !spec.flip && spec.translate === 0 && spec.brightness === 0 && spec.contrast === 0;
}

/** The key every sample's augmentation of a run derives its own key from. */
export function augmentRunKey(seed: number): Key {
  return foldInString(rootKey(seed), 'augment');
}

/** The key of global sample `sample`'s augmentation in epoch `epoch` (epochs counted from 0). */
export function sampleAugmentKey(runKey: Key, epoch: number, sample: number): Key {
  return foldIn(foldIn(runKey, epoch), sample);
}

/** A whole number from [-most, most], uniform, from uniform draw `u` in [0, 1). */
const signedUpTo = (u: number, most: number): number => Math.floor(u * (2 * most + 1)) - most;

/**
 * The decisions of one sample's augmentation. Each comes from its own counter of `key` (crop rows 0,
 * crop columns 1, shift rows 2, shift columns 3, flip 4, brightness 5, contrast 6), so switching one
 * on or off leaves the others as they were.
 */
export function augmentDecisions(spec: CheckedAugmentSpec, sampleShape: readonly number[], key: Key): AugmentDecisions {
  const [, height, width] = sampleShape;
  const rows = Math.floor(spec.translate * height);
  const columns = Math.floor(spec.translate * width);
  return {
    cropRow: signedUpTo(uniformAt(key, 0), spec.cropPadding),
    cropColumn: signedUpTo(uniformAt(key, 1), spec.cropPadding),
    shiftRow: signedUpTo(uniformAt(key, 2), rows),
    shiftColumn: signedUpTo(uniformAt(key, 3), columns),
    flip: spec.flip && uniformAt(key, 4) < 0.5,
    brightness: spec.brightness === 0 ? 0 : spec.brightness * (2 * uniformAt(key, 5) - 1),
    contrast: spec.contrast === 0 ? 1 : 1 + spec.contrast * (2 * uniformAt(key, 6) - 1),
  };
}

/**
 * Writes the augmented `source` sample (shape [C, H, W]) to `target`, which must not overlap it:
 * the random crop (padding with 0, then cropping at the decided offset), then the translation
 * (bringing in 0), then the flip, then contrast around the sample's mean over all its values and
 * brightness, computed in float64 and rounded to float32 once. A spec of zero strength copies the
 * sample bit for bit.
 */
export function augmentSample(source: Float32Array, target: Float32Array, sampleShape: readonly number[], spec: CheckedAugmentSpec, key: Key): void {
  applyDecisions(source, target, sampleShape, augmentDecisions(spec, sampleShape, key));
}

/** `augmentSample` with the decisions already drawn. */
export function applyDecisions(source: Float32Array, target: Float32Array, sampleShape: readonly number[], decisions: AugmentDecisions): void {
  const [channels, height, width] = sampleShape;
  const { cropRow, cropColumn, shiftRow, shiftColumn, flip } = decisions;
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let y = 0; y < height; y++) {
      // Output row y shows row y - shiftRow of the crop, which shows row y - shiftRow + cropRow of the sample.
      const cropped = y - shiftRow;
      const row = cropped + cropRow;
      const inside = cropped >= 0 && cropped < height && row >= 0 && row < height;
      const out = plane + y * width;
      for (let x = 0; x < width; x++) {
        const shown = (flip ? width - 1 - x : x) - shiftColumn;
        const column = shown + cropColumn;
        target[out + x] = inside && shown >= 0 && shown < width && column >= 0 && column < width ? source[plane + row * width + column] : 0;
      }
    }
  }
  const { brightness, contrast } = decisions;
  if (contrast === 1 && brightness === 0) return;
  const size = channels * height * width;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += target[i];
  const shift = (sum / size) * (1 - contrast) + brightness;
  for (let i = 0; i < size; i++) target[i] = target[i] * contrast + shift;
}

/** Writes the augmented samples `samples` of `data` into the rows of `rows`, for epoch `epoch`: each read, then augmented where it is. */
export function augmentRows(data: Dataset, samples: ArrayLike<number>, rows: Float32Array, augmentation: Augmentation, epoch: number): void {
  for (let row = 0; row < samples.length; row++) data.readSample(samples[row], rows, row * data.sampleSize);
  augmentGatheredRows(data.sampleShape, samples, rows, augmentation, epoch);
}

/**
 * Augments rows that hold the samples `samples` as stored (a gathered chunk), in place: each row is
 * copied aside and augmented back into its place, the same values `augmentRows` writes.
 */
export function augmentGatheredRows(sampleShape: readonly number[], samples: ArrayLike<number>, rows: Float32Array, augmentation: Augmentation, epoch: number, scratch?: Float32Array): void {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const source = scratch ?? new Float32Array(size);
  const epochKey = foldIn(augmentation.key, epoch);
  for (let row = 0; row < samples.length; row++) {
    const target = rows.subarray(row * size, (row + 1) * size);
    source.set(target);
    augmentSample(source, target, sampleShape, augmentation.spec, foldIn(epochKey, samples[row]));
  }
}
