import { decode } from 'jpeg-js';
import { BadImage, checkDimensions, MAX_PIXELS, type DecodedImage } from './decode.js';

/** Start-of-frame markers jpeg-js cannot decode, and what they are. */
const UNREAD_FRAMES: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'hierarchical',
  0xc6: 'hierarchical',
  0xc7: 'hierarchical lossless',
  0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded progressive',
  0xcb: 'arithmetic-coded lossless',
  0xcd: 'hierarchical arithmetic-coded',
  0xce: 'hierarchical arithmetic-coded',
  0xcf: 'hierarchical arithmetic-coded lossless',
};

/** jpeg-js's own limit on what it allocates: room for MAX_PIXELS in colour, with its per-block overhead. */
const MAX_MEMORY_MB = 1024;

/** A JPEG's start-of-image marker and the first byte of the marker after it. */
export const JPEG_START = [0xff, 0xd8, 0xff];

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= JPEG_START.length && JPEG_START.every((b, i) => bytes[i] === b);
}

interface Frame {
  width: number;
  height: number;
  components: number;
  /** Where the frame header starts: the image's end-of-image marker must come after it. */
  at: number;
}

/** Walks the markers up to the frame header and checks it, before anything is decoded. */
function readFrame(bytes: Uint8Array): Frame {
  let at = 2;
  for (;;) {
    if (at + 4 > bytes.length) throw new BadImage('is truncated: it ends before the JPEG frame header');
    if (bytes[at] !== 0xff) throw new BadImage(`is corrupt: a JPEG marker should start at byte ${at}`);
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw new BadImage('is corrupt: its image data comes before its JPEG frame header');
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2 || at + 2 + length > bytes.length) throw new BadImage(`is truncated: its segment at byte ${at} runs past the end of the file`);
    const unread = UNREAD_FRAMES[marker];
    if (unread !== undefined) throw new BadImage(`is ${/^[aeiou]/.test(unread) ? 'an' : 'a'} ${unread} JPEG, which lockstep's decoder (jpeg-js) does not read; save it as a baseline or progressive JPEG, or as PNG`);
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (length < 8) throw new BadImage('is corrupt: its JPEG frame header is too short');
      const precision = bytes[at + 4];
      const frame = { height: (bytes[at + 5] << 8) | bytes[at + 6], width: (bytes[at + 7] << 8) | bytes[at + 8], components: bytes[at + 9], at };
      if (precision !== 8) throw new BadImage(`is a ${precision}-bit JPEG; lockstep reads 8-bit JPEGs, so save it with 8 bits a sample, or as PNG`);
      if (frame.height === 0) throw new BadImage('gives its height in a DNL marker, which lockstep does not read; save it again with another program');
      if (frame.components === 4) throw new BadImage('is a CMYK JPEG, which lockstep does not read (its colours need the colour profile it was made for); convert it to RGB');
      if (frame.components !== 1 && frame.components !== 3) throw new BadImage(`is a JPEG with ${frame.components} colour components; lockstep reads grey (1) and colour (3)`);
      checkDimensions(frame.width, frame.height);
      return frame;
    }
    at += 2 + length;
  }
}

/** Whether an end-of-image marker follows the frame header (bytes may trail it, as some cameras write). */
function hasEnd(bytes: Uint8Array, after: number): boolean {
  for (let i = bytes.length - 2; i > after; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

/**
 * Decodes a baseline or progressive JPEG, grey or YCbCr, with jpeg-js: its integer inverse DCT,
 * nearest-neighbour chroma upsampling and fixed YCbCr-to-RGB arithmetic are the same on every machine.
 * The frame header is checked first (size limit, CMYK, precision), and a file without its
 * end-of-image marker is refused as truncated.
 */
export function decodeJpeg(bytes: Uint8Array): DecodedImage {
  const frame = readFrame(bytes);
  if (!hasEnd(bytes, frame.at)) throw new BadImage('is truncated: it has no JPEG end-of-image marker after its frame');
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: MAX_MEMORY_MB });
  } catch (error) {
    // jpeg-js says what it found with plain Errors; a TypeError or RangeError is its own code tripping
    // over damaged data, and its text (Cannot set properties of undefined...) would mean nothing to a user.
    const said = error instanceof Error && error.constructor === Error ? error.message : 'its data is damaged';
    throw new BadImage(`is not a valid JPEG: ${said}`);
  }
  if (image.width !== frame.width || image.height !== frame.height) throw new BadImage('is corrupt: jpeg-js decoded another size than its frame header gives');
  return { width: image.width, height: image.height, max: 255, rgba: image.data };
}
