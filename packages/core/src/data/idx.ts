import { constants, gunzipSync, type ZlibOptions } from 'node:zlib';
import { LockstepError, checkInteger } from '../errors.js';
import { formatShape } from '../tensor.js';

export type IdxDataType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  readonly dataType: IdxDataType;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

export interface IdxOptions {
  /** Largest payload (in bytes) the header may claim; 2 GiB unless set. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
const MAX_DIMS = 4;
const MAX_HEADER_BYTES = 4 + 4 * MAX_DIMS;
// Node 20's largest Buffer; zlib rejects a larger maxOutputLength outright.
const MAX_GUNZIP_BYTES = 2 ** 32;
// The IDX header of a gzip file comes out of the first few hundred bytes of the stream; 4 KiB of input
// inflates to at most about 4 MiB.
const HEAD_INPUT_BYTES = 4096;
const REINSTALL = 're-download or re-install the data set';

const TYPES: Readonly<Record<number, { readonly dataType: IdxDataType; readonly size: number }>> = {
  0x08: { dataType: 'uint8', size: 1 },
  0x09: { dataType: 'int8', size: 1 },
  0x0b: { dataType: 'int16', size: 2 },
  0x0c: { dataType: 'int32', size: 4 },
  0x0d: { dataType: 'float32', size: 4 },
  0x0e: { dataType: 'float64', size: 8 },
};

function fail(name: string, message: string): never {
  throw new LockstepError('E_IDX', `${name}: ${message}`);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0').toUpperCase()}`;
}

/** `beyondLimit` ends the message when the output would pass `options.maxOutputLength`. */
function inflate(bytes: Uint8Array, name: string, options: ZlibOptions, beyondLimit = ''): Uint8Array {
  try {
    return gunzipSync(bytes, options);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      fail(name, `gzip data decompresses to more than ${options.maxOutputLength} bytes, ${beyondLimit}`);
    }
    const detail = String((error as Error).message ?? error).replace(/\s+/g, ' ');
    fail(name, `corrupt gzip stream (${detail}); ${REINSTALL}`);
  }
}

/**
 * Inflates the IDX header first and caps the rest at the size it promises, so a gzip bomb, or a header
 * claiming 10^12 values, stops a few bytes in rather than at maxBytes. A header further in than
 * HEAD_INPUT_BYTES of input leaves only the maxBytes cap.
 */
function gunzip(bytes: Uint8Array, name: string, maxBytes: number): Uint8Array {
  const head = inflate(bytes.subarray(0, HEAD_INPUT_BYTES), name, { finishFlush: constants.Z_SYNC_FLUSH });
  if (head.length >= 4 && head.length >= 4 + 4 * Math.min(head[3], MAX_DIMS)) {
    const { headerBytes, expected, dataType } = readHeader(head, name, maxBytes);
    const maxOutputLength = Math.min(headerBytes + expected, MAX_GUNZIP_BYTES);
    return inflate(bytes, name, { maxOutputLength }, `the ${headerBytes} header bytes and ${expected} bytes of ${dataType} data its IDX header promises; ${REINSTALL}`);
  }
  const maxOutputLength = Math.min(maxBytes + MAX_HEADER_BYTES, MAX_GUNZIP_BYTES);
  return inflate(bytes, name, { maxOutputLength }, `above the limit of ${maxBytes} bytes of data; pass a larger maxBytes if the file is genuine`);
}

/** Reads an IDX array (the MNIST file format), raw or gzip-compressed, converting big-endian values to native ones. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data', options: IdxOptions = {}): IdxArray {
  const maxBytes = checkInteger(`${name}: maxBytes`, options.maxBytes ?? DEFAULT_MAX_BYTES, 1);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzip(bytes, name, maxBytes);
  const { dataType, shape, headerBytes, count, expected } = readHeader(bytes, name, maxBytes);
  const found = bytes.length - headerBytes;
  if (found < expected) {
    fail(name, `truncated IDX file: header promises ${expected} bytes of ${dataType} data, found ${found}; ${REINSTALL}`);
  }
  if (found > expected) {
    fail(
      name,
      `IDX file has ${found - expected} trailing bytes: header promises ${expected} bytes of ${dataType} data, found ${found}; ${REINSTALL}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dataType, shape, data: readPayload(view, headerBytes, dataType, count) };
}

interface IdxHeader {
  readonly dataType: IdxDataType;
  readonly shape: number[];
  readonly headerBytes: number;
  readonly count: number;
  /** Bytes of data the header promises. */
  readonly expected: number;
}

/** Checks the magic, type and dimensions, and that the claimed data fits in maxBytes; allocates nothing. */
function readHeader(bytes: Uint8Array, name: string, maxBytes: number): IdxHeader {
  if (bytes.length < 4) {
    fail(name, `truncated IDX header: need at least 4 bytes, found ${bytes.length}; ${REINSTALL}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      name,
      `not an IDX file: the first two bytes are ${hex(bytes[0])} ${hex(bytes[1])}, expected 0x00 0x00; ` +
        'pass an IDX file, raw or gzip-compressed',
    );
  }
  const type = TYPES[bytes[2]];
  if (type === undefined) {
    fail(
      name,
      `unknown IDX data type ${hex(bytes[2])}; expected 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64`,
    );
  }
  const dimCount = bytes[3];
  if (dimCount < 1 || dimCount > MAX_DIMS) {
    fail(name, `IDX header declares ${dimCount} dimensions, expected 1 to ${MAX_DIMS}`);
  }
  const headerBytes = 4 + 4 * dimCount;
  if (bytes.length < headerBytes) {
    fail(
      name,
      `truncated IDX header: ${dimCount} dimensions need ${headerBytes} header bytes, found ${bytes.length}; ${REINSTALL}`,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < dimCount; i++) {
    const dim = view.getUint32(4 + 4 * i);
    if (dim === 0) fail(name, `IDX dimension ${i} is 0, every dimension must be a positive integer; ${REINSTALL}`);
    shape.push(dim);
  }

  // Doubles are exact up to 2^53 and past that still far above any limit, so this cannot wrap.
  const count = shape.reduce((product, dim) => product * dim, 1);
  const expected = count * type.size;
  if (expected > maxBytes) {
    fail(
      name,
      `IDX header claims shape ${formatShape(shape)} of ${type.dataType}, ${expected} bytes, above the limit of ${maxBytes} bytes; ` +
        'pass a larger maxBytes if the file is genuine',
    );
  }
  return { dataType: type.dataType, shape, headerBytes, count, expected };
}

function readPayload(view: DataView, offset: number, dataType: IdxDataType, count: number): IdxArray['data'] {
  const start = view.byteOffset + offset;
  switch (dataType) {
    case 'uint8':
      return new Uint8Array(view.buffer, start, count);
    case 'int8':
      return new Int8Array(view.buffer, start, count);
    case 'int16': {
      const data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(offset + 2 * i);
      return data;
    }
    case 'int32': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i);
      return data;
    }
    case 'float32': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i);
      return data;
    }
    case 'float64': {
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(offset + 8 * i);
      return data;
    }
  }
}

/** Scales uint8 images of shape [N, ...sample] to [0, 1]. */
export function idxImagesToFloat(
  images: IdxArray,
  name = 'IDX images',
): { data: Float32Array; sampleShape: number[] } {
  if (images.dataType !== 'uint8') {
    fail(name, `IDX images must be uint8, got ${images.dataType}; pass an images file (idx3-ubyte)`);
  }
  if (images.shape.length < 2) {
    fail(
      name,
      `IDX images need at least 2 dimensions (count, then per-sample dimensions), got shape ${formatShape(images.shape)}; pass an images file, not a labels file`,
    );
  }
  const data = new Float32Array(images.data.length);
  for (let i = 0; i < data.length; i++) data[i] = images.data[i] / 255;
  return { data, sampleShape: images.shape.slice(1) };
}

/** Returns the labels of a 1-dimensional integer IDX array as Int32Array (no copy when already int32). */
export function idxLabels(labels: IdxArray, name = 'IDX labels'): Int32Array {
  if (labels.shape.length !== 1) {
    fail(
      name,
      `IDX labels must have 1 dimension, got shape ${formatShape(labels.shape)}; pass a labels file (idx1-ubyte), not an images file`,
    );
  }
  if (labels.dataType === 'float32' || labels.dataType === 'float64') {
    fail(name, `IDX labels must have an integer type, got ${labels.dataType}`);
  }
  return labels.data instanceof Int32Array ? labels.data : Int32Array.from(labels.data);
}

/** Throws unless an images file and a labels file describe the same number of samples. */
export function checkIdxPair(imagesCount: number, labelsCount: number, name = 'IDX data'): void {
  if (imagesCount !== labelsCount) {
    fail(
      name,
      `images and labels do not match: ${imagesCount} images but ${labelsCount} labels; pass the images and labels files of the same split`,
    );
  }
}
