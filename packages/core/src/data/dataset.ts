import { checkInteger, LockstepError } from '../errors.js';
import { formatShape, sizeOf } from '../tensor.js';

/** What the model should output: a class per sample, or a row of values per sample. */
export type Targets =
  | { readonly kind: 'classes'; readonly labels: Int32Array; readonly classes: number }
  | { readonly kind: 'values'; readonly values: Float32Array; readonly width: number };

/** Samples stored end to end in one Float32Array, with their targets. */
export class Dataset {
  readonly inputs: Float32Array;
  readonly sampleShape: readonly number[];
  readonly targets: Targets;
  readonly size: number;
  readonly sampleSize: number;

  constructor(inputs: Float32Array, sampleShape: readonly number[], targets: Targets) {
    sampleShape.forEach((dim, i) => checkInteger(`Dataset sampleShape[${i}]`, dim, 1));
    this.sampleSize = sizeOf(sampleShape);
    if (inputs.length % this.sampleSize !== 0) {
      throw new LockstepError(
        'E_DATA',
        `Dataset: ${inputs.length} input values are not a whole number of samples of shape ${formatShape(sampleShape)}`,
      );
    }
    this.inputs = inputs;
    this.sampleShape = [...sampleShape];
    this.size = inputs.length / this.sampleSize;
    this.targets = targets;
    const count = targets.kind === 'classes' ? targets.labels.length : targets.values.length / targets.width;
    if (count !== this.size) {
      throw new LockstepError('E_DATA', `Dataset: ${this.size} samples but ${count} targets; give one target per sample`);
    }
    if (targets.kind === 'classes') {
      checkInteger('Dataset classes', targets.classes, 1);
      targets.labels.forEach((label, i) => {
        if (label < 0 || label >= targets.classes) {
          throw new LockstepError('E_LABEL', `Dataset: label ${label} of sample ${i} is outside [0, ${targets.classes})`);
        }
      });
    }
  }

  /** Labels 0..classes-1 (classes defaults to max label + 1). */
  static classification(inputs: Float32Array, sampleShape: readonly number[], labels: Int32Array, classes?: number): Dataset {
    const count = classes ?? labels.reduce((max, label) => Math.max(max, label + 1), 0);
    return new Dataset(inputs, sampleShape, { kind: 'classes', labels, classes: count });
  }

  static regression(inputs: Float32Array, sampleShape: readonly number[], values: Float32Array, width: number): Dataset {
    checkInteger('Dataset target width', width, 1);
    return new Dataset(inputs, sampleShape, { kind: 'values', values, width });
  }

  /** Samples [start, end) as views, without copying. */
  slice(start: number, end: number): Dataset {
    const inputs = this.inputs.subarray(start * this.sampleSize, end * this.sampleSize);
    return new Dataset(inputs, this.sampleShape, sliceTargets(this.targets, start, end));
  }

  /** A copy holding the samples at `indices`, in that order. */
  select(indices: ArrayLike<number>): Dataset {
    const batch = new Batch(this, indices.length);
    batch.gather(indices);
    return new Dataset(batch.inputs.slice(), this.sampleShape, copyTargets(batch.targets));
  }
}

export function sliceTargets(targets: Targets, start: number, end: number): Targets {
  return targets.kind === 'classes'
    ? { kind: 'classes', labels: targets.labels.subarray(start, end), classes: targets.classes }
    : { kind: 'values', values: targets.values.subarray(start * targets.width, end * targets.width), width: targets.width };
}

function copyTargets(targets: Targets): Targets {
  return targets.kind === 'classes'
    ? { ...targets, labels: targets.labels.slice() }
    : { ...targets, values: targets.values.slice() };
}

/**
 * A reusable batch buffer. `gather` copies the rows of shuffled sample indices into it; batches of
 * consecutive samples should use `Dataset.slice` views instead.
 */
export class Batch {
  readonly inputs: Float32Array;
  readonly targets: Targets;
  private readonly data: Dataset;
  rows = 0;

  constructor(data: Dataset, capacity: number) {
    this.data = data;
    this.inputs = new Float32Array(capacity * data.sampleSize);
    const t = data.targets;
    this.targets =
      t.kind === 'classes'
        ? { kind: 'classes', labels: new Int32Array(capacity), classes: t.classes }
        : { kind: 'values', values: new Float32Array(capacity * t.width), width: t.width };
  }

  gather(indices: ArrayLike<number>): void {
    const { inputs, sampleSize, targets } = this.data;
    for (let row = 0; row < indices.length; row++) {
      const sample = indices[row];
      this.inputs.set(inputs.subarray(sample * sampleSize, (sample + 1) * sampleSize), row * sampleSize);
      if (targets.kind === 'classes' && this.targets.kind === 'classes') {
        this.targets.labels[row] = targets.labels[sample];
      } else if (targets.kind === 'values' && this.targets.kind === 'values') {
        const w = targets.width;
        this.targets.values.set(targets.values.subarray(sample * w, (sample + 1) * w), row * w);
      }
    }
    this.rows = indices.length;
  }
}
