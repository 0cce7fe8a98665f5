import { decodeJpeg, isJpeg, JPEG_START } from './jpeg.js';
import { decodePng, isPng, PNG_SIGNATURE } from './png.js';

/**
 * The most pixels an image may have: a larger header is refused before anything is allocated for
 * its pixels (25 megapixels is 5000 x 5000, more than a phone camera's photos).
 */
export const MAX_PIXELS = 25_000_000;

/** A decoded image: `rgba` holds 4 samples a pixel, row by row, each from 0 to `max`. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** The largest sample value: 2^depth - 1 for PNG (255 for a palette), 255 for JPEG. */
  readonly max: number;
  readonly rgba: Uint8Array | Uint16Array;
}

/** Why a file is not an image lockstep can read: `reason` follows the file's path in a message. */
export class BadImage extends Error {
  override readonly name = 'BadImage';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Throws BadImage unless a header's width and height are whole and within MAX_PIXELS. */
export function checkDimensions(width: number, height: number): void {
  if (width === 0 || height === 0) throw new BadImage(`is corrupt: its header gives a size of ${width} x ${height} pixels`);
  if (width * height > MAX_PIXELS) {
    const megapixels = ((width * height) / 1e6).toFixed(1);
    throw new BadImage(`claims ${width} x ${height} pixels (${megapixels} megapixels), more than the ${MAX_PIXELS / 1e6} megapixels lockstep decodes; make it smaller`);
  }
}

/** Formats that are images but not ones lockstep reads, by their first bytes. */
const OTHER_FORMATS: Array<[string, (b: Uint8Array) => boolean]> = [
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
  ['BMP', (b) => ascii(b, 0, 2) === 'BM'],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*'],
];

function hex(bytes: Iterable<number>): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** The pixels of a PNG or JPEG file, told apart by their first bytes (not the file name); BadImage otherwise. */
export function decodeImage(bytes: Uint8Array): DecodedImage {
  if (bytes.length === 0) throw new BadImage('is empty (0 bytes)');
  if (isPng(bytes)) return decodePng(bytes);
  if (isJpeg(bytes)) return decodeJpeg(bytes);
  const other = OTHER_FORMATS.find(([, test]) => test(bytes));
  if (other !== undefined) throw new BadImage(`is a ${other[0]} image; lockstep reads PNG and JPEG only, so convert it`);
  // The whole signature is shown, so that a damaged one is told from a valid start of a truncated file.
  const start = hex(bytes.subarray(0, PNG_SIGNATURE.length));
  if (bytes.length < PNG_SIGNATURE.length) throw new BadImage(`is only ${bytes.length} byte${bytes.length === 1 ? '' : 's'} long (${start}), too short to be a PNG or JPEG image`);
  throw new BadImage(`is not a PNG or JPEG image (its first ${PNG_SIGNATURE.length} bytes are ${start}; a PNG starts ${hex(PNG_SIGNATURE)}, a JPEG ${hex(JPEG_START)})`);
}
