import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { decodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { writeFileAtomic, WriteError } from './files.js';

/** With early stopping: the checkpoint of the best epoch so far, committed with the epoch's checkpoint. */
export const BEST_FILE = 'best.lockstep';
/**
 * A new best epoch's checkpoint on its way to best.lockstep. checkpoint.lockstep and best.lockstep
 * cannot be replaced in one rename, so a new best is written here first, then the epoch's
 * checkpoint that names it, then this file is renamed to best.lockstep: a kill at any moment leaves
 * a folder whose checkpoint names the best epoch that best.lockstep or this file holds.
 */
export const NEXT_BEST_FILE = 'best.next.lockstep';

/**
 * Writes a checkpoint (`writeCheckpoint`) together with the best epoch's checkpoint that it names,
 * `best`, in the three steps above; with `best` null the checkpoint names no best epoch, and
 * best.lockstep is removed after it.
 */
export function writeWithBest(folder: string, best: Uint8Array | null, writeCheckpoint: () => void): void {
  if (best === null) {
    writeCheckpoint();
    rmSync(join(folder, BEST_FILE), { force: true });
    return;
  }
  writeFileAtomic(join(folder, NEXT_BEST_FILE), best);
  writeCheckpoint();
  commitBest(folder);
}

/** What best.lockstep in `folder` holds now, or null where there is none. */
export function committedBest(folder: string): Buffer | null {
  return bytesAt(join(folder, BEST_FILE));
}

/** The last step, once the checkpoint naming the new best is written: the staged file becomes best.lockstep. */
function commitBest(folder: string): void {
  try {
    renameSync(join(folder, NEXT_BEST_FILE), join(folder, BEST_FILE));
  } catch (error) {
    throw new WriteError(join(folder, BEST_FILE), (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

/**
 * Finishes a commit that a kill cut short in `folder`, which this process has locked: a staged file
 * holding `bestEpoch`, the epoch the folder's checkpoint names as the best, becomes best.lockstep;
 * any other staged file belongs to a checkpoint that was never written, and is removed.
 */
export function settleBest(folder: string, bestEpoch: number | undefined): void {
  const staged = join(folder, NEXT_BEST_FILE);
  if (!existsSync(staged)) return;
  if (bestEpoch !== undefined && readBest(staged)?.state.epoch === bestEpoch) commitBest(folder);
  else rmSync(staged, { force: true });
}

/**
 * The best epoch's checkpoint in `folder` for a checkpoint that names `bestEpoch`: best.lockstep, or
 * the staged file of a commit that a kill cut short (rank 0, or a later resume, finishes it); null
 * when neither holds that epoch. best.lockstep is read again last, as the commit may finish between
 * the reads.
 */
export function loadBest(folder: string, bestEpoch: number): { path: string; checkpoint: Checkpoint } | null {
  for (const path of [join(folder, BEST_FILE), join(folder, NEXT_BEST_FILE), join(folder, BEST_FILE)]) {
    const checkpoint = readBest(path);
    if (checkpoint?.state.epoch === bestEpoch) return { path, checkpoint };
  }
  return null;
}

/** The checkpoint at `path`, or null where there is no file (any more). */
function readBest(path: string): Checkpoint | null {
  const bytes = bytesAt(path);
  return bytes === null ? null : decodeCheckpoint(bytes, path);
}

function bytesAt(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new UserError(`cannot read the checkpoint ${path}: ${code}; check that the run folder is readable`);
  }
}
