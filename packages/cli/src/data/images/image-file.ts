import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LockstepError } from '@lockstep/core';
import { BadImage, decodeImage } from './decode.js';
import { toPlanes } from './pixels.js';
import { centreCrop, resize, type Planes } from './resize.js';
import { unreadable, type ImageFile } from './scan.js';

/** A file larger than this is refused before it is read. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;

/** The settings that decide the pixels of one image. */
export interface PixelSettings {
  readonly channels: number;
  readonly size: readonly number[] | undefined;
  readonly fit: 'resize' | 'crop';
}

/** What a file was when it was read: a later read that finds it otherwise stops the run. */
export interface FileIdentity {
  readonly bytes: number;
  readonly modified: number;
}

/** An image file's values: decoded, in the settings' channels, brought to their size; BadImage where it is not an image. */
export function readImage(bytes: Uint8Array, settings: PixelSettings): Planes {
  const image = decodeImage(bytes);
  const planes = { data: toPlanes(image, settings.channels), channels: settings.channels, height: image.height, width: image.width };
  if (settings.size === undefined) return planes;
  const [height, width] = settings.size;
  return settings.fit === 'crop' ? centreCrop(planes, height, width) : resize(planes, height, width);
}

/** An image's values as samples are stored: rounded to float32 once, channel by channel (CHW). */
export interface ImageValues {
  readonly values: Float32Array;
  readonly height: number;
  readonly width: number;
}

export function imageValues(bytes: Uint8Array, settings: PixelSettings): ImageValues {
  const planes = readImage(bytes, settings);
  return { values: Float32Array.from(planes.data), height: planes.height, width: planes.width };
}

/** The whole of an open file, and its size and modification time from the same descriptor. */
function readOpen(fd: number): { bytes: Buffer; identity: FileIdentity } {
  const stats = fstatSync(fd);
  const identity = { bytes: stats.size, modified: stats.mtimeMs };
  if (stats.size > MAX_FILE_BYTES) return { bytes: Buffer.alloc(0), identity };
  const bytes = Buffer.allocUnsafe(stats.size);
  let read = 0;
  while (read < bytes.length) {
    const got = readSync(fd, bytes, read, bytes.length - read, read);
    if (got === 0) break;
    read += got;
  }
  return { bytes: read === bytes.length ? bytes : bytes.subarray(0, read), identity };
}

/** The bytes of a file of the tree and what it was when read, or BadImage. */
export function readTreeFile(file: Pick<ImageFile, 'path' | 'bytes' | 'bad'>): { bytes: Buffer; identity: FileIdentity } {
  if (file.bad !== undefined) throw new BadImage(file.bad);
  if (file.bytes !== undefined && file.bytes > MAX_FILE_BYTES) throw new BadImage(tooLarge(file.bytes));
  let fd: number;
  try {
    fd = openSync(file.path, 'r');
  } catch (error) {
    throw new BadImage(unreadable(error));
  }
  try {
    const read = readOpen(fd);
    if (read.identity.bytes > MAX_FILE_BYTES) throw new BadImage(tooLarge(read.identity.bytes));
    return read;
  } catch (error) {
    if (error instanceof BadImage) throw error;
    throw new BadImage(unreadable(error));
  } finally {
    closeSync(fd);
  }
}

function tooLarge(bytes: number): string {
  return `is ${bytes} bytes, more than the ${MAX_FILE_BYTES / 2 ** 20} MiB lockstep reads for one image`;
}

/** What to do about a file that changed during a run. */
export const CHANGED_FIX = 'restore it and resume from the run\'s last checkpoint (--resume), or start the run again to train on the data as it is now';

function describe(identity: FileIdentity): string {
  return `${identity.bytes} bytes, modified ${new Date(identity.modified).toISOString()}`;
}

/**
 * The bytes of a file that the run read before, which must be as it was then (size and modification
 * time): a file that changed, vanished or no longer decodes stops the run with one line naming it
 * (E_DATA), rather than let it train on other data than it started with.
 */
export function rereadFile(path: string, was: FileIdentity): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is gone (ENOENT)' : unreadable(error);
    throw new LockstepError('E_DATA', `${path} ${why}, and the run read it when it started; ${CHANGED_FIX}`);
  }
  try {
    const { bytes, identity } = readOpen(fd);
    if (identity.bytes !== was.bytes || identity.modified !== was.modified) {
      throw new LockstepError('E_DATA', `${path} changed since the run read it when it started (${describe(was)}; now ${describe(identity)}); ${CHANGED_FIX}`);
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** `imageValues` of a file read again (`rereadFile`): one that no longer decodes stops the run too. */
export function rereadValues(path: string, was: FileIdentity, settings: PixelSettings): ImageValues {
  const bytes = rereadFile(path, was);
  try {
    return imageValues(bytes, settings);
  } catch (error) {
    if (error instanceof BadImage) throw new LockstepError('E_DATA', `${path} ${error.reason}, and it read well when the run started; ${CHANGED_FIX}`);
    throw error;
  }
}
