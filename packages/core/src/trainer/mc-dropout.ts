import { checkChoice, checkInteger, checkKnownFields, checkOptionsObject, LockstepError } from '../errors.js';
import { rowIndices, type Model } from '../model.js';
import { trainDropoutOnly } from '../modules/dropout.js';
import { DropConnectLinear } from '../modules/drop-connect.js';
import { KeyedDropout } from '../modules/keyed-dropout.js';
import type { Module } from '../modules/module.js';
import { softmaxRows } from '../ops/softmax.js';
import { foldInString, rootKey, type Key } from '../random/key.js';

/**
 * What each pass's outputs are averaged as: class probabilities (the softmax of a classifier's
 * logits), or the outputs as they are (a regression model's values).
 */
export type UncertaintyOutputs = 'probabilities' | 'raw';

const OUTPUT_KINDS: readonly UncertaintyOutputs[] = ['probabilities', 'raw'];

/** What Monte Carlo dropout gives per row; every quantity is in nats (natural log). */
export interface Uncertainty<O extends UncertaintyOutputs = 'probabilities'> {
  readonly outputs: O;
  /** Values per row: the classes, or with raw outputs the model's outputs. */
  readonly classes: number;
  /** rows x classes: the class probabilities (raw: the outputs) averaged over the passes. */
  readonly mean: Float64Array;
  /** rows x classes: their standard deviation over the passes (divided by the pass count). */
  readonly std: Float64Array;
  /** Per row: the predictive entropy, the entropy of the mean probabilities; null for raw outputs, which are no distribution. */
  readonly entropy: O extends 'probabilities' ? Float64Array : null;
  /**
   * Per row: the mutual information between the prediction and the masks (BALD, Houlsby et al.
   * 2011): predictive entropy minus the mean of each pass's entropy. High where the passes disagree.
   * Null for raw outputs.
   */
  readonly mutualInformation: O extends 'probabilities' ? Float64Array : null;
}

export interface UncertaintyOptions<O extends UncertaintyOutputs = 'probabilities'> {
  /** Forward passes, each with its own masks. */
  samples: number;
  /** Keys the masks: the same seed gives the same numbers at any worker count. */
  seed: number;
  /** 'probabilities' (default) for a classifier; 'raw' for a regression model, whose outputs are values. */
  outputs?: O;
}

export const MAX_MC_SAMPLES = 100_000;

/** The checked options of a Monte Carlo dropout call on a model of `width` outputs per row. */
export function checkUncertaintyOptions(
  options: UncertaintyOptions<UncertaintyOutputs>,
  width: number,
  known: readonly string[] = ['samples', 'seed', 'outputs'],
): { passes: number; key: Key; outputs: UncertaintyOutputs } {
  checkOptionsObject('predictWithUncertainty options', options, 'with samples and seed, such as { samples: 30, seed: 0 }');
  checkKnownFields('predictWithUncertainty options', options, known);
  const passes = checkInteger('samples', options.samples, 1, MAX_MC_SAMPLES);
  const seed = checkInteger('seed', options.seed, 0);
  const outputs = checkChoice('outputs', options.outputs ?? 'probabilities', OUTPUT_KINDS);
  if (outputs === 'probabilities' && width === 1) {
    throw new LockstepError(
      'E_OPTION',
      "predictWithUncertainty: the model gives 1 output per row, whose softmax is always 1; pass outputs: 'raw' for the mean and std of a regression model's outputs",
    );
  }
  return { passes, key: foldInString(rootKey(seed), 'mc-dropout'), outputs };
}

/** Per row: the mean and std of each output, and for probabilities the entropy and mutual information. */
const valuesPerRow = (classes: number, outputs: UncertaintyOutputs): number => 2 * classes + (outputs === 'probabilities' ? 2 : 0);

/** Bytes of one buffer holding an `Uncertainty` of `rows` rows. */
export function uncertaintyBytes(rows: number, classes: number, outputs: UncertaintyOutputs): number {
  return 8 * rows * valuesPerRow(classes, outputs);
}

/** Views of `uncertaintyBytes(rows, classes, outputs)` bytes; a SharedArrayBuffer lets every worker write its own rows. */
export function uncertaintyViews<O extends UncertaintyOutputs>(buffer: ArrayBufferLike, rows: number, classes: number, outputs: O): Uncertainty<O> {
  const cells = rows * classes;
  const probabilities = outputs === 'probabilities';
  return {
    outputs,
    classes,
    mean: new Float64Array(buffer, 0, cells),
    std: new Float64Array(buffer, 8 * cells, cells),
    entropy: probabilities ? new Float64Array(buffer, 16 * cells, rows) : null,
    mutualInformation: probabilities ? new Float64Array(buffer, 8 * (2 * cells + rows), rows) : null,
  } as Uncertainty<O>;
}

/** The dropout layers that Monte Carlo dropout samples: those `trainDropoutOnly` switches on, with p > 0. */
export function sampledDropoutLayers(root: Module): Array<KeyedDropout | DropConnectLinear> {
  const found: Array<KeyedDropout | DropConnectLinear> = [];
  const visit = (module: Module): void => {
    if ((module instanceof KeyedDropout || module instanceof DropConnectLinear) && module.p > 0) found.push(module);
    module.children().forEach(visit);
  };
  visit(root);
  return found;
}

/**
 * Monte Carlo dropout (Gal and Ghahramani 2016) on one block of rows, the computation both trainers
 * share: `passes` forward passes with dropout layers on and every other layer in eval mode; pass k
 * masks row r with the key (seed, step k, sample `first + r`), so the numbers do not depend on how
 * the rows are split into blocks or threads. Writes rows [first, first + rows) of `out`, whose
 * `outputs` says whether a pass's outputs count as the softmax's probabilities or as they are.
 * Every module's mode is restored afterwards.
 */
export function mcDropoutRows(model: Model, inputs: Float32Array, first: number, passes: number, key: Key, out: Uncertainty<UncertaintyOutputs>): void {
  const x = model.inputTensor(inputs);
  const rows = x.shape[0];
  const classes = out.classes;
  const samples = rowIndices(rows, first);
  const values = new Float64Array(rows * classes);
  // Running means (Welford): identical passes leave them exactly equal to each pass, so a model
  // without dropout gets a standard deviation and a mutual information of exactly 0.
  const mean = new Float64Array(rows * classes);
  const squaredDeviations = new Float64Array(rows * classes);
  const passEntropy = new Float64Array(rows);
  const probabilities = out.outputs === 'probabilities';
  const restore = saveModes(model.module);
  trainDropoutOnly(model.module);
  try {
    for (let pass = 0; pass < passes; pass++) {
      const outputs = model.forward(x, { key, step: pass, samples }).data;
      if (probabilities) softmaxRows(outputs, rows, classes, values);
      else values.set(outputs);
      const count = pass + 1;
      for (let i = 0; i < values.length; i++) {
        const delta = values[i] - mean[i];
        mean[i] += delta / count;
        squaredDeviations[i] += delta * (values[i] - mean[i]);
      }
      if (!probabilities) continue;
      for (let r = 0; r < rows; r++) passEntropy[r] += (entropyOf(values, r * classes, classes) - passEntropy[r]) / count;
    }
  } finally {
    restore();
  }
  const at = first * classes;
  out.mean.set(mean, at);
  for (let i = 0; i < squaredDeviations.length; i++) out.std[at + i] = Math.sqrt(squaredDeviations[i] / passes);
  if (out.entropy === null || out.mutualInformation === null) return;
  for (let r = 0; r < rows; r++) {
    const entropy = entropyOf(mean, r * classes, classes);
    out.entropy[first + r] = entropy;
    // Entropy is concave, so the difference is >= 0; when the passes nearly agree, rounding in the
    // two sums can leave it a few ulps below 0, which would read as negative information.
    out.mutualInformation[first + r] = Math.max(0, entropy - passEntropy[r]);
  }
}

/** The entropy (nats) of each row of `classes` probabilities: for eval-mode softmax outputs, their predictive entropy. */
export function rowEntropies(probabilities: Float64Array, classes: number): Float64Array {
  const entropies = new Float64Array(probabilities.length / classes);
  for (let r = 0; r < entropies.length; r++) entropies[r] = entropyOf(probabilities, r * classes, classes);
  return entropies;
}

/** -sum p ln p over one row, with 0 ln 0 = 0. */
function entropyOf(probabilities: Float64Array, at: number, classes: number): number {
  let entropy = 0;
  for (let c = at; c < at + classes; c++) {
    const p = probabilities[c];
    if (p > 0) entropy -= p * Math.log(p);
  }
  return entropy;
}

/** Records every module's mode; the returned function puts each one back. */
function saveModes(root: Module): () => void {
  const saved: Array<[Module, boolean]> = [];
  const visit = (module: Module): void => {
    saved.push([module, module.training]);
    module.children().forEach(visit);
  };
  visit(root);
  return () => {
    for (const [module, training] of saved) module.training = training;
  };
}
