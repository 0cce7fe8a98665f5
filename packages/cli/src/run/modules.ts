import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Imports the config's `modules` (files that call registerLayer) in this thread and returns their
 * URLs, which the Trainer's workers import too. Relative paths start from the current folder.
 */
export async function importModules(paths: readonly string[] = []): Promise<string[]> {
  const urls: string[] = [];
  for (const path of paths) {
    const url = pathToFileURL(resolve(path)).href;
    try {
      await import(url);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UserError(`cannot load the module ${path} listed in "modules": ${reason.split('\n')[0]}`);
    }
    urls.push(url);
  }
  return urls;
}

/**
 * Imports the modules the user `named` (with --modules, or in their own config), which must include
 * every module the checkpoint at `path` lists. Importing a module runs its code, and a checkpoint may
 * come from anyone, so a checkpoint alone never gets a file imported (as torch.load's weights_only).
 */
export async function importNamedModules(checkpoint: Checkpoint, path: string, named: readonly string[] = []): Promise<string[]> {
  const needed = checkpoint.config.modules ?? [];
  const allowed = new Set(named.map((name) => resolve(name)));
  if (!needed.every((name) => allowed.has(resolve(name)))) {
    const [what, them] = needed.length === 1 ? ['the module', 'it'] : ['the modules', 'them'];
    throw new UserError(`${path} asks to import ${what} ${needed.join(', ')}, which can run any code; if you trust ${them}, pass --modules ${needed.join(',')}`);
  }
  return importModules(named);
}

/** The command that continues a run from `checkpoint`, with the --modules flag a run with `modules` needs. */
export function resumeCommand(checkpoint: string, modules: readonly string[] = []): string {
  return `lockstep train --resume ${checkpoint}${modules.length === 0 ? '' : ` --modules ${modules.join(',')}`}`;
}
