import { parse } from 'csv-parse/sync';
import { Dataset } from '@lockstep/core';
import { isDecimal } from '../config/decimal.js';
import { UserError } from '../errors.js';
import { LABEL_COLUMN } from './csv-help.js';
import { checkTwoClasses, isLabel, MAX_LABEL } from './labels.js';

/**
 * A CSV's column names and data rows, by the one rule of every CSV lockstep reads (as pandas' read_csv):
 * the first line is a header of column names. A name that reads as a number makes the line look like
 * data, so it is refused rather than guessed: a guess either drops a sample or trains on a header.
 * `example` is a header that messages suggest.
 */
function csvTable(text: string, path: string, example: string): { names: string[]; rows: string[][] } {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new UserError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const names = rows.shift();
  if (names === undefined) throw new UserError(`${path} is empty; it needs a header line of column names (e.g. ${example}), then one row per sample`);
  names.forEach((name, c) => {
    if (name === '') throw new UserError(`${path}: line 1 is the header, and column ${c + 1} has no name; name every column (e.g. ${example})`);
    if (readsAsNumber(name)) {
      throw new UserError(`${path}: line 1 must be a header of column names, but column ${c + 1} is ${JSON.stringify(name)}, which reads as a number; add a header line above the data (e.g. ${example}) or rename the column`);
    }
  });
  return { names, rows };
}

function readsAsNumber(field: string): boolean {
  return field === 'NaN' || !Number.isNaN(Number(field));
}

/** The value of a field, or one line naming it where it is not a decimal number; `line` counts the header as line 1. */
function numberAt(field: string, path: string, line: number, column: number): number {
  const text = field.trim();
  const value = Number(text);
  // Quoted fields may hold newlines: JSON.stringify keeps the message on one line.
  const where = `${path}: line ${line}, column ${column + 1}: ${JSON.stringify(field)}`;
  if (!isDecimal(text)) {
    throw new UserError(Number.isFinite(value) && text !== '' ? `${where} is not a decimal number; write it as ${value}` : `${where} is not a number`);
  }
  return value;
}

/** A feature's value, which must survive the rounding to float32 that samples are stored with. */
function featureAt(field: string, path: string, line: number, column: number): number {
  const value = numberAt(field, path, line, column);
  if (!Number.isFinite(Math.fround(value))) {
    throw new UserError(`${path}: line ${line}, column ${column + 1}: ${JSON.stringify(field)} is outside float32's range (about ±3.4e38), in which samples are stored; scale the column down`);
  }
  return value;
}

/** A CSV file's header: its path, its column names, and which column is the label (-1: none). */
export interface CsvHeader {
  readonly path: string;
  readonly names: readonly string[];
  readonly label: number;
}

/** The columns a model trained on, in order, and the checkpoint that says so. */
export interface TrainedColumns {
  readonly names: readonly string[];
  readonly checkpoint: string;
}

/** The names of the columns that are samples' values, in order: every column but the label. */
export function featureNames(header: CsvHeader): string[] {
  return header.names.filter((_, c) => c !== header.label);
}

/** A name as messages show it: quoted where its characters would blur a list or break the line. */
const shownName = (name: string): string => (/[",\r\n]/.test(name) ? JSON.stringify(name) : name);

/**
 * A model's inputs are its training file's columns by position, so a CSV given to its checkpoint must
 * have the same feature columns in the same order (as scikit-learn's feature names): the same numbers
 * under other names would give other probabilities without a word. One line names the first
 * difference by the file's column number.
 */
export function checkColumns(header: CsvHeader, trained: TrainedColumns): void {
  const given = header.names.map((name, c) => ({ name, column: c + 1 })).filter((_, c) => c !== header.label);
  const expected = trained.names;
  const at = Array.from({ length: Math.max(given.length, expected.length) }, (_, k) => k).find((k) => given[k]?.name !== expected[k]);
  if (at === undefined) return;
  const columns = `its columns: ${expected.map(shownName).join(', ')}`;
  const found = given[at];
  if (found === undefined) {
    const missing = expected.slice(at).map((name) => JSON.stringify(name));
    const besides = header.label >= 0 ? ` besides "${header.names[header.label]}"` : '';
    throw new UserError(
      `${header.path} has ${given.length} column${given.length === 1 ? '' : 's'}${besides}, and ${trained.checkpoint} was trained on ${expected.length} (${columns}); add the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`,
    );
  }
  if (at >= expected.length) {
    throw new UserError(`${header.path}: column ${found.column} is ${JSON.stringify(found.name)}, but ${trained.checkpoint} was trained on ${expected.length} column${expected.length === 1 ? '' : 's'} (${columns}); leave it out`);
  }
  throw new UserError(`${header.path}: column ${found.column} is ${JSON.stringify(found.name)}, but ${trained.checkpoint} was trained on ${JSON.stringify(expected[at])} there (${columns}); give the columns in that order`);
}

/** `checkColumns` for the run data of a checkpoint at `path`, where both the data (a CSV) and the checkpoint have column names. */
export function checkCheckpointColumns(csv: CsvHeader | undefined, checkpoint: { readonly featureNames?: readonly string[] }, path: string): void {
  if (csv !== undefined && checkpoint.featureNames !== undefined) checkColumns(csv, { names: checkpoint.featureNames, checkpoint: path });
}

/** A classification data set from the text of a CSV file named `path`, with the file's header. */
export function parseCsvDataset(text: string, path: string): { data: Dataset; header: CsvHeader } {
  const { names, rows } = csvTable(text, path, 'x1,x2,label');
  const width = names.length;
  if (rows.length === 0 || width < 2) throw new UserError(`${path} needs a header and at least one row of two or more columns (features and a label)`);
  const named = names.indexOf(LABEL_COLUMN);
  const label = named >= 0 ? named : width - 1;
  const inputs = new Float32Array(rows.length * (width - 1));
  const labels = new Int32Array(rows.length);
  rows.forEach((row, r) => {
    const line = r + 2;
    let at = r * (width - 1);
    row.forEach((field, c) => {
      if (c === label) {
        const value = numberAt(field, path, line, c);
        if (!isLabel(value)) throw new UserError(`${path}: line ${line}: label ${JSON.stringify(field)} must be an integer from 0 to ${MAX_LABEL}`);
        labels[r] = value;
      } else {
        inputs[at++] = featureAt(field, path, line, c);
      }
    });
  });
  checkTwoClasses(labels, path, `add rows of another class (the label is the column "${names[label]}")`);
  return { data: Dataset.classification(inputs, [width - 1], labels), header: { path, names, label } };
}

/**
 * Rows of `sampleSize` numbers from the text of a CSV file named `path`; a "label" column is left
 * out, so that a training file can be predicted as it is. With `trained`, the other columns must be
 * those the model trained on, in that order.
 */
export function parseInputsCsv(text: string, path: string, sampleSize: number, trained?: TrainedColumns): Float32Array {
  const { names, rows } = csvTable(text, path, 'x1,x2,x3');
  const label = names.indexOf(LABEL_COLUMN);
  if (trained !== undefined) checkColumns({ path, names, label }, trained);
  const features = names.length - (label >= 0 ? 1 : 0);
  if (features !== sampleSize) {
    throw new UserError(`${path} has ${features} feature column${features === 1 ? '' : 's'}${label >= 0 ? ` besides "${LABEL_COLUMN}"` : ''}; the model takes ${sampleSize}`);
  }
  const values = new Float32Array(rows.length * sampleSize);
  let at = 0;
  rows.forEach((row, r) => {
    row.forEach((field, c) => {
      if (c !== label) values[at++] = featureAt(field, path, r + 2, c);
    });
  });
  return values;
}
