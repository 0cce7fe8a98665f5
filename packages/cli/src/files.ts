import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from './errors.js';

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
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new UserError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check that the folder is writable`);
  }
}

export function makeFolder(path: string): void {
  try {
    // Node 20's recursive mkdirSync never returns under /proc, so only recurse when the parent is missing.
    if (existsSync(path)) return;
    mkdirSync(path, { recursive: !existsSync(dirname(path)) });
  } catch (error) {
    throw new UserError(`cannot create the output folder ${path}: ${(error as NodeJS.ErrnoException).code}; choose another --out`);
  }
}

export function folderOf(path: string): string {
  return dirname(path);
}
