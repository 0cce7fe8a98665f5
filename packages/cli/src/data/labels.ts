import { UserError } from '../errors.js';

/** The largest class label a data file may hold: a larger one is far more likely a value than a class. */
export const MAX_LABEL = 65535;

/** Whether `value` can be a class label; the number of classes is the largest label + 1. */
export function isLabel(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_LABEL;
}

/**
 * Throws one line, naming `path`, unless the labels hold two classes or more: with one, training
 * learns to answer it always, with a loss of 0 and an accuracy of 1 that say nothing.
 */
export function checkTwoClasses(labels: Int32Array, path: string, fix: string): void {
  if (labels.length > 0 && labels.every((label) => label === labels[0])) {
    throw new UserError(`${path} holds one class (every label is ${labels[0]}); classification needs two or more, so ${fix}`);
  }
}
