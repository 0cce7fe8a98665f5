import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkStateValues, loadSafetensors, SAME_MODEL_REMEDY, type Model, type StateDict } from '@lockstep/core';
import { UserError } from '../errors.js';
import type { InitialWeights } from './checkpoint.js';

/** The flags that name a .safetensors file of weights for a run to start from, and how to write one, for the line that refuses another file. */
const WRITE_ONE = {
  '--init-from': 'write one with lockstep export --format safetensors',
  '--weights': 'in PyTorch, safetensors.torch.save_file(model.state_dict(), "w.safetensors") writes one',
} as const;

/** A weights file as read: its bytes, and what a run records of it. */
export interface WeightsFile {
  readonly bytes: Uint8Array;
  readonly record: InitialWeights;
}

/** The bytes of the file `flag` names, and what the run records of it: the path as given and the SHA-256 of its bytes. */
export function readWeightsFile(path: string, flag: keyof typeof WRITE_ONE): WeightsFile {
  // Named first, so a checkpoint given by mistake is refused before its bytes are read.
  if (!path.endsWith('.safetensors')) throw new UserError(`${flag} takes a .safetensors file, got ${JSON.stringify(path)}; ${WRITE_ONE[flag]}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code}; check the path`);
  }
  return { bytes, record: { file: path, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

/**
 * Decodes the file into `model`, checked against it, and for NaN, infinity or a negative running
 * variance: every mismatch of names and shapes in one line that starts with the path, and says to give
 * the weights of the model, or to describe their model in `settings` (where the model came from: the
 * config file, or the flags). Returns the state dict loaded, parameters and buffers (BatchNorm's
 * running statistics) alike.
 */
export function loadWeights(model: Model, file: WeightsFile, settings: string): StateDict {
  const { stateDict } = loadSafetensors(model, file.bytes, file.record.file, `${SAME_MODEL_REMEDY}, or describe their model in ${settings}`);
  checkStateValues(stateDict, file.record.file);
  return stateDict;
}
