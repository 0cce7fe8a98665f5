import { readFileSync } from 'node:fs';
import { softmaxRows } from '@lockstep/core';
import { flagValue } from '../config/flags.js';
import { defaultWorkers, OPTIONS } from '../config/options.js';
import { SETTINGS } from '../config/settings.js';
import { checkCheckpointColumns } from '../data/csv.js';
import { evalReading, evaluatedSkips } from '../data/images/eval-reading.js';
import { skippedImageLine, skippedImagesNote } from '../data/images/skipped.js';
import { loadRunData, type RunData } from '../data/run-data.js';
import { UserError } from '../errors.js';
import { calibrationLines, calibrationReport, checkCalibrationFolder, CALIBRATION_FILES, writeCalibrationFiles, type CalibrationReport } from '../output/calibration-report.js';
import { loadCheckpoint } from '../run/checkpoint.js';
import { checkFolderCanBeMade, folderOf, makeFolder } from '../run/files.js';
import { importNamedModules } from '../run/modules.js';
import { checkSameRun, contentDigest, runRanks, trainerRanks } from '../run/ranks.js';
import { checkMcSamples, checkpointModel, trainerFor } from '../run/trainer.js';

/** Each class's accuracy from a confusion matrix (rows: true class), named by the run's class names where it has them. */
function perClassAccuracy(confusion: number[][], names: readonly string[] | undefined): Array<{ label: number; name?: string; accuracy: number | null; correct: number; samples: number }> {
  return confusion.map((row, label) => {
    const samples = row.reduce((a, b) => a + b, 0);
    return { label, ...(names === undefined ? {} : { name: names[label] }), accuracy: samples === 0 ? null : row[label] / samples, correct: row[label], samples };
  });
}

/**
 * The validation split is drawn from the training data, so on data that changed since the checkpoint
 * it is drawn again and holds samples the run trained on: one line, rather than a score that looks
 * right. A test set does not depend on the training data, and is evaluated as it is.
 */
function checkValidationData(recorded: string | undefined, data: RunData, checkpoint: string, source: string): void {
  if (recorded === undefined || recorded === data.fingerprint) return;
  const other = data.test === null ? 'evaluate data with a test set (--data)' : 'evaluate its test set (--split test)';
  throw new UserError(
    `${source} changed since ${checkpoint} was saved (data fingerprint ${recorded}, now ${data.fingerprint}), so its validation split would be drawn again and hold samples the run trained on; restore the data it was trained on, or ${other}`,
  );
}

export interface EvalFlags {
  checkpoint: string;
  data?: string;
  workers?: string;
  modules?: string;
  mcSamples?: string;
  split?: string;
  seed?: string;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
  skipBadImages?: boolean;
  mpi?: boolean;
}

/**
 * Loss, accuracy and confusion matrix on the data's test set (or the run's validation split). Where
 * bad image files are left out (--skip-bad-images, or a run that skipped them), those of the measured
 * samples are named on stderr and counted in the report. With --mc-samples K, also the calibration
 * of eval mode against Monte Carlo dropout, with plots. Across ranks each rank computes a share of
 * the rows, and rank 0 alone prints and writes.
 */
export async function evalCommand(flags: EvalFlags): Promise<number> {
  const ranks = await runRanks(flags.mpi === true);
  const workers = flagValue('--workers', OPTIONS.workers, flags.workers) ?? defaultWorkers();
  const mcSamples = flagValue('--mc-samples', OPTIONS.mcSamples, flags.mcSamples);
  const seed = flagValue('--seed', OPTIONS.seed, flags.seed) ?? 0;
  const dataOverride = flagValue('--data', SETTINGS.data.rule, flags.data);
  const askedSplit = flagValue('--split', OPTIONS.split, flags.split);
  for (const [flag, given] of [['--seed', flags.seed !== undefined], ['--out', flags.out !== undefined], ['--overwrite', flags.overwrite === true]] as const) {
    if (given && mcSamples === undefined) throw new UserError(`${flag} only applies with --mc-samples; add --mc-samples K`);
  }
  const modules = flagValue('--modules', OPTIONS.modules, flags.modules);
  const checkpoint = loadCheckpoint(flags.checkpoint);
  const setup = (await importNamedModules(checkpoint, flags.checkpoint, modules)).urls;
  const model = checkpointModel(checkpoint, flags.checkpoint);
  checkMcSamples(model, flags.checkpoint, mcSamples);
  const reading = evalReading(checkpoint.config, { data: dataOverride ?? checkpoint.config.data, skip: flags.skipBadImages === true, split: askedSplit, checkpoint: flags.checkpoint });
  const data = await loadRunData(reading.config, { threads: workers, dataOverride, badImageFix: reading.badImageFix });
  checkCheckpointColumns(data.csv, checkpoint, flags.checkpoint);
  const split = askedSplit ?? (data.test !== null ? 'test' : 'validation');
  const [name, set] = split === 'test' ? ['test set', data.test] : ['validation split', data.validation];
  if (set === null && flags.split === 'validation') throw new UserError(`${flags.checkpoint} was trained without a validation split ("validationSplit": 0); leave out --split to use the test set`);
  if (set === null && flags.split === 'test') throw new UserError(`${flags.data ?? checkpoint.config.data} has no test set; leave out --split to use the run's validation split`);
  if (set === null) throw new UserError(`${flags.data ?? checkpoint.config.data} has no test set and the run used no validation split; pass --data with a test set`);
  if (split === 'validation') checkValidationData(checkpoint.dataFingerprint, data, flags.checkpoint, flags.data ?? checkpoint.config.data);
  if (JSON.stringify(set.sampleShape) !== JSON.stringify(checkpoint.spec.input)) {
    throw new UserError(`the data has samples of shape [${set.sampleShape.join(',')}] but ${flags.checkpoint} takes [${checkpoint.spec.input.join(',')}]`);
  }
  const skipped = reading.config.skipBadImages === true ? evaluatedSkips(data.skipped, split) : null;
  const identity = { checkpoint: contentDigest(readFileSync(flags.checkpoint)), data: data.fingerprint, split, mcSamples, seed, out: flags.out, json: flags.json === true, modules };
  checkSameRun(ranks, JSON.stringify(identity), 'checkpoint, data or flags');
  const out = flags.out ?? folderOf(flags.checkpoint);
  // Before the passes, so that an unusable --out fails at once rather than after the work; it is made once there is something to write in it.
  if (mcSamples !== undefined && ranks.writes) {
    checkFolderCanBeMade(out);
    checkCalibrationFolder(out, folderOf(flags.checkpoint), flags.overwrite === true);
  }
  if (ranks.writes) for (const image of skipped ?? []) process.stderr.write(`${skippedImageLine(image)}\n`);
  const trainer = trainerFor(checkpoint, model, setup, workers, trainerRanks(ranks));
  try {
    // Collective across ranks: every rank runs the same passes, in the same order.
    const { loss, accuracy } = await trainer.evaluate(set);
    const logits = await trainer.predict(set);
    const mc = mcSamples === undefined ? null : await trainer.predictWithUncertainty(set, { samples: mcSamples, seed });
    if (!ranks.writes) return 0;
    const classes = logits.length / set.size;
    const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    const labels = set.targets.kind === 'classes' ? set.targets.labels : new Int32Array(set.size);
    for (let r = 0; r < set.size; r++) {
      const row = logits.subarray(r * classes, (r + 1) * classes);
      let best = 0;
      for (let c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
      confusion[labels[r]][best]++;
    }
    let calibration: CalibrationReport | null = null;
    if (mcSamples !== undefined && mc !== null) {
      const probabilities = softmaxRows(logits, set.size, classes, new Float64Array(logits.length));
      calibration = calibrationReport({ set: name, labels, mcSamples, seed }, probabilities, mc);
      makeFolder(out);
      writeCalibrationFiles(out, calibration);
    }
    const perClass = perClassAccuracy(confusion, checkpoint.config.imageData?.classes);
    if (flags.json) {
      const skippedImages = skipped === null ? {} : { skippedImages: skipped.map(({ path, reason }) => ({ path, reason })) };
      console.log(JSON.stringify({ set: name, samples: set.size, ...skippedImages, loss, accuracy, confusion, perClass, ...(calibration === null ? {} : { calibration, out }) }));
      return 0;
    }
    const note = skipped === null ? null : skippedImagesNote(skipped);
    if (note !== null) console.log(note);
    console.log(`${name}: ${set.size} samples, loss ${loss.toFixed(4)}, accuracy ${accuracy?.toFixed(4)}`);
    console.log('confusion matrix (rows: true class, columns: predicted class)');
    const width = Math.max(5, String(set.size).length + 1);
    console.log(' '.repeat(6) + confusion.map((_, c) => String(c).padStart(width)).join(''));
    confusion.forEach((row, c) => console.log(String(c).padStart(5) + ' ' + row.map((v) => String(v).padStart(width)).join('')));
    console.log('accuracy per class');
    const nameWidth = Math.max(...perClass.map((entry) => (entry.name ?? '').length));
    for (const entry of perClass) {
      const shown = entry.accuracy === null ? '     -' : entry.accuracy.toFixed(4);
      const name = nameWidth === 0 ? '' : ` ${(entry.name ?? '').padEnd(nameWidth)} `;
      console.log(`${String(entry.label).padStart(5)}${name} ${shown} (${entry.correct} of ${entry.samples})`);
    }
    if (calibration !== null) {
      for (const line of calibrationLines(calibration)) console.log(line);
      console.log(`wrote ${CALIBRATION_FILES.join(', ')} to ${out}`);
    }
    return 0;
  } finally {
    await trainer.close();
  }
}
