import { createHash } from 'node:crypto';

/** Anything with parameters and (optionally) buffers: a `Model`, the workers' `Trainer`, a checkpoint. */
export interface Fingerprinted {
  readonly params: Float32Array;
  /** Running statistics (BatchNorm's); empty or absent for most models. */
  readonly buffers?: Float32Array;
}

const bytesOf = (array: Float32Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/**
 * A short hash (the first 16 hex digits of SHA-256) of the parameters' bytes, then the buffers'
 * (BatchNorm's running statistics) where there are any: equal fingerprints mean bit-identical models.
 * Takes a parameter array (and optionally its buffers), or a model or trainer: `fingerprint(model)`.
 * It is the fingerprint `lockstep train` prints, so a test can pin a run's result in one string.
 */
export function fingerprint(of: Float32Array | Fingerprinted, buffers?: Float32Array): string {
  const params = of instanceof Float32Array ? of : of.params;
  const extra = of instanceof Float32Array ? buffers : (buffers ?? of.buffers);
  const hash = createHash('sha256').update(bytesOf(params));
  if (extra !== undefined && extra.length > 0) hash.update(bytesOf(extra));
  return hash.digest('hex').slice(0, 16);
}
