import { checkKnownFields, LockstepError } from '../errors.js';
import type { Model } from '../model.js';
import { BatchNorm } from '../modules/batch-norm.js';
import type { Module } from '../modules/module.js';
import { modelFromSpec, specOf } from '../spec.js';
import { checkMetadataStrings, readSafetensors, writeSafetensors, type SafetensorsFile } from './safetensors-format.js';
import { checkStateDict, loadStateDictInto, SAME_MODEL_REMEDY, stateDictOf, type StateDict } from './state-dict.js';

/** The metadata key that holds the model's spec as JSON, so the file alone rebuilds the model. */
export const SPEC_METADATA_KEY = 'lockstep.spec';

/** PyTorch's BatchNorm counter (int64), which lockstep does not keep: read where it belongs, and left out. */
const COUNTER = 'num_batches_tracked';

export interface SafetensorsOptions {
  /** More string -> string metadata; `format: "pt"` and the model's spec are always written. */
  metadata?: Record<string, string>;
}

/**
 * The model's state dict (PyTorch names and layouts, see `stateDictOf`) as a safetensors file of F32
 * tensors, with the model's spec in the metadata under "lockstep.spec".
 */
export function encodeSafetensors(model: Model, options: SafetensorsOptions = {}): Uint8Array {
  checkKnownFields('encodeSafetensors options', options, ['metadata']);
  if (options.metadata !== undefined) checkMetadataStrings('encodeSafetensors: options.metadata', options.metadata);
  const metadata = { ...options.metadata, format: 'pt', [SPEC_METADATA_KEY]: JSON.stringify(specOf(model)) };
  return writeSafetensors(stateDictOf(model), metadata);
}

/** A safetensors file's tensors as a state dict, plus its metadata and the names of the counters left out. */
export interface DecodedSafetensors {
  readonly stateDict: StateDict;
  readonly metadata: Record<string, string>;
  /** PyTorch's `num_batches_tracked` tensors (I64), read and left out: lockstep does not keep them. */
  readonly counters: string[];
}

/**
 * Reads a safetensors file into float32 tensors: F32 as is, F16, BF16 and F64 converted to float32
 * (F64 rounded to nearest); I64 only for PyTorch's BatchNorm counter `num_batches_tracked`, which is
 * left out. Any other dtype, and any damage (truncation, a bad header or a key in it twice, offsets that
 * overlap, leave gaps or do not match the shape), is refused in one line that starts with `where`.
 * `bytes` may be a Uint8Array (a Buffer) or an ArrayBuffer.
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, where = 'safetensors'): DecodedSafetensors {
  const file: SafetensorsFile = readSafetensors(bytes, where);
  const stateDict: StateDict = new Map();
  const counters: string[] = [];
  for (const [name, tensor] of file.tensors) {
    const counter = name === COUNTER || name.endsWith(`.${COUNTER}`);
    if (tensor.dtype === 'I64' && !counter) {
      throw new LockstepError('E_FORMAT', `${where}: tensor "${name}" has dtype I64, which lockstep reads only for BatchNorm's num_batches_tracked; save it as F32`);
    }
    if (counter) counters.push(name);
    else stateDict.set(name, { shape: tensor.shape, data: tensor.data });
  }
  return { stateDict, metadata: file.metadata, counters };
}

/** Loads a safetensors file's tensors into `model` (see `loadStateDict`): every mismatch of names and shapes is listed in one line. */
export function loadSafetensors(model: Model, bytes: Uint8Array | ArrayBuffer, where = 'safetensors', remedy = SAME_MODEL_REMEDY): DecodedSafetensors {
  const decoded = decodeSafetensors(bytes, where);
  checkCounters(model, decoded, where, remedy);
  loadStateDictInto(model, decoded.stateDict, where, remedy);
  return decoded;
}

/** Builds the model that a safetensors file written by lockstep names in its metadata, and loads its tensors. */
export function modelFromSafetensors(bytes: Uint8Array | ArrayBuffer, where = 'safetensors'): Model {
  const { metadata } = readSafetensors(bytes, where);
  const text = metadata[SPEC_METADATA_KEY];
  if (text === undefined) throw new LockstepError('E_FORMAT', `${where}: has no "${SPEC_METADATA_KEY}" metadata, so it does not say which model it holds; build the model yourself and use loadSafetensors`);
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    throw new LockstepError('E_FORMAT', `${where}: its "${SPEC_METADATA_KEY}" metadata is not JSON; the file is corrupted`);
  }
  const model = modelFromSpec(spec, 0);
  loadSafetensors(model, bytes, where);
  return model;
}

/** A counter belongs to a BatchNorm layer of the model; any other is listed with the state dict's mismatches. */
function checkCounters(model: Model, decoded: DecodedSafetensors, where: string, remedy: string): void {
  const batchNorms = new Set<string>();
  const visit = (module: Module): void => {
    if (module instanceof BatchNorm) batchNorms.add(module.path);
    module.children().forEach(visit);
  };
  visit(model.module);
  const stray = decoded.counters.filter((name) => !batchNorms.has(name.slice(0, Math.max(0, name.length - COUNTER.length - 1))));
  if (stray.length === 0) return;
  const withStray = new Map(decoded.stateDict);
  for (const name of stray) withStray.set(name, { shape: [], data: new Float32Array(1) });
  checkStateDict(model, withStray, where, remedy);
}
