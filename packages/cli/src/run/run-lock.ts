import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export const LOCK_FILE = 'lockstep.lock';

export interface RunLock {
  /** Set when this run took over the lock of a run that died holding the folder (its pid, if the lock held one). */
  readonly tookOver: { readonly pid: number | null } | null;
  /** Removes the lock if it is still this process's; safe to call more than once. */
  release(): void;
}

/**
 * Claims a run folder for this process: `lockstep.lock`, created with the exclusive `wx` flag, holds
 * the pid. A second run into the folder is refused while that process lives; a lock left by a dead
 * process (kill -9, a power cut) is taken over.
 */
export function lockRunFolder(folder: string): RunLock {
  const path = join(folder, LOCK_FILE);
  let tookOver: RunLock['tookOver'] = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (create(path)) return { tookOver, release: () => release(path) };
    const owner = ownerOf(path);
    if (owner === undefined) continue;
    if (owner !== null && isRunning(owner)) throw inUse(folder, owner, path);
    if (takeOver(path, owner)) tookOver = { pid: owner };
  }
  throw new UserError(`cannot lock ${folder}: other runs keep claiming it; choose another --out`);
}

function create(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new UserError(`cannot create the lock file ${path}: ${code}; check that the folder is writable`);
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; null when it holds none (its writer died before writing it); undefined when it is gone. */
function ownerOf(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return /^\d+$/.test(text.trim()) && pid > 0 ? pid : null;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(folder: string, pid: number, path: string): UserError {
  return new UserError(`${folder} is in use by another lockstep train (pid ${pid}, lock file ${path}); wait for it to end or choose another --out`);
}

/**
 * Moves the dead owner's lock aside before deleting it, so that of two runs taking over at once, the
 * slower cannot delete the lock the faster has just created: it finds that lock aside and puts it back.
 */
function takeOver(path: string, owner: number | null): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  if (ownerOf(aside) === owner) {
    rmSync(aside, { force: true });
    return true;
  }
  renameSync(aside, path);
  return false;
}

function release(path: string): void {
  if (ownerOf(path) === process.pid) rmSync(path, { force: true });
}
