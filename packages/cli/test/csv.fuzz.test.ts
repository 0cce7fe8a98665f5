import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCsvDataset, parseInputsCsv } from '../src/data/csv.js';
import { damagedText, oneLineOr } from './fuzz-helpers.js';

// A CSV file, however broken, gives a data set that holds exactly its numbers, or one line. Fixed
// seeds keep CI reproducible.
const RUNS = { seed: 5, numRuns: 1000 };

const numberField = fc.oneof(
  fc.integer({ min: -3, max: 12 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom('2147483647', '2147483648', '4294967296', '9007199254740993', '1e400', '-0', '0x1F', '1.0', ' 7 '),
);
const field = fc.oneof(numberField, fc.constantFrom('', 'NaN', 'Infinity', 'label', 'x', '"a,b"', '"line\nbreak"', '"unclosed', 'a"b'));
const csvText = fc
  .record({
    header: fc.option(fc.array(fc.constantFrom('a', 'b', 'label', 'x y', ''), { minLength: 1, maxLength: 5 })),
    rows: fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 6 }),
    newline: fc.constantFrom('\n', '\r\n'),
  })
  .map(({ header, rows, newline }) => [...(header === null ? [] : [header]), ...rows].map((row) => row.join(',')).join(newline));

const VALID = 'a,b,label\n0.5,1,2\n-3,4e-3,0\n1,1,1\n';

describe('CSV data under fuzzing', () => {
  it('rows of numbers, text, quotes and blanks, with or without a header: a data set or one line', () => {
    fc.assert(fc.property(csvText, (text) => void oneLineOr(() => parseCsvDataset(text, 'fuzz.csv'))), RUNS);
  });

  it('a valid file cut short, bit-flipped or spliced with junk: a data set or one line', () => {
    fc.assert(fc.property(damagedText(VALID), (text) => void oneLineOr(() => parseCsvDataset(text, 'fuzz.csv'))), RUNS);
  });

  it('a data set holds exactly the numbers of the file, labels included', () => {
    const table = fc.integer({ min: 1, max: 4 }).chain((features) =>
      fc.array(fc.tuple(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: features, maxLength: features }), fc.oneof(fc.nat({ max: 20 }), fc.constantFrom(65535, 65536, 2 ** 31, 2 ** 32, 2 ** 32 + 1))), { minLength: 1, maxLength: 5 }),
    );
    fc.assert(
      fc.property(table, (rows) => {
        const header = [...rows[0]![0].map((_, i) => `x${i + 1}`), 'label'].join(',');
        const data = oneLineOr(() => parseCsvDataset([header, ...rows.map(([values, label]) => [...values, label].join(','))].join('\n'), 'fuzz.csv').data);
        if (data === null) {
          // Only a label out of range, a value beyond float32 or a single class may refuse a file with a header.
          const beyondFloat32 = rows.some(([values]) => values.some((value) => !Number.isFinite(Math.fround(value))));
          const oneClass = new Set(rows.map(([, label]) => label)).size === 1;
          expect(rows.some(([, label]) => label > 65535) || beyondFloat32 || oneClass).toBe(true);
          return;
        }
        expect(Array.from(data.inputs)).toEqual(rows.flatMap(([values]) => values.map((v) => Math.fround(Number(String(v))))));
        expect(data.targets.kind === 'classes' && Array.from(data.targets.labels)).toEqual(rows.map(([, label]) => label));
      }),
      RUNS,
    );
  });

  it('rows to predict: numbers of the model\'s width or one line', () => {
    fc.assert(fc.property(csvText, (text) => void oneLineOr(() => parseInputsCsv(text, 'rows.csv', 3))), RUNS);
  });
});
