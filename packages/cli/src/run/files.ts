import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** For the kill tests only: milliseconds to wait between writing the temporary file and renaming it. */
export const SLOW_WRITES_VARIABLE = 'LOCKSTEP_TEST_SLOW_WRITES_MS';

const TEMPORARY = /\.tmp-\d+$/;

/** A file that could not be written; `code` is the system's reason, e.g. ENOSPC. */
export class WriteError extends UserError {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`cannot write ${path}: ${writeFailure(path, code)}`);
  }
}

function writeFailure(path: string, code: string): string {
  if (code === 'ENOSPC' || code === 'EDQUOT') return `${code}; the disk is full, free some space`;
  // ENOENT also comes from a temporary file removed mid-write; only a missing folder gets this advice.
  if (code === 'ENOENT' && !existsSync(folderOf(path))) return `the folder ${folderOf(path)} does not exist (ENOENT); create it or choose another path`;
  const file = code === 'ENOTDIR' ? fileInPath(folderOf(path)) : null;
  if (file !== null) return `${file} is a file, not a folder (ENOTDIR); choose another path`;
  return `${code}; check that the folder is writable`;
}

/** The file that a folder path runs through (`a.csv` of `a.csv/out`), or null where every existing part is a folder. */
function fileInPath(folder: string): string | null {
  for (let part = folder; ; part = dirname(part)) {
    if (existsSync(part)) return statSync(part).isDirectory() ? null : part;
    if (dirname(part) === part) return null;
  }
}

/**
 * Writes `contents` to `path` through a temporary file in the same folder and a rename, so a crash
 * at any moment leaves either the old file or the new one, whole.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(temporary, 'w');
    try {
      writeFileSync(fd, contents);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const pause = Number(process.env[SLOW_WRITES_VARIABLE] ?? 0);
    if (pause > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // The temporary file could not be made either (the folder is a file, or gone): nothing to clean up.
    }
    throw new WriteError(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

/**
 * Deletes the temporary files that writes of the files `names` killed before their rename left in
 * `folder`; returns how many. Other names of that pattern may be the user's, and stay.
 */
export function removeStrayTemporaries(folder: string, names: readonly string[]): number {
  const stray = readdirSync(folder).filter((name) => TEMPORARY.test(name) && names.includes(name.replace(TEMPORARY, '')));
  for (const name of stray) rmSync(join(folder, name), { force: true });
  return stray.length;
}

/** The end of every line that refuses to replace what an --out holds. */
export const REPLACE_ADVICE = 'replace it with --overwrite, or choose another --out';

/** Refuses to replace `path`, the file --out names, unless the user asked for that with --overwrite. */
export function checkNewFile(path: string, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) throw new UserError(`${path} already exists; ${REPLACE_ADVICE}`);
}

export function makeFolder(path: string): void {
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) return;
    throw new UserError(`cannot create the output folder ${path}: it is a file; choose another --out`);
  }
  try {
    // Node 20's recursive mkdirSync never returns under /proc, so only recurse when the parent is missing.
    mkdirSync(path, { recursive: !existsSync(dirname(path)) });
  } catch (error) {
    throw new UserError(`cannot create the output folder ${path}: ${(error as NodeJS.ErrnoException).code}; choose another --out`);
  }
}

/**
 * Fails as makeFolder(path) would, and leaves nothing behind: for a command that checks its --out
 * before long work but makes it only once it has something to write there, so that one stopped
 * midway leaves no empty folder. Making the folder is the one sure test that it can be made.
 */
export function checkFolderCanBeMade(path: string): void {
  if (existsSync(path)) return makeFolder(path);
  const target = resolve(path);
  let existing = dirname(target);
  while (!existsSync(existing)) existing = dirname(existing);
  makeFolder(path);
  for (let made = target; made !== existing; made = dirname(made)) {
    try {
      rmdirSync(made);
    } catch {
      // Another process put something there meanwhile: the folder is its now.
      return;
    }
  }
}

export function folderOf(path: string): string {
  return dirname(path);
}

/** A new run folder's default name: runs/<prefix><time>. */
export function defaultOutFolder(prefix = ''): string {
  return join('runs', prefix + new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19));
}
