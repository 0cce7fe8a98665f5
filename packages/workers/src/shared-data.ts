import { Dataset, LockstepError, type ReaderRecipe, type SampleReader, type Targets } from '@lockstep/core';

/** A data set in shared memory: what a task carries instead of the samples themselves. */
export interface SharedDataset {
  /** Changes whenever the coordinator shares a different data set, so workers rebuild their views only then. */
  readonly version: number;
  /** Every sample end to end; null for a streamed data set, which `streamed` describes. */
  readonly inputs: SharedArrayBuffer | null;
  /** How each worker opens the data set's reader, and which of its rows the data set is (null: all, in order). */
  readonly streamed: { readonly recipe: ReaderRecipe; readonly rows: SharedArrayBuffer | null } | null;
  readonly sampleShape: readonly number[];
  readonly targets:
    | { readonly kind: 'classes'; readonly labels: SharedArrayBuffer; readonly classes: number }
    | { readonly kind: 'values'; readonly values: SharedArrayBuffer; readonly width: number };
}

function toShared<T extends Float32Array | Int32Array | Uint32Array>(array: T, make: (buffer: SharedArrayBuffer) => T): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(array.byteLength);
  make(buffer).set(array);
  return buffer;
}

/**
 * Copies a data set into shared memory, once; tasks then pass only the buffer handles. A streamed
 * data set shares its reader's recipe and its rows instead: each worker opens its own reader, and the
 * reader's own shared memory (a cache of decoded samples) is shared through the recipe.
 */
export function shareDataset(data: Dataset, version: number): SharedDataset {
  const t = data.targets;
  const targets =
    t.kind === 'classes'
      ? { kind: 'classes' as const, labels: toShared(t.labels, (b) => new Int32Array(b)), classes: t.classes }
      : { kind: 'values' as const, values: toShared(t.values, (b) => new Float32Array(b)), width: t.width };
  if (data.streamed === null) return { version, inputs: toShared(data.inputs, (b) => new Float32Array(b)), streamed: null, sampleShape: data.sampleShape, targets };
  const { reader, rows } = data.streamed;
  if (reader.recipe === undefined) throw new LockstepError('E_DATA', 'a streamed data set needs a reader with a recipe to be read on worker threads');
  const sharedRows = rows === null ? null : toShared(rows, (b) => new Uint32Array(b));
  return { version, inputs: null, streamed: { recipe: reader.recipe, rows: sharedRows }, sampleShape: data.sampleShape, targets };
}

/** Readers this thread opened, one per recipe module and options object. */
const readers = new Map<string, Map<unknown, SampleReader>>();

/** Opens a recipe's reader on this thread (importing its module once); a recipe already opened gives the same reader. */
async function openReader(recipe: ReaderRecipe): Promise<SampleReader> {
  let opened = readers.get(recipe.module);
  if (opened === undefined) readers.set(recipe.module, (opened = new Map()));
  // Each task carries a fresh clone of the options, so readers are told apart by the options' own identity token.
  const token = (recipe.options as { token?: unknown }).token ?? recipe.options;
  let reader = opened.get(token);
  if (reader === undefined) {
    const module = (await import(recipe.module)) as { openSampleReader?: (options: unknown) => SampleReader };
    if (typeof module.openSampleReader !== 'function') throw new LockstepError('E_DATA', `${recipe.module} exports no openSampleReader(options)`);
    reader = module.openSampleReader(recipe.options);
    opened.set(token, reader);
  }
  return reader;
}

/** A Dataset of views over shared memory, without copying; a streamed one reads through this thread's own reader. */
export async function datasetFromShared(shared: SharedDataset): Promise<Dataset> {
  const t = shared.targets;
  const targets: Targets =
    t.kind === 'classes'
      ? { kind: 'classes', labels: new Int32Array(t.labels), classes: t.classes }
      : { kind: 'values', values: new Float32Array(t.values), width: t.width };
  if (shared.streamed === null) return new Dataset(new Float32Array(shared.inputs!), shared.sampleShape, targets);
  const { recipe, rows } = shared.streamed;
  return new Dataset({ reader: await openReader(recipe), rows: rows === null ? null : new Uint32Array(rows) }, shared.sampleShape, targets);
}
