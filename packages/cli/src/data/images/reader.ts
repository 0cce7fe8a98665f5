import { LockstepError, type ReaderRecipe, type SampleReader } from '@lockstep/core';
import type { ChannelStats } from '../../config/image-settings.js';
import { compiledModule } from '../../compiled.js';
import { CHANGED_FIX, rereadValues, type PixelSettings } from './image-file.js';
import { normalizeInPlace } from './normalize.js';

/**
 * The samples of one split of an image tree as a streamed data set reads them, on any thread: from
 * the cache where the first pass kept them, else read and decoded from their files again. Sample i is
 * the split's i-th kept file. Structured-cloneable; its buffers are shared, not copied.
 */
export interface ImageReaderOptions {
  /** Tells this reader apart on a worker thread, which keeps one open reader per token. */
  readonly token: string;
  readonly sampleShape: readonly number[];
  readonly pixels: PixelSettings;
  /** Applied to samples read from their files; the cache holds samples already normalized. */
  readonly stats: ChannelStats | null;
  /** UTF-8 paths of the samples' files, end to end; sample i's is bytes [pathEnds[i - 1], pathEnds[i]). */
  readonly paths: SharedArrayBuffer;
  /** Uint32 per sample. */
  readonly pathEnds: SharedArrayBuffer;
  /** Float64 x 2 per sample: its file's size and modification time when the first pass read it. */
  readonly identities: SharedArrayBuffer;
  /** Int32 per sample: its slot in `cache`, or -1 where it is not cached. */
  readonly slots: SharedArrayBuffer;
  /** Float32 samples, one per slot, as they train (normalized). */
  readonly cache: SharedArrayBuffer;
}

/** The reader of a split's samples: cache first, else the file (image-file.ts `rereadValues` checks it is the same file). */
export class ImageReader implements SampleReader {
  readonly recipe: ReaderRecipe;
  private readonly options: ImageReaderOptions;
  private readonly paths: Buffer;
  private readonly pathEnds: Uint32Array;
  private readonly identities: Float64Array;
  private readonly slots: Int32Array;
  private readonly cache: Float32Array;
  private readonly sampleSize: number;
  /** Samples decoded ahead (`work`), until read; and spare buffers for more. */
  private readonly ready = new Map<number, Float32Array>();
  private readonly spare: Float32Array[] = [];
  private pending: number[] = [];

  constructor(options: ImageReaderOptions) {
    this.options = options;
    this.recipe = { module: compiledModule('./data/images/reader.js').href, options };
    this.paths = Buffer.from(options.paths);
    this.pathEnds = new Uint32Array(options.pathEnds);
    this.identities = new Float64Array(options.identities);
    this.slots = new Int32Array(options.slots);
    this.cache = new Float32Array(options.cache);
    this.sampleSize = options.sampleShape.reduce((a, b) => a * b, 1);
  }

  /** The file sample `index` is read from. */
  pathOf(index: number): string {
    return this.paths.toString('utf8', index === 0 ? 0 : this.pathEnds[index - 1], this.pathEnds[index]);
  }

  read(index: number, into: Float32Array): void {
    const size = this.sampleSize;
    const slot = this.slots[index];
    if (slot >= 0) {
      into.set(this.cache.subarray(slot * size, (slot + 1) * size));
      return;
    }
    const ready = this.ready.get(index);
    if (ready !== undefined) {
      into.set(ready);
      this.ready.delete(index);
      this.spare.push(ready);
      return;
    }
    this.decode(index, into);
  }

  expect(indices: ArrayLike<number>): void {
    const wanted = new Set<number>();
    for (let i = 0; i < indices.length; i++) if (this.slots[indices[i]] < 0) wanted.add(indices[i]);
    for (const [index, values] of this.ready) {
      if (wanted.has(index)) continue;
      this.ready.delete(index);
      this.spare.push(values);
    }
    this.pending = [...wanted].filter((index) => !this.ready.has(index)).reverse();
  }

  work(): boolean {
    const index = this.pending.pop();
    if (index === undefined) return false;
    const values = this.spare.pop() ?? new Float32Array(this.sampleSize);
    this.decode(index, values);
    this.ready.set(index, values);
    return this.pending.length > 0;
  }

  /** Sample `index` from its file, as the first pass read it, normalized as the cache's samples are. */
  private decode(index: number, into: Float32Array): void {
    const identity = { bytes: this.identities[2 * index], modified: this.identities[2 * index + 1] };
    const path = this.pathOf(index);
    const { values } = rereadValues(path, identity, this.options.pixels);
    if (values.length !== this.sampleSize) throw new LockstepError('E_DATA', `${path} decodes to another size than when the run started, so it changed; ${CHANGED_FIX}`);
    const sample = into.subarray(0, this.sampleSize);
    sample.set(values);
    const { stats, sampleShape } = this.options;
    if (stats !== null) normalizeInPlace(sample, sampleShape[0], this.sampleSize / sampleShape[0], stats);
  }
}

/** A worker thread's own reader of the same samples (core's ReaderRecipe). */
export function openSampleReader(options: ImageReaderOptions): SampleReader {
  return new ImageReader(options);
}
