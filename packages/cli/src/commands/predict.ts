import { readFileSync } from 'node:fs';
import { sizeOf, softmaxRows } from '@lockstep/core';
import { flagValue } from '../config/flags.js';
import { defaultWorkers, OPTIONS } from '../config/options.js';
import { readInputs } from '../data/inputs.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { importNamedModules } from '../run/modules.js';
import { checkSameRun, contentDigest, runRanks, trainerRanks } from '../run/ranks.js';
import { buildModel, trainerFor } from '../run/trainer.js';

export interface PredictFlags {
  checkpoint: string;
  input: string;
  mcSamples?: string;
  seed?: string;
  format?: string;
  workers?: string;
  modules?: string;
  mpi?: boolean;
}

const round = (value: number): number => Number(value.toPrecision(7));

/**
 * Class probabilities per input row. With --mc-samples K, dropout stays on (dropout layers only), K
 * keyed masks are drawn, and each row gets the mean probabilities, their standard deviation, the
 * predictive entropy and the mutual information; the same --seed gives the same numbers at any worker
 * count. Across ranks each rank computes a share of the rows, and rank 0 alone prints.
 */
export async function predictCommand(flags: PredictFlags): Promise<number> {
  const ranks = runRanks(flags.mpi === true);
  const workers = flagValue('--workers', OPTIONS.workers, flags.workers) ?? defaultWorkers();
  const samples = flagValue('--mc-samples', OPTIONS.mcSamples, flags.mcSamples);
  const seed = flagValue('--seed', OPTIONS.seed, flags.seed) ?? 0;
  const format = flagValue('--format', OPTIONS.format, flags.format) ?? 'json';
  const modules = flagValue('--modules', OPTIONS.modules, flags.modules);
  const checkpoint = loadCheckpoint(flags.checkpoint);
  const inputs = readInputs(flags.input, sizeOf(checkpoint.spec.input), checkpoint);
  const setup = await importNamedModules(checkpoint, flags.checkpoint, modules);
  const model = buildModel(checkpoint.spec);
  const identity = { checkpoint: contentDigest(readFileSync(flags.checkpoint)), inputs: contentDigest(new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength)), samples, seed, format, modules };
  checkSameRun(ranks, JSON.stringify(identity), 'checkpoint, inputs or flags');
  const trainer = trainerFor(checkpoint, model, setup, workers, trainerRanks(ranks));
  try {
    let rows: Array<{ probabilities: number[]; std?: number[]; entropy?: number; mutualInformation?: number }>;
    if (samples === undefined) {
      const logits = await trainer.predict(inputs);
      const count = inputs.length / sizeOf(checkpoint.spec.input);
      const classes = logits.length / count;
      const probabilities = softmaxRows(logits, count, classes, new Float64Array(logits.length));
      rows = Array.from({ length: count }, (_, r) => ({ probabilities: [...probabilities.subarray(r * classes, (r + 1) * classes)].map(round) }));
    } else {
      const { classes, mean, std, entropy, mutualInformation } = await trainer.predictWithUncertainty(inputs, { samples, seed });
      rows = Array.from({ length: entropy.length }, (_, r) => ({
        probabilities: [...mean.subarray(r * classes, (r + 1) * classes)].map(round),
        std: [...std.subarray(r * classes, (r + 1) * classes)].map(round),
        entropy: round(entropy[r]),
        mutualInformation: round(mutualInformation[r]),
      }));
    }
    // The passes above are collective across ranks; what they found is rank 0's to say.
    if (!ranks.writes) return 0;
    if (format === 'json') {
      console.log(JSON.stringify(rows));
    } else {
      const classes = rows[0]?.probabilities.length ?? 0;
      const header = Array.from({ length: classes }, (_, c) => `p${c}`);
      if (samples !== undefined) header.push(...Array.from({ length: classes }, (_, c) => `std${c}`), 'entropy', 'mutualInformation');
      console.log(header.join(','));
      for (const row of rows) {
        const spread = row.std === undefined ? [] : [...row.std, row.entropy, row.mutualInformation];
        console.log([...row.probabilities, ...spread].join(','));
      }
    }
    return 0;
  } finally {
    await trainer.close();
  }
}
