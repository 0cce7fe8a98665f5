import { createHash } from 'node:crypto';

const bytesOf = (array: Float32Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/**
 * A short hash of the parameters' bytes, then the buffers' (BatchNorm's running statistics) where the
 * model has any: equal fingerprints mean bit-identical models.
 */
export function fingerprint(params: Float32Array, buffers: Float32Array = new Float32Array(0)): string {
  const hash = createHash('sha256').update(bytesOf(params));
  if (buffers.length > 0) hash.update(bytesOf(buffers));
  return hash.digest('hex').slice(0, 16);
}
