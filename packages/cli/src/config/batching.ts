import { UserError } from '../errors.js';
import type { RunConfig } from './settings.js';

/** Chunks of one optimizer step: the most work a step can hand out at once. */
export function chunksPerStep(config: RunConfig): number {
  return Math.ceil(config.batchSize / config.chunkSize);
}

/** The settings that must agree with each other, checked before anything is written; `named` shows a setting as the user gave it. */
export function checkBatching(config: RunConfig, named: (key: keyof RunConfig, value: unknown) => string): void {
  if (config.chunkSize > config.batchSize) {
    throw new UserError(`${named('chunkSize', config.chunkSize)} is larger than ${named('batchSize', config.batchSize)}: a chunk is part of one step's batch; lower the chunk size or raise the batch size`);
  }
}
