import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { BadImage, checkDimensions, type DecodedImage } from './decode.js';

export const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** The bit depths each colour type allows, and its samples a pixel (PNG spec, table 11.1). */
const COLOUR_TYPES: Record<number, { depths: number[]; samples: number }> = {
  0: { depths: [1, 2, 4, 8, 16], samples: 1 },
  2: { depths: [8, 16], samples: 3 },
  3: { depths: [1, 2, 4, 8], samples: 1 },
  4: { depths: [8, 16], samples: 2 },
  6: { depths: [8, 16], samples: 4 },
};

/** The chunks the pixels need; the rest (tRNS, gAMA, iCCP, text...) are left out before decoding. */
const KEPT = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);

/** Adam7's passes: first column and row, then the step between columns and between rows. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  interlaced: boolean;
}

/** The IHDR fields, checked, before anything is decoded. */
function readHeader(view: DataView, bytes: Uint8Array): Header {
  if (bytes.length < 33) throw new BadImage('is truncated: it ends inside the PNG header');
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw new BadImage('is corrupt: a PNG must start with a 13-byte IHDR chunk');
  const header = { width: view.getUint32(16), height: view.getUint32(20), depth: bytes[24], colourType: bytes[25], interlaced: bytes[28] === 1 };
  const colour = COLOUR_TYPES[header.colourType];
  if (colour === undefined) throw new BadImage(`is corrupt: PNG colour type ${header.colourType} does not exist`);
  if (!colour.depths.includes(header.depth)) throw new BadImage(`is corrupt: PNG colour type ${header.colourType} cannot have bit depth ${header.depth}`);
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) throw new BadImage('is corrupt: its IHDR names a compression, filter or interlace method PNG does not have');
  checkDimensions(header.width, header.height);
  return header;
}

/** The bytes the image data must inflate to: each row of each pass, with its filter byte. */
function inflatedSize({ width, height, depth, colourType, interlaced }: Header): number {
  const rowBytes = (pixels: number): number => Math.ceil((pixels * COLOUR_TYPES[colourType].samples * depth) / 8);
  if (!interlaced) return height * (1 + rowBytes(width));
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const columns = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const rows = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (columns > 0) total += rows * (1 + rowBytes(columns));
  }
  return total;
}

/**
 * Decodes a PNG with pngjs after checking it here: the header (size limit before any allocation),
 * every chunk's length and CRC, an IEND, and that the image data inflates to exactly the bytes its
 * size needs (a zlib bomb stops at that size). Ancillary chunks are left out, so tRNS transparency,
 * gamma and colour profiles change no sample: samples are taken as stored.
 */
export function decodePng(bytes: Uint8Array): DecodedImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = readHeader(view, bytes);
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  const data: Uint8Array[] = [];
  let at = 8;
  let ended = false;
  while (!ended) {
    if (at + 12 > bytes.length) throw new BadImage('is truncated: it ends before its IEND chunk');
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) throw new BadImage(`is truncated: its ${printable(type)} chunk at byte ${at} runs past the end of the file`);
    if (crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4)) throw new BadImage(`is corrupt: the CRC of its ${printable(type)} chunk at byte ${at} does not match`);
    if (type === 'IDAT') data.push(bytes.subarray(at + 8, end - 4));
    if (KEPT.has(type)) kept.push(bytes.subarray(at, end));
    else if ((bytes[at + 4] & 0x20) === 0) throw new BadImage(`uses the PNG chunk ${printable(type)}, which lockstep cannot read`);
    ended = type === 'IEND';
    at = end;
  }
  if (data.length === 0) throw new BadImage('is corrupt: it has no image data (IDAT)');
  const expected = inflatedSize(header);
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(data), { maxOutputLength: expected });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new BadImage(`is corrupt: its image data inflates to more than the ${expected} bytes a ${header.width} x ${header.height} image needs`);
    throw new BadImage(`is corrupt or truncated: its image data does not inflate (${(error as Error).message})`);
  }
  if (inflated.length !== expected) throw new BadImage(`is truncated: its image data inflates to ${inflated.length} bytes, and a ${header.width} x ${header.height} image needs ${expected}`);
  let png: { data: Uint8Array | Uint16Array; width: number; height: number };
  try {
    png = PNG.sync.read(Buffer.concat(kept), { skipRescale: true }) as unknown as typeof png;
  } catch (error) {
    throw new BadImage(`is not a valid PNG: ${String((error as Error)?.message ?? error)}`);
  }
  const max = header.colourType === 3 ? 255 : 2 ** header.depth - 1;
  return { width: png.width, height: png.height, max, rgba: png.data };
}

/** A chunk type as a message shows it: four letters, or its bytes in hex when they are not letters. */
function printable(type: string): string {
  return /^[A-Za-z]{4}$/.test(type) ? type : [...type].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}
