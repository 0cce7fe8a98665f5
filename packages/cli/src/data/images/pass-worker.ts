// A loader thread of an image tree's first pass (pass.ts): it reads and decodes the files it claims,
// writes what it found to shared memory, and caches samples; the main thread decodes nothing.
import { parentPort, workerData } from 'node:worker_threads';
import { BadImage } from './decode.js';
import { imageValues, readTreeFile } from './image-file.js';
import { MOMENTS, normalizeInPlace, sampleMoments } from './normalize.js';
import { CLAIM, FILE_STATUS, PASS_BLOCK, type PassAnswer, type PassOrder, type PassSetup } from './pass-layout.js';

const setup = workerData as PassSetup;
const claims = new Int32Array(setup.claims);
const status = new Int32Array(setup.status);
const dims = new Int32Array(setup.dims);
const identities = new Float64Array(setup.identities);
const { channels } = setup.pixels;

/** Lowers the stop mark to file `g` where it is higher. */
function stopAt(g: number): void {
  for (let seen = Atomics.load(claims, CLAIM.stopAt); g < seen; seen = Atomics.load(claims, CLAIM.stopAt)) {
    if (Atomics.compareExchange(claims, CLAIM.stopAt, seen, g) === seen) return;
  }
}

/** Reads file `g`: its status, size and identity into shared memory; its values, or why it is bad. */
function readFile(g: number): { values: Float32Array; height: number; width: number } | string {
  try {
    const { bytes, identity } = readTreeFile(setup.files[g]);
    identities[2 * g] = identity.bytes;
    identities[2 * g + 1] = identity.modified;
    const read = imageValues(bytes, setup.pixels);
    dims[2 * g] = read.height;
    dims[2 * g + 1] = read.width;
    Atomics.store(status, g, FILE_STATUS.image);
    return read;
  } catch (error) {
    if (!(error instanceof BadImage)) throw error;
    Atomics.store(status, g, FILE_STATUS.bad);
    return error.reason;
  }
}

function probe(): PassAnswer {
  for (let g = 0; g < setup.files.length; g++) {
    const read = readFile(g);
    if (typeof read !== 'string') return { kind: 'probed', size: { height: read.height, width: read.width } };
  }
  return { kind: 'probed', size: null };
}

function readClaimed(order: Extract<PassOrder, { kind: 'read' }>): PassAnswer {
  const started = performance.now();
  const caches = order.caches.map((buffer) => new Float32Array(buffer));
  const moments = new Float64Array(order.moments);
  const { sampleSize } = order;
  const area = sampleSize / channels;
  const bad: Array<[number, string]> = [];
  const total = setup.files.length;
  for (let block = Atomics.add(claims, CLAIM.next, 1); block * PASS_BLOCK < Math.min(total, Atomics.load(claims, CLAIM.stopAt)); block = Atomics.add(claims, CLAIM.next, 1)) {
    for (let g = block * PASS_BLOCK; g < Math.min(total, (block + 1) * PASS_BLOCK); g++) {
      const read = readFile(g);
      if (typeof read === 'string') {
        bad.push([g, read]);
        if (!setup.skip) stopAt(g);
        continue;
      }
      // A sample of another size stops the run (the first image's size rules where no imageSize is given).
      if (read.values.length !== sampleSize) {
        stopAt(g);
        continue;
      }
      const split = g < setup.trainFiles ? 0 : 1;
      const index = split === 0 ? g : g - setup.trainFiles;
      if (split === 0) sampleMoments(read.values, channels, area, moments, index * MOMENTS * channels);
      if (index < order.slots[split]) caches[split].set(read.values, index * sampleSize);
    }
  }
  return { kind: 'read', bad, seconds: (performance.now() - started) / 1000 };
}

function normalize(order: Extract<PassOrder, { kind: 'normalize' }>): PassAnswer {
  const { sampleSize, stats } = order;
  order.ranges.forEach(([from, to], split) => {
    if (to > from) normalizeInPlace(new Float32Array(order.caches[split], 4 * from * sampleSize, (to - from) * sampleSize), channels, sampleSize / channels, stats);
  });
  return { kind: 'normalized' };
}

parentPort!.on('message', (order: PassOrder) => {
  const answer = order.kind === 'probe' ? probe() : order.kind === 'read' ? readClaimed(order) : normalize(order);
  parentPort!.postMessage(answer);
});
