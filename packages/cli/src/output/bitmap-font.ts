/**
 * A 5 x 7 bitmap font for the labels of pictures lockstep draws (the contact sheet): digits, capital
 * letters (small ones are drawn as capitals) and a little punctuation; anything else is drawn as "?".
 * Each glyph is 7 rows of 5 pixels, "#" on.
 */
const GLYPHS: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '_': '..... ..... ..... ..... ..... ..... #####',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** A glyph and the blank column after it. */
const ADVANCE = GLYPH_WIDTH + 1;

/** An RGBA picture, 4 bytes a pixel, row by row. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

/** Pixels `text` takes in width at `scale` (the blank column after the last glyph left out). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** The longest start of `text` that fits `width` pixels at `scale`. */
export function fitText(text: string, width: number, scale: number): string {
  return text.slice(0, Math.max(0, Math.floor((width / scale + 1) / ADVANCE)));
}

/** `text` in lines that fit `width` pixels at `scale`, broken at spaces (a word too long for a line is cut). */
export function wrapText(text: string, width: number, scale: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && textWidth(`${last} ${word}`, scale) <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(fitText(word, width, scale));
  }
  return lines;
}

/** Draws `text` with its top left corner at (x, y), each font pixel a `scale` x `scale` square; what falls outside is left out. */
export function drawText(image: RgbaImage, text: string, x: number, y: number, scale: number, color: Rgb): void {
  [...text.toUpperCase()].forEach((char, i) => {
    const rows = (GLYPHS[char] ?? GLYPHS['?']!).split(' ');
    rows.forEach((row, gy) => {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (row[gx] === '#') fillRect(image, x + (i * ADVANCE + gx) * scale, y + gy * scale, scale, scale, color);
      }
    });
  });
}

/** Fills a rectangle, clipped to the picture. */
export function fillRect(image: RgbaImage, x: number, y: number, width: number, height: number, color: Rgb): void {
  for (let py = Math.max(0, y); py < Math.min(image.height, y + height); py++) {
    for (let px = Math.max(0, x); px < Math.min(image.width, x + width); px++) {
      const at = 4 * (py * image.width + px);
      image.data[at] = color[0];
      image.data[at + 1] = color[1];
      image.data[at + 2] = color[2];
      image.data[at + 3] = 255;
    }
  }
}
