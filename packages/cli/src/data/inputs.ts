import { idxImagesToFloat, parseIdx } from '@lockstep/core';
import { UserError } from '../errors.js';
import { parseInputsCsv } from './csv.js';
import { readBytes } from './read.js';

/** Reads rows to predict: a CSV of numbers (no label column), or an IDX images file. */
export function readInputs(path: string, sampleSize: number): Float32Array {
  if (path.endsWith('.csv')) return parseInputsCsv(readBytes(path).toString(), path, sampleSize);
  const images = idxImagesToFloat(parseIdx(readBytes(path), path), path);
  if (images.sampleShape.reduce((a, b) => a * b, 1) !== sampleSize) {
    throw new UserError(`${path}: images of shape [${images.sampleShape.join(',')}] do not fit the model's input of ${sampleSize} values`);
  }
  return images.data;
}
