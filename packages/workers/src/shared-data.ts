import { Dataset, type Targets } from '@lockstep/core';

/** A data set in shared memory: what a task carries instead of the samples themselves. */
export interface SharedDataset {
  /** Changes whenever the coordinator shares a different data set, so workers rebuild their views only then. */
  readonly version: number;
  readonly inputs: SharedArrayBuffer;
  readonly sampleShape: readonly number[];
  readonly targets:
    | { readonly kind: 'classes'; readonly labels: SharedArrayBuffer; readonly classes: number }
    | { readonly kind: 'values'; readonly values: SharedArrayBuffer; readonly width: number };
}

function toShared<T extends Float32Array | Int32Array>(array: T, make: (buffer: SharedArrayBuffer) => T): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(array.byteLength);
  make(buffer).set(array);
  return buffer;
}

/** Copies a data set into shared memory, once; tasks then pass only the buffer handles. */
export function shareDataset(data: Dataset, version: number): SharedDataset {
  const inputs = toShared(data.inputs, (b) => new Float32Array(b));
  const t = data.targets;
  const targets =
    t.kind === 'classes'
      ? { kind: 'classes' as const, labels: toShared(t.labels, (b) => new Int32Array(b)), classes: t.classes }
      : { kind: 'values' as const, values: toShared(t.values, (b) => new Float32Array(b)), width: t.width };
  return { version, inputs, sampleShape: data.sampleShape, targets };
}

/** A Dataset of views over shared memory, without copying. */
export function datasetFromShared(shared: SharedDataset): Dataset {
  const t = shared.targets;
  const targets: Targets =
    t.kind === 'classes'
      ? { kind: 'classes', labels: new Int32Array(t.labels), classes: t.classes }
      : { kind: 'values', values: new Float32Array(t.values), width: t.width };
  return new Dataset(new Float32Array(shared.inputs), shared.sampleShape, targets);
}
