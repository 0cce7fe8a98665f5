import { checkInteger, describeValue, fromAnotherCopy, LockstepError } from '../errors.js';
import { formatShape, sizeOf } from '../tensor.js';

/** What the model should output: a class per sample, or a row of values per sample. */
export type Targets =
  | { readonly kind: 'classes'; readonly labels: Int32Array; readonly classes: number }
  | { readonly kind: 'values'; readonly values: Float32Array; readonly width: number };

/** How another thread opens its own copy of a reader: `(await import(module)).openSampleReader(options)`. */
export interface ReaderRecipe {
  /** The URL of an ES module that exports `openSampleReader(options): SampleReader`. */
  readonly module: string;
  /** Structured-cloneable; SharedArrayBuffers in it are shared, not copied. */
  readonly options: unknown;
}

/**
 * Where the samples of a data set that does not sit in memory come from: image files decoded when a
 * step needs them (docs/design.md, "Data that does not fit in memory"). Reading must be pure: the
 * same index gives the same values on every thread, every time, or the runs would not be.
 */
export interface SampleReader {
  /** Writes sample `index`'s values into the first sampleSize floats of `into`. */
  read(index: number, into: Float32Array): void;
  /** The samples this thread will read next: the reader may get them ready in `work`. */
  expect?(indices: ArrayLike<number>): void;
  /** Gets one expected sample ready, while the thread would otherwise wait; false when none is left. */
  work?(): boolean;
  /** How a worker thread opens the same reader; absent: this thread only. */
  readonly recipe?: ReaderRecipe;
}

/** A data set's samples read through a reader: sample i is the reader's `rows[i]` (i itself without rows). */
export interface StreamedSamples {
  readonly reader: SampleReader;
  readonly rows: Uint32Array | null;
}

/**
 * Samples with their targets: end to end in one Float32Array (`inputs`), or, for data that does not
 * fit in memory, read one at a time through a `SampleReader` (`streamed`; `inputs` then throws). Code
 * that works with both reads samples with `readSample` or `gatherRows`.
 */
export class Dataset {
  readonly sampleShape: readonly number[];
  readonly targets: Targets;
  readonly size: number;
  readonly sampleSize: number;
  readonly streamed: StreamedSamples | null;
  private readonly stored: Float32Array | null;

  /**
   * Labels may come in any array of integers (a Uint8Array, as an IDX file holds them, or a plain
   * array): they are copied into an Int32Array, the type every trainer reads.
   */
  constructor(inputs: Float32Array | StreamedSamples, sampleShape: readonly number[], given: TargetsInput) {
    sampleShape.forEach((dim, i) => checkInteger(`Dataset sampleShape[${i}]`, dim, 1));
    this.sampleSize = sizeOf(sampleShape);
    const targets = checkTargets(given);
    const count = targets.kind === 'classes' ? targets.labels.length : targets.values.length / targets.width;
    if (inputs instanceof Float32Array) {
      if (inputs.length % this.sampleSize !== 0) {
        throw new LockstepError(
          'E_DATA',
          `Dataset: ${inputs.length} input values are not a whole number of samples of shape ${formatShape(sampleShape)}`,
        );
      }
      this.stored = inputs;
      this.streamed = null;
      this.size = inputs.length / this.sampleSize;
    } else if (typeof (inputs as Partial<StreamedSamples> | null)?.reader?.read === 'function') {
      this.stored = null;
      this.streamed = inputs;
      this.size = inputs.rows?.length ?? count;
    } else {
      throw new LockstepError('E_DATA', `Dataset: inputs must be a Float32Array (or { reader, rows } for streamed samples), got ${describeArray(inputs)}; pass Float32Array.from(inputs)`);
    }
    this.sampleShape = [...sampleShape];
    this.targets = targets;
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
  static classification(inputs: Float32Array, sampleShape: readonly number[], labels: ArrayLike<number>, classes?: number): Dataset {
    const count = classes ?? Array.from(labels).reduce((max, label) => Math.max(max, label + 1), 0);
    return new Dataset(inputs, sampleShape, { kind: 'classes', labels, classes: count });
  }

  static regression(inputs: Float32Array, sampleShape: readonly number[], values: Float32Array, width: number): Dataset {
    checkInteger('Dataset target width', width, 1);
    return new Dataset(inputs, sampleShape, { kind: 'values', values, width });
  }

  /** Every sample, end to end; a streamed data set has no such array (use `readSample` or `gatherRows`). */
  get inputs(): Float32Array {
    if (this.stored === null) throw new LockstepError('E_DATA', 'Dataset: the samples are read one at a time through a reader, not held in memory; use readSample or gatherRows');
    return this.stored;
  }

  /** Writes sample `index`'s values into `into` from `offset`. */
  readSample(index: number, into: Float32Array, offset = 0): void {
    const size = this.sampleSize;
    if (this.stored !== null) {
      into.set(this.stored.subarray(index * size, (index + 1) * size), offset);
      return;
    }
    const { reader, rows } = this.streamed!;
    reader.read(rows === null ? index : rows[index], offset === 0 ? into : into.subarray(offset, offset + size));
  }

  /** Samples [from, to) end to end: a view where they are in memory, else read into `into` (or a new array). */
  gatherRows(from: number, to: number, into?: Float32Array): Float32Array {
    const size = this.sampleSize;
    if (this.stored !== null) return this.stored.subarray(from * size, to * size);
    const out = into?.subarray(0, (to - from) * size) ?? new Float32Array((to - from) * size);
    for (let i = from; i < to; i++) this.readSample(i, out, (i - from) * size);
    return out;
  }

  /** Tells a streamed data set's reader which samples this thread reads next (see `SampleReader.expect`). */
  expectSamples(indices: ArrayLike<number>): void {
    const streamed = this.streamed;
    if (streamed?.reader.expect === undefined) return;
    const { rows } = streamed;
    streamed.reader.expect(rows === null ? indices : Array.from(indices, (i) => rows[i]));
  }

  /** Gets one expected sample ready; false when none is left (and always for data in memory). */
  workAhead(): boolean {
    return this.streamed?.reader.work?.() ?? false;
  }

  /** Samples [start, end), without copying any. */
  slice(start: number, end: number): Dataset {
    if (this.stored === null) return this.select(Uint32Array.from({ length: end - start }, (_, i) => start + i));
    const inputs = this.stored.subarray(start * this.sampleSize, end * this.sampleSize);
    return new Dataset(inputs, this.sampleShape, sliceTargets(this.targets, start, end));
  }

  /** The samples at `indices`, in that order: a copy, or for a streamed data set the same reader over those rows. */
  select(indices: ArrayLike<number>): Dataset {
    if (this.streamed !== null) {
      const { reader, rows } = this.streamed;
      const selected = Uint32Array.from(indices, (i) => (rows === null ? i : rows[i]));
      return new Dataset({ reader, rows: selected }, this.sampleShape, selectTargets(this.targets, indices));
    }
    const batch = new Batch(this, indices.length);
    batch.gather(indices);
    return new Dataset(batch.inputs.slice(), this.sampleShape, copyTargets(batch.targets));
  }
}

/** Targets as a Dataset takes them: labels in any array of integers. */
export type TargetsInput =
  | { readonly kind: 'classes'; readonly labels: ArrayLike<number>; readonly classes: number }
  | { readonly kind: 'values'; readonly values: Float32Array; readonly width: number };

/** Throws E_DATA unless `value` is a Dataset: `name` is the argument or option that held it. */
export function checkDataset(name: string, value: unknown): asserts value is Dataset {
  if (!(value instanceof Dataset)) {
    throw new LockstepError('E_DATA', `${name} must be a Dataset (Dataset.classification, Dataset.regression or new Dataset), ${fromAnotherCopy(value, Dataset) ?? `got ${describeArray(value)}`}`);
  }
}

/** Throws E_DATA unless `inputs` is what predict and predictWithUncertainty take: samples end to end in a Float32Array, or a Dataset. */
export function checkInferenceInputs(inputs: unknown): asserts inputs is Float32Array | Dataset {
  if (inputs instanceof Float32Array || inputs instanceof Dataset) return;
  const advice = Array.isArray(inputs) || ArrayBuffer.isView(inputs) ? '; pass Float32Array.from(inputs)' : '';
  throw new LockstepError('E_DATA', `inputs must be a Float32Array of samples end to end, or a Dataset, ${fromAnotherCopy(inputs, Dataset) ?? `got ${describeArray(inputs)}${advice}`}`);
}

/** "a Float64Array", "an array", "undefined": what a value is, for a message. */
function describeArray(value: unknown): string {
  return ArrayBuffer.isView(value) ? `a ${value.constructor.name}` : describeValue(value);
}

function checkTargets(given: TargetsInput): Targets {
  if (given?.kind === 'values') {
    if (!(given.values instanceof Float32Array)) {
      throw new LockstepError('E_DATA', `Dataset: targets.values must be a Float32Array, got ${describeArray(given.values)}; pass Float32Array.from(values)`);
    }
    checkInteger('Dataset target width', given.width, 1);
    return given;
  }
  if (given?.kind !== 'classes') throw new LockstepError('E_DATA', `Dataset: targets.kind must be "classes" or "values", got ${describeValue((given as { kind?: unknown } | undefined)?.kind)}`);
  const { labels } = given;
  if (labels instanceof Int32Array) return given as Targets;
  if (!Array.isArray(labels) && !(ArrayBuffer.isView(labels) && !(labels instanceof DataView))) {
    throw new LockstepError('E_DATA', `Dataset: targets.labels must be an array of class indices (an Int32Array), got ${describeArray(labels)}`);
  }
  // Checked before the copy, which would turn 1.5 into 1 and NaN into 0.
  Array.prototype.forEach.call(labels, (label: unknown, i: number) => {
    if (!Number.isInteger(label)) throw new LockstepError('E_LABEL', `Dataset: label ${String(label)} of sample ${i} is not an integer; labels are class indices`);
  });
  return { kind: 'classes', labels: Int32Array.from(labels as ArrayLike<number>), classes: given.classes };
}

function selectTargets(targets: Targets, indices: ArrayLike<number>): Targets {
  if (targets.kind === 'classes') return { ...targets, labels: Int32Array.from(indices, (i) => targets.labels[i]) };
  const { width } = targets;
  const values = new Float32Array(indices.length * width);
  for (let row = 0; row < indices.length; row++) values.set(targets.values.subarray(indices[row] * width, (indices[row] + 1) * width), row * width);
  return { ...targets, values };
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
    const { sampleSize, targets } = this.data;
    for (let row = 0; row < indices.length; row++) {
      const sample = indices[row];
      this.data.readSample(sample, this.inputs, row * sampleSize);
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
