import type { ChannelStats } from '../../config/image-settings.js';
import type { PixelSettings } from './image-file.js';
import type { ImageFile } from './scan.js';

// The first pass over an image tree (pass.ts, on loader threads from pass-worker.ts): what the threads
// share, defined once. Files are numbered across both splits, the training split's first: file g of
// the test split is g - trainFiles of it.

/** Files a thread claims at a time, in order. */
export const PASS_BLOCK = 16;

/** `status` of a file: not read (yet), read into an image, bad. */
export const FILE_STATUS = { unread: 0, image: 1, bad: 2 } as const;

/** The two words threads claim blocks with: the next block, and the first file that stops the run (no file past it is read). */
export const CLAIM = { next: 0, stopAt: 1 } as const;

/** What every loader thread is given when it starts. */
export interface PassSetup {
  /** Every file of both splits, the training split's first, as the scan found them. */
  readonly files: ReadonlyArray<Pick<ImageFile, 'path' | 'bytes' | 'bad'>>;
  readonly trainFiles: number;
  readonly pixels: PixelSettings;
  /** --skip-bad-images: a bad file does not stop the run. */
  readonly skip: boolean;
  /** Int32 x 2 (CLAIM). */
  readonly claims: SharedArrayBuffer;
  /** Int32 per file (FILE_STATUS). */
  readonly status: SharedArrayBuffer;
  /** Int32 x 2 per file: the image's height and width as brought to the settings. */
  readonly dims: SharedArrayBuffer;
  /** Float64 x 2 per file: its size in bytes and modification time when read (image-file.ts FileIdentity). */
  readonly identities: SharedArrayBuffer;
}

/** A message to a loader thread. */
export type PassOrder =
  /** Find the first file that reads as an image, in order: its size gives every sample's shape where no imageSize does. */
  | { readonly kind: 'probe' }
  /**
   * Read every file (claiming blocks), caching the first `slots[s]` files of split s as float32
   * samples of `sampleSize` values, and the training files' moments (normalize.ts sampleMoments).
   */
  | { readonly kind: 'read'; readonly sampleSize: number; readonly caches: readonly [SharedArrayBuffer, SharedArrayBuffer]; readonly slots: readonly [number, number]; readonly moments: SharedArrayBuffer }
  /** Normalize slots [from, to) of each split's cache in place. */
  | {
      readonly kind: 'normalize';
      readonly stats: ChannelStats;
      readonly sampleSize: number;
      readonly caches: readonly [SharedArrayBuffer, SharedArrayBuffer];
      readonly ranges: readonly [readonly [number, number], readonly [number, number]];
    };

/** A loader thread's answer. */
export type PassAnswer =
  | { readonly kind: 'probed'; readonly size: { readonly height: number; readonly width: number } | null }
  /** The bad files this thread found, by file number, with why. */
  | { readonly kind: 'read'; readonly bad: ReadonlyArray<readonly [number, string]>; readonly seconds: number }
  | { readonly kind: 'normalized' };
