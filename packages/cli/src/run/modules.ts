import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registeringFrom } from '@lockstep/core';
import { UserError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';

/** Where a run found one of its modules: the file's real path, and the SHA-256 of its bytes (hex). */
export interface ModuleFile {
  readonly file: string;
  readonly sha256: string;
}

/** A run's modules, imported in this thread. */
export interface ImportedModules {
  /** The module files as the user named them (paths from the current folder): the --modules of a resume command. */
  readonly named: readonly string[];
  /** Their URLs, which the Trainer's workers import too. */
  readonly urls: string[];
  /** Where each module of the run's config was found, in the config's order: every checkpoint records them. */
  readonly files: ModuleFile[];
}

function moduleFile(path: string): ModuleFile {
  const file = realpathSync(path);
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

/** The file at `path`, or null where there is none to read (importing it then says why). */
function existingModuleFile(path: string): ModuleFile | null {
  try {
    return moduleFile(path);
  } catch {
    return null;
  }
}

async function importPaths(paths: readonly string[]): Promise<string[]> {
  const urls: string[] = [];
  for (const path of paths) {
    const url = pathToFileURL(resolve(path)).href;
    try {
      await registeringFrom(path, () => import(url));
    } catch (error) {
      // Node names the file whose import() failed: for a module not found, this file of lockstep's own, which says nothing to the user.
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(` imported from ${fileURLToPath(import.meta.url)}`, '');
      throw new UserError(`cannot load the module ${path} listed in "modules": ${reason}`);
    }
    urls.push(url);
  }
  return urls;
}

/**
 * Imports the config's `modules` (files that call registerLayer) in this thread, for a new run.
 * Relative paths start from the current folder.
 */
export async function importModules(paths: readonly string[] = []): Promise<ImportedModules> {
  const urls = await importPaths(paths);
  return { named: paths, urls, files: paths.map(moduleFile) };
}

/**
 * Imports the modules the user `named` (with --modules, or in their own config), which must include
 * every module the checkpoint at `path` lists. Importing a module runs its code, and a checkpoint may
 * come from anyone, so a checkpoint alone never gets a file imported (as torch.load's weights_only).
 * A named file stands for a checkpoint's module when it is the file the run found (by real path, from
 * any folder) or has its bytes (a copy, as on another machine). A checkpoint of an older lockstep
 * records only the paths as typed, from the folder it was trained in, and is matched from here.
 */
export async function importNamedModules(checkpoint: Checkpoint, path: string, named: readonly string[] = []): Promise<ImportedModules> {
  const needed = checkpoint.config.modules ?? [];
  // A file that is not there matches by path alone, and importing it then says what is missing.
  const offered = named.map((name) => ({ name, file: existingModuleFile(name) }));
  const matches = needed.map((typed, i) => {
    const recorded = checkpoint.moduleFiles?.[i];
    const real = recorded?.file ?? realPathOf(typed);
    return offered.find(({ name, file }) => (file?.file ?? resolve(name)) === real || (file !== null && file.sha256 === recorded?.sha256));
  });
  const found = matches.filter((match) => match !== undefined);
  if (found.length < needed.length) throw new UserError(refusal(checkpoint, path));
  const urls = await importPaths(named);
  // Each match was hashed when offered: a file missing then would have failed its import above.
  return { named, urls, files: found.map(({ name, file }) => file ?? moduleFile(name)) };
}

/** The real path of `path` (symlinks resolved), or its absolute path where there is no such file. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The one line that refuses a checkpoint's modules, with the --modules that would name them from the current folder. */
function refusal(checkpoint: Checkpoint, path: string): string {
  const needed = checkpoint.config.modules ?? [];
  const [what, them] = needed.length === 1 ? ['the module', 'it'] : ['the modules', 'them'];
  const asks = `${path} asks to import ${what}`;
  const recorded = checkpoint.moduleFiles;
  if (recorded === undefined) {
    // Paths from the folder the run was trained in, which may not be this one.
    const there = needed.every((typed) => existsSync(typed)) ? '' : ' from the folder it was trained in';
    return `${asks} ${needed.join(', ')}, which can run any code; if you trust ${them}, pass --modules ${needed.join(',')}${there}`;
  }
  const gone = recorded.filter(({ file }) => !existsSync(file)).map(({ file }) => file);
  if (gone.length > 0) {
    const copies = 'the path of a copy with the same bytes';
    if (needed.length === 1) return `${asks} ${gone[0]}, which can run any code and is no longer there; if you trust it, pass --modules with ${copies}`;
    return `${asks} ${recorded.map(({ file }) => file).join(', ')}, which can run any code; ${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} no longer there: if you trust them, pass --modules with the path of each, or ${copies}`;
  }
  // As the user typed it: an absolute path stays absolute, a relative one starts from here.
  const here = recorded.map(({ file }, i) => (isAbsolute(needed[i]!) ? file : relative('.', file)));
  return `${asks} ${here.join(', ')}, which can run any code; if you trust ${them}, pass --modules ${here.join(',')}`;
}

/** The command that continues a run from `checkpoint`, with the --modules flag a run with `modules` needs. */
export function resumeCommand(checkpoint: string, modules: readonly string[] = []): string {
  return `lockstep train --resume ${checkpoint}${modules.length === 0 ? '' : ` --modules ${modules.join(',')}`}`;
}
