import { Worker } from 'node:worker_threads';
import type { ChannelStats } from '../../config/image-settings.js';
import { compiledModule } from '../../compiled.js';
import type { FileOutcome } from './folder.js';
import type { FileIdentity, PixelSettings } from './image-file.js';
import { MOMENTS } from './normalize.js';
import { CLAIM, FILE_STATUS, PASS_BLOCK, type PassAnswer, type PassOrder, type PassSetup } from './pass-layout.js';
import type { ScannedTree } from './scan.js';

/** The loader threads of a first pass, each answering one order at a time. */
class LoaderThreads {
  private readonly threads: Worker[];
  private failure: Error | null = null;

  constructor(count: number, setup: PassSetup) {
    const file = compiledModule('./data/images/pass-worker.js');
    this.threads = Array.from({ length: count }, () => new Worker(file, { workerData: setup }));
    for (const thread of this.threads) thread.on('error', (error) => (this.failure ??= error));
  }

  get count(): number {
    return this.threads.length;
  }

  /** Sends `orders[t]` to thread t (as many threads as orders); the answers come back through `answers`. */
  send(orders: PassOrder[]): Promise<PassAnswer[]> {
    return Promise.all(
      orders.map(
        (order, t) =>
          new Promise<PassAnswer>((resolve, reject) => {
            const thread = this.threads[t];
            const failed = (error: Error): void => reject(error);
            thread.once('error', failed);
            thread.once('message', (answer: PassAnswer) => {
              thread.off('error', failed);
              resolve(answer);
            });
            thread.postMessage(order);
          }),
      ),
    ).catch((error: unknown) => {
      throw this.failure ?? error;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}

/** Split s of a tree: 0 for training, 1 for test. */
export type SplitIndex = 0 | 1;

/** What a first pass found, and the cache it filled; `close` ends its threads. */
export interface FirstPass {
  /** [channels, height, width] of every sample; null where no file read as an image. */
  readonly sampleShape: readonly number[] | null;
  /** The file's image size, or why it is bad; null for a file past the one that stopped the pass. */
  outcome(split: SplitIndex, index: number): FileOutcome | null;
  identity(split: SplitIndex, index: number): FileIdentity;
  /** MOMENTS x channels float64 values per training file (normalize.ts sampleMoments), by file index. */
  readonly moments: Float64Array;
  /** Per split: the first `slots` files' samples, float32, by file index (the slot of a bad file holds nothing). */
  readonly caches: readonly [SharedArrayBuffer, SharedArrayBuffer];
  readonly slots: readonly [number, number];
  /** Seconds the slowest loader thread spent reading files (the threads' start left out). */
  readonly readSeconds: number;
  /** Normalizes every cached sample in place, on the loader threads. */
  normalize(stats: ChannelStats): Promise<void>;
  close(): Promise<void>;
}

export interface PassOptions {
  readonly pixels: PixelSettings;
  readonly skip: boolean;
  readonly threads: number;
  /** The cache's budget: the training split's first files, then the test split's, as many as fit. */
  readonly cacheBytes: number;
  /**
   * Run on the main thread while the loader threads read (it must not wait for them): the data
   * fingerprint's hashing. `stopped()` turns true once the pass found a file that stops the run.
   */
  readonly meanwhile?: (stopped: () => boolean) => void;
}

/** Slots [from, to) of `slots` that thread `t` of `count` normalizes. */
function share(slots: number, t: number, count: number): [number, number] {
  return [Math.floor((slots * t) / count), Math.floor((slots * (t + 1)) / count)];
}

/**
 * The first pass over an image tree, on loader threads (docs/design.md, "Data that does not fit in
 * memory"): every file is read and decoded once, on `threads` threads claiming blocks of files in
 * order; each file's status, image size and identity (size, modification time) land in shared
 * memory, the training files' moments too, and the first files of each split, as many as the cache's
 * budget holds, are kept as float32 samples. The main thread decodes nothing: where no imageSize
 * gives the samples' shape, one loader thread first finds the first file that reads as an image.
 */
export async function firstPass(tree: ScannedTree, options: PassOptions): Promise<FirstPass> {
  const files = [...tree.train.files, ...(tree.test?.files ?? [])].map(({ path, bytes, bad }) => ({ path, bytes, bad }));
  const trainFiles = tree.train.files.length;
  const total = files.length;
  const setup: PassSetup = {
    files,
    trainFiles,
    pixels: options.pixels,
    skip: options.skip,
    claims: new SharedArrayBuffer(4 * 2),
    status: new SharedArrayBuffer(4 * total),
    dims: new SharedArrayBuffer(4 * 2 * total),
    identities: new SharedArrayBuffer(8 * 2 * total),
  };
  const claims = new Int32Array(setup.claims);
  claims[CLAIM.stopAt] = total;
  const threads = new LoaderThreads(Math.max(1, Math.min(options.threads, Math.ceil(total / PASS_BLOCK))), setup);
  try {
    const { channels, size } = options.pixels;
    let shape: number[] | null = size === undefined ? null : [channels, size[0], size[1]];
    if (shape === null) {
      const [probed] = await threads.send([{ kind: 'probe' }]);
      if (probed.kind === 'probed' && probed.size !== null) shape = [channels, probed.size.height, probed.size.width];
    }
    const sampleSize = shape === null ? 0 : shape[0] * shape[1] * shape[2];
    const sampleBytes = 4 * sampleSize;
    const fit = (bytes: number): number => (sampleBytes === 0 ? 0 : Math.floor(bytes / sampleBytes));
    const trainSlots = Math.min(trainFiles, fit(options.cacheBytes));
    const testSlots = Math.min(total - trainFiles, fit(options.cacheBytes - trainSlots * sampleBytes));
    const caches: [SharedArrayBuffer, SharedArrayBuffer] = [new SharedArrayBuffer(trainSlots * sampleBytes), new SharedArrayBuffer(testSlots * sampleBytes)];
    const moments = new SharedArrayBuffer(8 * MOMENTS * channels * trainFiles);
    const read: PassOrder = { kind: 'read', sampleSize, caches, slots: [trainSlots, testSlots], moments };
    const answers = threads.send(Array.from({ length: threads.count }, () => read));
    options.meanwhile?.(() => Atomics.load(claims, CLAIM.stopAt) < total);
    const bad = new Map<number, string>();
    let readSeconds = 0;
    for (const answer of await answers) {
      if (answer.kind !== 'read') continue;
      for (const [g, reason] of answer.bad) bad.set(g, reason);
      readSeconds = Math.max(readSeconds, answer.seconds);
    }
    const status = new Int32Array(setup.status);
    const dims = new Int32Array(setup.dims);
    const identities = new Float64Array(setup.identities);
    const fileOf = (split: SplitIndex, index: number): number => (split === 0 ? index : trainFiles + index);
    return {
      sampleShape: shape,
      outcome(split, index) {
        const g = fileOf(split, index);
        if (status[g] === FILE_STATUS.bad) return { bad: bad.get(g) ?? files[g].bad ?? 'cannot be read' };
        return status[g] === FILE_STATUS.image ? { height: dims[2 * g], width: dims[2 * g + 1] } : null;
      },
      identity(split, index) {
        const g = fileOf(split, index);
        return { bytes: identities[2 * g], modified: identities[2 * g + 1] };
      },
      moments: new Float64Array(moments),
      caches,
      slots: [trainSlots, testSlots],
      readSeconds,
      async normalize(stats) {
        const orders = Array.from({ length: threads.count }, (_, t): PassOrder => ({
          kind: 'normalize',
          stats,
          sampleSize,
          caches,
          ranges: [share(trainSlots, t, threads.count), share(testSlots, t, threads.count)],
        }));
        await threads.send(orders);
      },
      close: () => threads.close(),
    };
  } catch (error) {
    await threads.close();
    throw error;
  }
}
