import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SKIPPED_IMAGES_FILE } from '../data/images/skipped.js';
import { CALIBRATION_FILES } from '../output/calibration-report.js';
import { UserError } from '../errors.js';
import { folderOf, REPLACE_ADVICE } from './files.js';
import { BEST_FILE, NEXT_BEST_FILE } from './best-checkpoint.js';
import { CONFIG_FILE } from './run-config-file.js';
import { CHECKPOINT_FILE } from './training.js';

/**
 * The files of a run (and of eval on it) in its folder. The checkpoints come first: deleted in this
 * order, a folder never holds the old run's checkpoint beside the new run's files, even after a crash.
 */
export const RUN_FILES = [CHECKPOINT_FILE, BEST_FILE, NEXT_BEST_FILE, CONFIG_FILE, 'metrics.jsonl', 'curves.svg', 'curves.html', SKIPPED_IMAGES_FILE, ...CALIBRATION_FILES];

/**
 * Makes way for a run in `out`, which it has locked, before the run writes anything there. A folder
 * holding any file a run writes is refused, since that file may be another run's or the user's own:
 * one with a checkpoint takes only the run that resumes from a checkpoint in it (and so goes on with
 * that run). With `overwrite` the files are deleted instead, and a crash of the new run leaves only
 * its own files, as in a fresh folder.
 */
export function clearExistingRun(out: string, resumedFrom: string | undefined, overwrite: boolean): void {
  if (continuesIn(out, resumedFrom)) return;
  const held = RUN_FILES.find((name) => existsSync(join(out, name)));
  if (held === undefined) return;
  if (!overwrite) throw refusal(out, held);
  removeRunFiles(out);
}

function refusal(out: string, held: string): UserError {
  if (held === CHECKPOINT_FILE) {
    return new UserError(`${out} already holds a run's checkpoint; continue that run with --resume ${join(out, CHECKPOINT_FILE)}, replace it with --overwrite, or choose another --out`);
  }
  return new UserError(`${out} already holds ${held}, which a run writes; ${REPLACE_ADVICE}`);
}

/** Deletes the files of a run in `out`, checkpoints first; any other file stays. */
export function removeRunFiles(out: string): void {
  for (const name of RUN_FILES) rmSync(join(out, name), { force: true });
}

/** Whether a run resumed from `resumedFrom` goes on in `out`: the folder that checkpoint is in. */
export function continuesIn(out: string, resumedFrom: string | undefined): boolean {
  return resumedFrom !== undefined && resolve(folderOf(resumedFrom)) === resolve(out);
}
