import { readFileSync } from 'node:fs';
import { sizeOf, softmaxRows } from '@lockstep/core';
import { flagValue } from '../config/flags.js';
import { defaultWorkers, OPTIONS } from '../config/options.js';
import { skippedImageLine } from '../data/images/skipped.js';
import { readInputs } from '../data/inputs.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { importNamedModules } from '../run/modules.js';
import { checkSameRun, contentDigest, runRanks, trainerRanks } from '../run/ranks.js';
import { checkMcSamples, checkpointModel, trainerFor } from '../run/trainer.js';

export interface PredictFlags {
  checkpoint: string;
  input: string;
  mcSamples?: string;
  seed?: string;
  format?: string;
  workers?: string;
  modules?: string;
  skipBadImages?: boolean;
  mpi?: boolean;
}

const round = (value: number): number => Number(value.toPrecision(7));

interface PredictedRow {
  readonly probabilities: Float64Array;
  readonly spread?: { readonly std: Float64Array; readonly entropy: number; readonly mutualInformation: number };
}

interface PrintedRow {
  path?: string;
  class?: string;
  probabilities: number[];
  std?: number[];
  entropy?: number;
  mutualInformation?: number;
}

const valuesOf = ({ probabilities, spread }: PredictedRow): PrintedRow => ({
  probabilities: [...probabilities].map(round),
  ...(spread === undefined ? {} : { std: [...spread.std].map(round), entropy: round(spread.entropy), mutualInformation: round(spread.mutualInformation) }),
});

/** The most probable class (the first of equals), by the name the run's image folders gave it. */
function classNameOf(probabilities: Float64Array, names: readonly string[] | undefined): string {
  let best = 0;
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[best]) best = c;
  return names?.[best] ?? String(best);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

function csvLines(rows: PrintedRow[], classes: number, withSpread: boolean): string[] {
  const header = Array.from({ length: classes }, (_, c) => `p${c}`);
  if (withSpread) header.push(...Array.from({ length: classes }, (_, c) => `std${c}`), 'entropy', 'mutualInformation');
  const named = rows[0]?.path !== undefined;
  return [
    [...(named ? ['path', 'class'] : []), ...header].join(','),
    ...rows.map((row) => {
      const spread = row.std === undefined ? [] : [...row.std, row.entropy, row.mutualInformation];
      return [...(named ? [csvField(row.path!), csvField(row.class!)] : []), ...row.probabilities, ...spread].join(',');
    }),
  ];
}

/**
 * Class probabilities per input row. With --mc-samples K, dropout stays on (dropout layers only), K
 * keyed masks are drawn, and each row gets the mean probabilities, their standard deviation, the
 * predictive entropy and the mutual information; the same --seed gives the same numbers at any worker
 * count. Rows read from image files also name their file and the predicted class (by its folder's
 * name when the run trained on images:DIR); with --skip-bad-images a folder's bad files get no row,
 * and a line each on stderr. Across ranks each rank computes a share of the rows, and
 * rank 0 alone prints.
 */
export async function predictCommand(flags: PredictFlags): Promise<number> {
  const ranks = await runRanks(flags.mpi === true);
  const workers = flagValue('--workers', OPTIONS.workers, flags.workers) ?? defaultWorkers();
  const samples = flagValue('--mc-samples', OPTIONS.mcSamples, flags.mcSamples);
  const seed = flagValue('--seed', OPTIONS.seed, flags.seed) ?? 0;
  const format = flagValue('--format', OPTIONS.format, flags.format) ?? 'json';
  const modules = flagValue('--modules', OPTIONS.modules, flags.modules);
  const checkpoint = loadCheckpoint(flags.checkpoint);
  const { rows: inputs, paths, skipped } = readInputs(flags.input, sizeOf(checkpoint.spec.input), { checkpoint, path: flags.checkpoint }, { skipBadImages: flags.skipBadImages === true });
  // On stderr, so that stdout stays the rows alone.
  if (ranks.writes) for (const image of skipped) process.stderr.write(`${skippedImageLine(image)}\n`);
  const setup = (await importNamedModules(checkpoint, flags.checkpoint, modules)).urls;
  const model = checkpointModel(checkpoint, flags.checkpoint);
  checkMcSamples(model, flags.checkpoint, samples);
  const identity = { checkpoint: contentDigest(readFileSync(flags.checkpoint)), inputs: contentDigest(new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength)), samples, seed, format, modules };
  checkSameRun(ranks, JSON.stringify(identity), 'checkpoint, inputs or flags');
  const trainer = trainerFor(checkpoint, model, setup, workers, trainerRanks(ranks));
  try {
    let rows: PredictedRow[];
    if (samples === undefined) {
      const logits = await trainer.predict(inputs);
      const count = inputs.length / sizeOf(checkpoint.spec.input);
      const classes = logits.length / count;
      const probabilities = softmaxRows(logits, count, classes, new Float64Array(logits.length));
      rows = Array.from({ length: count }, (_, r) => ({ probabilities: probabilities.subarray(r * classes, (r + 1) * classes) }));
    } else {
      const { classes, mean, std, entropy, mutualInformation } = await trainer.predictWithUncertainty(inputs, { samples, seed });
      rows = Array.from({ length: entropy.length }, (_, r) => ({
        probabilities: mean.subarray(r * classes, (r + 1) * classes),
        spread: { std: std.subarray(r * classes, (r + 1) * classes), entropy: entropy[r], mutualInformation: mutualInformation[r] },
      }));
    }
    // The passes above are collective across ranks; what they found is rank 0's to say.
    if (!ranks.writes) return 0;
    const printed = paths === null ? rows.map(valuesOf) : rows.map((row, r) => ({ path: paths[r], class: classNameOf(row.probabilities, checkpoint.config.imageData?.classes), ...valuesOf(row) }));
    if (format === 'json') console.log(JSON.stringify(printed));
    else for (const line of csvLines(printed, rows[0]?.probabilities.length ?? 0, samples !== undefined)) console.log(line);
    return 0;
  } finally {
    await trainer.close();
  }
}
