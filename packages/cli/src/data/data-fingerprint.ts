import { createHash } from 'node:crypto';
import type { Dataset } from '@lockstep/core';

/**
 * A fingerprint of the bytes a run trains on, recorded in its checkpoints so that a resume on changed
 * data is caught: any changed, added or removed byte changes it. Each part's length goes in first, so
 * that bytes moving from one file to the next change it too.
 */
export function dataFingerprint(parts: readonly Uint8Array[]): string {
  const hash = new DataHash();
  for (const part of parts) hash.add(part);
  return hash.digest();
}

/** dataFingerprint, a part at a time, for data read file by file. */
export class DataHash {
  private readonly hash = createHash('sha256');

  add(part: Uint8Array): this {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(part.byteLength));
    this.hash.update(length).update(part);
    return this;
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }
}

/** The bytes of a data set made in memory (the built-in one), its inputs then its targets. */
export function datasetBytes(data: Dataset): Uint8Array[] {
  const targets = data.targets.kind === 'classes' ? data.targets.labels : data.targets.values;
  return [data.inputs, targets].map((array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}
