// The image reader without its lookahead, for images.bench.mjs: it reads a sample from the cache or
// decodes it when the step gathers it, and never gets the next step's samples ready while its thread
// waits. A worker thread opens it from the recipe { module: this file, options: { inner, token } }.
import { openSampleReader as openImageReader } from '../../packages/cli/dist/modules/data/images/reader.js';

export function openSampleReader(options) {
  const inner = openImageReader(options.inner);
  return { recipe: { module: import.meta.url, options }, read: (index, into) => inner.read(index, into) };
}
