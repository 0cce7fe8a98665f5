import { describeValue, LockstepError } from '../errors.js';
import { formatShape, sizeOf } from '../tensor.js';

/**
 * The safetensors format (huggingface/safetensors), byte for byte: an 8-byte little-endian u64 header
 * length N, N bytes of JSON header, then the tensors' bytes. The header maps each tensor's name to
 * {"dtype", "shape", "data_offsets": [begin, end]}, offsets relative to the first byte after the
 * header; "__metadata__" is an optional object of string -> string. Tensors are little-endian,
 * row-major and contiguous.
 */

/** The dtypes lockstep reads: F32 as is; F16, BF16 and F64 converted to float32; I64 only where a state dict holds a counter. */
export const READ_DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64'] as const;
export type ReadDtype = (typeof READ_DTYPES)[number];

const DTYPE_BYTES: Record<ReadDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };

/** The largest header read (safetensors' own limit): a header past it is refused rather than parsed. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file, as float32 values (an I64 tensor's values too, rounded). */
export interface SafetensorsTensor {
  readonly dtype: ReadDtype;
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  /** The tensors, in the order of the header. */
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly metadata: Record<string, string>;
}

function formatError(where: string, message: string): never {
  throw new LockstepError('E_FORMAT', `${where}: ${message}`);
}

/** Throws E_OPTION unless `metadata` is an object of string values, all safetensors' "__metadata__" holds; `what` names it. */
export function checkMetadataStrings(what: string, metadata: unknown): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new LockstepError('E_OPTION', `${what} must be an object of string values, got ${describeValue(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new LockstepError('E_OPTION', `${what}[${JSON.stringify(key)}] is ${describeValue(value)}, not a string; safetensors metadata holds only strings, so convert it (String(value) or JSON.stringify(value))`);
  }
}

/**
 * The bytes of a safetensors file of float32 tensors, in the order given; the header is padded with
 * spaces to 8 bytes, as safetensors does. A file that lockstep's reader would refuse is refused here
 * instead: a metadata value that is not a string, a tensor whose data does not fill its shape, two
 * tensors of one name.
 */
export function writeSafetensors(tensors: Iterable<readonly [string, { readonly shape: readonly number[]; readonly data: Float32Array }]>, metadata: Record<string, string> = {}): Uint8Array {
  checkMetadataStrings('writeSafetensors: metadata', metadata);
  // A Map, not an object: a tensor named "__proto__" would set an object's prototype rather than a key.
  const header = new Map<string, unknown>();
  if (Object.keys(metadata).length > 0) header.set('__metadata__', metadata);
  const list = [...tensors];
  let offset = 0;
  for (const [name, tensor] of list) {
    if (name === '__metadata__') throw new LockstepError('E_FORMAT', 'writeSafetensors: "__metadata__" is not a tensor name; rename the tensor');
    if (header.has(name)) throw new LockstepError('E_FORMAT', `writeSafetensors: two tensors are named "${name}"; give each tensor its own name`);
    const { shape, data } = tensor;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new LockstepError('E_SHAPE', `writeSafetensors: tensor "${name}" has a shape that is not a list of integers >= 0, got ${JSON.stringify(shape)}`);
    }
    if (data.length !== sizeOf(shape)) throw new LockstepError('E_SHAPE', `writeSafetensors: tensor "${name}" has ${data.length} values, its shape ${formatShape(shape)} needs ${sizeOf(shape)}`);
    const bytes = data.length * 4;
    header.set(name, { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  let json = JSON.stringify(Object.fromEntries(header));
  const encoded = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (encoded.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(file.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, tensor] of list) {
    for (let i = 0; i < tensor.data.length; i++, at += 4) view.setFloat32(at, tensor.data[i], true);
  }
  return file;
}

interface HeaderEntry {
  readonly name: string;
  readonly dtype: ReadDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Reads and checks a safetensors file, given as a Uint8Array (a Buffer is one) or an ArrayBuffer;
 * `where` (its path) starts every message. Other dtypes than READ_DTYPES, and F64 values past
 * float32's range, are refused.
 */
export function readSafetensors(file: Uint8Array | ArrayBuffer, where = 'safetensors'): SafetensorsFile {
  const bytes = fileBytes(file, where);
  if (bytes.length < 8) formatError(where, `is truncated: ${bytes.length} bytes, fewer than the 8 of the header length; it is not a whole safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    formatError(where, `the header length ${headerLength} is larger than the file (${bytes.length} bytes); the file is truncated or not safetensors`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) formatError(where, `the header length ${headerLength} is over the limit of ${MAX_HEADER_BYTES} bytes; the file is not safetensors`);
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd));
    header = JSON.parse(headerText);
  } catch (error) {
    formatError(where, `the header is not JSON (${(error as Error).message.split('\n')[0]}); the file is corrupted or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) formatError(where, 'the header is not a JSON object; the file is corrupted or not safetensors');
  const repeated = firstRepeatedKey(headerText);
  if (repeated !== undefined) formatError(where, `the header has the key ${JSON.stringify(repeated)} twice in one object (JSON readers differ on which one counts); the file is corrupted`);
  const dataLength = bytes.length - headerEnd;
  const metadata = checkMetadata(where, (header as Record<string, unknown>).__metadata__);
  const entries = Object.entries(header as Record<string, unknown>)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, value]) => checkEntry(where, name, value, dataLength));
  checkLayout(where, entries, dataLength);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) {
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data: toFloat32(where, entry, new DataView(bytes.buffer, bytes.byteOffset + headerEnd + entry.begin, entry.end - entry.begin)) });
  }
  return { tensors, metadata };
}

function fileBytes(file: unknown, where: string): Uint8Array {
  if (file instanceof Uint8Array) return file;
  if (file instanceof ArrayBuffer) return new Uint8Array(file);
  throw new LockstepError('E_OPTION', `${where}: the file's bytes must be a Uint8Array (a Buffer is one) or an ArrayBuffer, got ${describeValue(file)}`);
}

function checkMetadata(where: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    formatError(where, '"__metadata__" must be an object of string values; the file is corrupted or not safetensors');
  }
  return { ...(value as Record<string, string>) };
}

function checkEntry(where: string, name: string, value: unknown, dataLength: number): HeaderEntry {
  const at = `tensor "${name}"`;
  const corrupted = 'the file is corrupted or not safetensors';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) formatError(where, `${at} must be an object {"dtype", "shape", "data_offsets"}; ${corrupted}`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') formatError(where, `${at} has no string "dtype"; ${corrupted}`);
  if (!(READ_DTYPES as readonly string[]).includes(dtype)) {
    formatError(where, `${at} has dtype ${dtype}, which lockstep does not read; save it as F32 (F16, BF16 and F64 are converted)`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) formatError(where, `${at} has a "shape" that is not a list of integers >= 0; ${corrupted}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    formatError(where, `${at} has "data_offsets" that are not [begin, end] with 0 <= begin <= end; ${corrupted}`);
  }
  const [begin, end] = offsets as number[];
  if (end > dataLength) formatError(where, `${at} has data_offsets [${begin}, ${end}] past the ${dataLength} data bytes; the file is truncated`);
  const size = sizeOf(shape as number[]) * DTYPE_BYTES[dtype as ReadDtype];
  if (end - begin !== size) formatError(where, `${at} has ${end - begin} data bytes, its shape ${formatShape(shape as number[])} of ${dtype} needs ${size}; ${corrupted}`);
  return { name, dtype: dtype as ReadDtype, shape: shape as number[], begin, end };
}

/**
 * safetensors' own rule (its `validate`): sorted by offsets, the tensors cover the data bytes from the
 * first to the last, each byte once. A gap, an overlap or bytes past the last tensor mean damage.
 */
function checkLayout(where: string, entries: readonly HeaderEntry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of sorted) {
    if (previous !== undefined && entry.begin < covered) {
      formatError(where, `tensors "${previous.name}" and "${entry.name}" overlap (data_offsets [${previous.begin}, ${previous.end}] and [${entry.begin}, ${entry.end}]); the file is corrupted`);
    }
    if (entry.begin > covered) {
      formatError(where, `data bytes [${covered}, ${entry.begin}) belong to no tensor, before tensor "${entry.name}" (data_offsets [${entry.begin}, ${entry.end}]); a safetensors file's tensors leave no gaps, so the file is corrupted`);
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered < dataLength) {
    formatError(where, `the last ${dataLength - covered} bytes belong to no tensor (the tensors end at data byte ${covered} of ${dataLength}); the file is corrupted or has bytes appended`);
  }
}

/**
 * The first key that one object of a JSON text holds twice (JSON.parse keeps the last silently), or
 * undefined. The text is valid JSON (JSON.parse read it), so only strings and brackets need reading.
 */
function firstRepeatedKey(text: string): string | undefined {
  // One entry per open bracket: an object's keys so far, or null for an array.
  const open: Array<Set<string> | null> = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (keyNext && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (char === '{' || char === '[') {
      open.push(char === '{' ? new Set() : null);
      keyNext = char === '{';
    } else if (char === '}' || char === ']') {
      open.pop();
      keyNext = false;
    } else if (char === ',') {
      keyNext = open.at(-1) instanceof Set;
    }
  }
  return undefined;
}

function toFloat32(where: string, { name, dtype }: HeaderEntry, view: DataView): Float32Array {
  const out = new Float32Array(view.byteLength / DTYPE_BYTES[dtype]);
  for (let i = 0; i < out.length; i++) {
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 'F64': {
        const value = view.getFloat64(i * 8, true);
        out[i] = value;
        // Rounding made it infinite, a value the file does not hold (F16 and BF16 always fit float32).
        if (!Number.isFinite(out[i]) && Number.isFinite(value)) {
          formatError(where, `tensor "${name}" holds the F64 value ${value} at index ${i}, outside float32's range (lockstep reads F64 as float32); save values within ±3.4e38`);
        }
        break;
      }
      case 'F16':
        out[i] = halfToNumber(view.getUint16(i * 2, true));
        break;
      case 'BF16':
        out[i] = bfloat16ToNumber(view.getUint16(i * 2, true));
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
    }
  }
  return out;
}

/** An IEEE 754 half-precision value (exact in float32). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A bfloat16 value: the top 16 bits of a float32. */
export function bfloat16ToNumber(bits: number): number {
  word.setUint32(0, bits << 16, false);
  return word.getFloat32(0, false);
}

const word = new DataView(new ArrayBuffer(4));
