import { createHash } from 'node:crypto';

/** A short hash of the parameters' bytes: equal fingerprints mean bit-identical models. */
export function fingerprint(params: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex').slice(0, 16);
}
