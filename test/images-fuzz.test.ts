import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadImage, decodeImage, MAX_PIXELS } from '../packages/cli/src/data/images/decode.js';

// Damaged image files never crash or hang the reader: each decodes to a well-formed image or is
// refused with BadImage (which the folder reader turns into one line naming the file). Seeds are
// fixed, so a failure here is found again by the same run.
const dir = new URL('./fixtures/images/', import.meta.url);
const fixtures = readdirSync(dir)
  .filter((name) => /\.(png|jpg)$/.test(name))
  .map((name) => ({ name, bytes: new Uint8Array(readFileSync(new URL(name, dir))) }));
const pngs = fixtures.filter((f) => f.name.endsWith('.png'));
const jpegs = fixtures.filter((f) => f.name.endsWith('.jpg'));

/** Longest a decode of these small files may take before it counts as a hang. */
const SLOW_MS = 2000;

type Outcome = 'decoded' | 'refused';

function outcomeOf(bytes: Uint8Array): Outcome {
  const started = performance.now();
  try {
    const image = decodeImage(bytes);
    expect(image.width * image.height).toBeLessThanOrEqual(MAX_PIXELS);
    expect(image.rgba.length).toBe(4 * image.width * image.height);
    for (const sample of image.rgba) if (!(sample >= 0 && sample <= image.max)) throw new Error(`sample ${sample} outside 0..${image.max}`);
    return 'decoded';
  } catch (error) {
    if (!(error instanceof BadImage)) throw error;
    expect(error.reason).not.toMatch(/\n/);
    return 'refused';
  } finally {
    expect(performance.now() - started).toBeLessThan(SLOW_MS);
  }
}

/** A fixture with some of these done to it: bytes overwritten, a cut, bytes inserted or removed. */
const damaged = (files: typeof fixtures) =>
  fc
    .record({
      file: fc.constantFrom(...files),
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }))),
      remove: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 }))),
    })
    .map(({ file, writes, cut, insert, remove }) => {
      let bytes = Uint8Array.from(file.bytes);
      for (const [at, value] of writes) bytes[at % bytes.length] = value;
      if (remove !== null) {
        const at = remove[0] % bytes.length;
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + remove[1])]);
      }
      if (insert !== null) {
        const at = insert[0] % (bytes.length + 1);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert[1], ...bytes.subarray(at)]);
      }
      if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
      return bytes;
    });

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The PNG with every whole chunk's CRC made right again, so that the damage reaches the decoder behind the CRC check. */
function withCrcs(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 12 <= bytes.length; ) {
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) break;
    let c = -1;
    for (let i = at + 4; i < end - 4; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    view.setUint32(end - 4, (c ^ -1) >>> 0);
    at = end;
  }
  return bytes;
}

describe('fuzzed image files (fast-check, fixed seeds)', () => {
  it('damaged PNGs: 3,000 decode or are refused with BadImage, none slower than 2 s', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(damaged(pngs), (bytes) => {
        seen.add(outcomeOf(bytes));
      }),
      { seed: 19, numRuns: 3000 },
    );
    expect(seen).toEqual(new Set(['decoded', 'refused']));
  });

  it('damaged PNGs with their CRCs made right (the damage reaches IHDR checks, inflate and pngjs): 3,000 decode or are refused', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(damaged(pngs), (bytes) => {
        seen.add(outcomeOf(withCrcs(bytes)));
      }),
      { seed: 22, numRuns: 3000 },
    );
    expect(seen).toEqual(new Set(['decoded', 'refused']));
  });

  it('damaged JPEGs: 3,000 decode or are refused with BadImage, none slower than 2 s', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(damaged(jpegs), (bytes) => {
        seen.add(outcomeOf(bytes));
      }),
      { seed: 20, numRuns: 3000 },
    );
    expect(seen).toEqual(new Set(['decoded', 'refused']));
  });

  it('random bytes after a PNG or JPEG signature, and random bytes alone: 3,000 refused or decoded, never a crash', () => {
    const png = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff]);
    const files = fc.tuple(fc.constantFrom(png, jpeg, new Uint8Array()), fc.uint8Array({ maxLength: 512 })).map(([head, tail]) => Uint8Array.from([...head, ...tail]));
    fc.assert(fc.property(files, (bytes) => void outcomeOf(bytes)), { seed: 21, numRuns: 3000 });
  });

  it('every cut of every fixture is refused (a truncated file never passes as an image)', () => {
    for (const { name, bytes } of fixtures.filter((f) => !/cmyk|arithmetic/.test(f.name))) {
      expect(outcomeOf(bytes), name).toBe('decoded');
      for (let length = 0; length < bytes.length; length++) expect(outcomeOf(bytes.subarray(0, length)), `${name} cut to ${length} bytes`).toBe('refused');
    }
  });
});
