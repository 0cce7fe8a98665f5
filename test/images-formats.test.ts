import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BadImage, decodeImage, type DecodedImage } from '../packages/cli/src/data/images/decode.js';
import { toPlanes } from '../packages/cli/src/data/images/pixels.js';
import { centreCrop, resize } from '../packages/cli/src/data/images/resize.js';
import { grey, JPEG_SIZE, PNG_SIZE, rgb, rgba, smooth } from './fixtures/images/patterns.mjs';
import { classPattern, jpegOf } from './helpers/image-tree.js';

// The fixtures were written by ImageMagick and libjpeg-turbo's cjpeg (test/fixtures/images/make.mjs)
// from formulas of (x, y), so every lossless file's pixels are known here without lockstep's decoders.
const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/images/${name}`, import.meta.url));
const decode = (name: string): DecodedImage => decodeImage(fixture(name));

/** Each pixel's red, green and blue as decoded. */
function pixelsOf(image: DecodedImage): number[][] {
  return Array.from({ length: image.width * image.height }, (_, p) => [image.rgba[4 * p], image.rgba[4 * p + 1], image.rgba[4 * p + 2]]);
}

function patternOf([width, height]: number[], pixel: (x: number, y: number) => number[]): number[][] {
  return Array.from({ length: width * height }, (_, p) => pixel(p % width, Math.floor(p / width)));
}

const ihdr = (name: string): { depth: number; colourType: number; interlaced: boolean } => {
  const bytes = fixture(name);
  return { depth: bytes[24], colourType: bytes[25], interlaced: bytes[28] === 1 };
};

describe('PNG: every colour type and bit depth decodes to the samples written, as stored', () => {
  const cases: Array<[string, number, number, boolean, (x: number, y: number) => number[]]> = [
    ['grey1.png', 0, 1, false, (x, y) => Array(3).fill(grey(x, y, 1))],
    ['grey2.png', 0, 2, false, (x, y) => Array(3).fill(grey(x, y, 2))],
    ['grey4.png', 0, 4, false, (x, y) => Array(3).fill(grey(x, y, 4))],
    ['grey8.png', 0, 8, false, (x, y) => Array(3).fill(grey(x, y, 8))],
    ['grey16.png', 0, 16, false, (x, y) => Array(3).fill(grey(x, y, 16))],
    ['grey16-interlaced.png', 0, 16, true, (x, y) => Array(3).fill(grey(x, y, 16))],
    ['greya8.png', 4, 8, false, (x, y) => Array(3).fill(grey(x, y, 8))],
    ['rgb8.png', 2, 8, false, (x, y) => rgb(x, y, 8)],
    ['rgb8-interlaced.png', 2, 8, true, (x, y) => rgb(x, y, 8)],
    ['rgb16.png', 2, 16, false, (x, y) => rgb(x, y, 16)],
    ['rgba8.png', 6, 8, false, (x, y) => rgb(x, y, 8)],
    ['rgba16.png', 6, 16, false, (x, y) => rgb(x, y, 16)],
    ['palette.png', 3, 8, false, (x, y) => rgb(x, y, 8)],
  ];
  for (const [name, colourType, depth, interlaced, pixel] of cases) {
    it(`${name}: colour type ${colourType}, ${depth} bits${interlaced ? ', Adam7 interlaced' : ''}; samples / ${colourType === 3 ? 255 : 2 ** depth - 1}`, () => {
      expect(ihdr(name)).toEqual({ depth, colourType, interlaced });
      const image = decode(name);
      expect([image.width, image.height, image.max]).toEqual([...PNG_SIZE, colourType === 3 ? 255 : 2 ** depth - 1]);
      expect(pixelsOf(image)).toEqual(patternOf(PNG_SIZE, pixel));
    });
  }

  it('a palette with a tRNS chunk: the stored palette colours, transparent or not (tRNS is left out, not applied)', () => {
    expect(ihdr('palette-trns.png').colourType).toBe(3);
    // ImageMagick stored white for the pixels it thresholded to transparent; pngjs alone would give them 0, 0, 0.
    const expected = patternOf(PNG_SIZE, (x, y) => (rgba(x, y, 8)[3] >= 128 ? rgb(x, y, 8) : [255, 255, 255]));
    expect(pixelsOf(decode('palette-trns.png'))).toEqual(expected);
  });

  it('alpha is dropped and the colour kept: RGBA gives the RGB planes, grey + alpha the grey plane', () => {
    const planes = toPlanes(decode('rgba16.png'), 3);
    const [width, height] = PNG_SIZE;
    const area = width * height;
    expect(planes.length).toBe(3 * area);
    patternOf(PNG_SIZE, (x, y) => rgb(x, y, 16)).forEach((sample, p) => sample.forEach((value, c) => expect(planes[c * area + p]).toBe(value / 65535)));
    expect([...toPlanes(decode('greya8.png'), 1)]).toEqual(patternOf(PNG_SIZE, (x, y) => [grey(x, y, 8) / 255]).flat());
  });
});

describe('channels', () => {
  it('one channel from RGB is the ITU-R 601 luma in PIL\'s integer form; a grey pixel keeps its value exactly', () => {
    const planes = toPlanes(decode('rgb8.png'), 1);
    patternOf(PNG_SIZE, (x, y) => rgb(x, y, 8)).forEach(([r, g, b], p) => expect(planes[p]).toBe(Math.floor((19595 * r + 38470 * g + 7471 * b + 32768) / 65536) / 255));
    for (let v = 0; v <= 255; v++) expect(toPlanes({ width: 1, height: 1, max: 255, rgba: new Uint8Array([v, v, v, 255]) }, 1)[0]).toBe(v / 255);
  });

  it('three channels from grey repeat it', () => {
    const planes = toPlanes(decode('grey8.png'), 3);
    const area = PNG_SIZE[0] * PNG_SIZE[1];
    expect([...planes.subarray(0, area)]).toEqual([...planes.subarray(area, 2 * area)]);
    expect([...planes.subarray(0, area)]).toEqual([...planes.subarray(2 * area)]);
  });
});

describe('JPEG (jpeg-js): baseline, progressive and grey decode the same way on every machine', () => {
  const hashOf = (image: DecodedImage): string => createHash('sha256').update(image.rgba).digest('hex').slice(0, 16);

  it('progressive and restart-marker files hold the same coefficients as the baseline one and decode to the same bits', () => {
    const baseline = decode('baseline.jpg');
    expect(decode('progressive.jpg').rgba).toEqual(baseline.rgba);
    expect(decode('restarts.jpg').rgba).toEqual(baseline.rgba);
    expect(decode('grey-progressive.jpg').rgba).toEqual(decode('grey.jpg').rgba);
  });

  it('decodes close to the pattern written: grey exactly here, 4:4:4 colour within 8 levels, 4:2:0 (nearest chroma) within 32', () => {
    const worst = (name: string, pixel: (x: number, y: number) => number[]): number => {
      const expected = patternOf(JPEG_SIZE, pixel);
      return Math.max(...pixelsOf(decode(name)).flatMap((sample, p) => sample.map((v, c) => Math.abs(v - expected[p][c]))));
    };
    expect(worst('grey.jpg', (x, y) => Array(3).fill(smooth(x, y)[1]))).toBe(0);
    expect(worst('baseline-444.jpg', smooth)).toBeLessThanOrEqual(8);
    expect(worst('baseline.jpg', smooth)).toBeLessThanOrEqual(32);
  });

  it('golden: the decoded bytes of each file (pure JavaScript integer IDCT and fixed colour arithmetic, so these hold on any machine)', () => {
    const hashes = Object.fromEntries(['baseline.jpg', 'baseline-444.jpg', 'grey.jpg'].map((name) => [name, hashOf(decode(name))]));
    expect(hashes).toEqual({ 'baseline.jpg': '9ae7ab54f1dc50ba', 'baseline-444.jpg': '30fbdaaee77837d3', 'grey.jpg': '40943bcce7f340b8' });
  });

  const reasonOf = (bytes: Uint8Array): string => {
    try {
      decodeImage(bytes);
    } catch (error) {
      if (error instanceof BadImage) return error.reason;
      throw error;
    }
    return 'decoded';
  };
  const reason = (name: string): string => reasonOf(fixture(name));

  it('refuses CMYK and arithmetic-coded JPEGs by their frame header, saying what to do', () => {
    expect(reason('cmyk.jpg')).toBe('is a CMYK JPEG, which lockstep does not read (its colours need the colour profile it was made for); convert it to RGB');
    expect(reason('arithmetic.jpg')).toBe("is an arithmetic-coded JPEG, which lockstep's decoder (jpeg-js) does not read; save it as a baseline or progressive JPEG, or as PNG");
  });

  it("a JavaScript TypeError inside jpeg-js is said as damaged data; jpeg-js's own messages are kept", () => {
    const jpeg = jpegOf(8, 8, classPattern(1, 0));
    const scan = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    // The scan's first component selector names no component of the frame, so jpeg-js reads a table of undefined.
    const unknownComponent = Buffer.from(jpeg);
    unknownComponent[scan + 5] = 0x94;
    expect(reasonOf(unknownComponent)).toBe('is not a valid JPEG: its data is damaged');
    const badMarker = Buffer.from(jpeg);
    badMarker[scan] = 0x00;
    expect(reasonOf(badMarker)).toMatch(/^is not a valid JPEG: (?!its data is damaged)/);
  });
});

describe('resize and crop', () => {
  const planes = (width: number, height: number, value: (x: number, y: number) => number) => ({
    data: Float64Array.from({ length: width * height }, (_, p) => value(p % width, Math.floor(p / width))),
    channels: 1,
    height,
    width,
  });

  it('shrinking 4 pixels to 2: the triangle filter widened to 2 pixels, at half-pixel centres, weights normalized at the edge', () => {
    const out = resize(planes(4, 1, (x) => [0, 8, 16, 24][x]), 1, 2);
    // Output 0 is centred at 1.0 and reads inputs 0, 1, 2 (centres 0.5, 1.5, 2.5) with weights 3/4, 3/4, 1/4, over their sum 7/4.
    const [a, b] = [0.75 / 1.75, 0.25 / 1.75];
    expect([...out.data]).toEqual([a * 0 + a * 8 + b * 16, b * 8 + a * 16 + a * 24]);
  });

  it('a constant image stays the same constant in float32 (as samples are stored) at any size; the same size is the image itself', () => {
    for (let level = 0; level <= 255; level++) {
      const flat = planes(7, 5, () => level / 255);
      for (const [h, w] of [[3, 2], [10, 14], [4, 7], [1, 1]]) expect(new Set(Float32Array.from(resize(flat, h, w).data))).toEqual(new Set([Math.fround(level / 255)]));
    }
    const same = planes(3, 2, (x, y) => x + 10 * y);
    expect(resize(same, 2, 3)).toBe(same);
  });

  it('the centre crop starts floor((in - out) / 2) in, and pads a smaller image with zeros', () => {
    const image = planes(5, 4, (x, y) => 1 + x + 10 * y);
    expect([...centreCrop(image, 2, 3).data]).toEqual([12, 13, 14, 22, 23, 24]);
    const padded = centreCrop(planes(2, 1, (x) => x + 1), 3, 4);
    expect([...padded.data]).toEqual([0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0]);
  });
});
