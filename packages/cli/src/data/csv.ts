import { parse } from 'csv-parse/sync';
import { Dataset } from '@lockstep/core';
import { UserError } from '../errors.js';

/** The largest class label a CSV may hold: a larger one is far more likely a value than a class. */
const MAX_LABEL = 65535;

/** A classification data set from the text of a CSV file named `path`. */
export function parseCsvDataset(text: string, path: string): Dataset {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new UserError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (rows.length === 0) throw new UserError(`${path} has no rows`);
  const header = rows[0]!.some((field) => field !== '' && Number.isNaN(Number(field))) ? rows.shift()! : null;
  const labelColumn = header?.indexOf('label') ?? -1;
  const width = rows[0]?.length ?? 0;
  if (rows.length === 0 || width < 2) throw new UserError(`${path} needs at least one row of two or more columns (features and a label)`);
  const label = labelColumn >= 0 ? labelColumn : width - 1;
  const inputs = new Float32Array(rows.length * (width - 1));
  const labels = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const line = r + (header === null ? 1 : 2);
    let at = r * (width - 1);
    row.forEach((field, c) => {
      const value = Number(field);
      // Quoted fields may hold newlines: JSON.stringify keeps the message on one line.
      if (field === '' || !Number.isFinite(value)) throw new UserError(`${path}: line ${line}, column ${c + 1}: ${JSON.stringify(field)} is not a number`);
      if (c === label) {
        if (!Number.isInteger(value) || value < 0 || value > MAX_LABEL) {
          throw new UserError(`${path}: line ${line}: label ${JSON.stringify(field)} must be an integer from 0 to ${MAX_LABEL}`);
        }
        labels[r] = value;
      } else {
        inputs[at++] = value;
      }
    });
  });
  return Dataset.classification(inputs, [width - 1], labels);
}

/** Rows of `sampleSize` numbers from the text of a CSV file named `path`. */
export function parseInputsCsv(text: string, path: string, sampleSize: number): Float32Array {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new UserError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const values = rows.flat().map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${path}: ${JSON.stringify(rows.flat()[bad])} is not a number`);
  if (rows.some((row) => row.length !== sampleSize)) {
    throw new UserError(`${path}: every row needs ${sampleSize} numbers (the model's input size)`);
  }
  return Float32Array.from(values);
}
