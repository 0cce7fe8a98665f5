import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';

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
