import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export const COMPARISON_FILE = 'compare.json';
/** What a comparison writes beside compare.json, and in each rate's or config's folder. */
const PICTURE_FILES = ['compare.svg', 'compare.html'];
const VARIANT_FILES = ['config.json', 'metrics.jsonl'];

/** The folder of a compared dropout rate, e.g. dropout-0.5 (a config file's is its name). */
export function rateFolder(rate: number): string {
  return `dropout-${rate}`;
}

/** The folders of the rates or configs that the comparison in `path` (a compare.json) trains. */
function comparedFolders(path: string): string[] {
  let document: { rates?: number[]; configs?: Array<{ name: string }> };
  try {
    document = JSON.parse(readFileSync(path, 'utf8')) as typeof document;
  } catch (error) {
    throw new UserError(`${path} is not a comparison lockstep wrote (${(error as Error).message}); move it away, or choose another --out`);
  }
  return [...(document.rates ?? []).map(rateFolder), ...(document.configs ?? []).map((config) => config.name)];
}

/**
 * Makes way for a comparison in `out`, which it has locked, before it writes anything there. A
 * folder holding compare.json is another comparison's, and is refused unless `overwrite` is set:
 * then that comparison's files are deleted, each rate's or config's folder first and compare.json
 * last, so a crash midway leaves a folder that --overwrite still recognises. Other files stay.
 */
export function clearExistingComparison(out: string, overwrite: boolean): void {
  const summary = join(out, COMPARISON_FILE);
  if (!existsSync(summary)) return;
  if (!overwrite) throw new UserError(`${out} already holds a comparison (${COMPARISON_FILE}); replace it with --overwrite, or choose another --out`);
  for (const folder of comparedFolders(summary)) {
    const path = join(out, folder);
    for (const name of VARIANT_FILES) rmSync(join(path, name), { force: true });
    if (existsSync(path) && readdirSync(path).length === 0) rmdirSync(path);
  }
  for (const name of [...PICTURE_FILES, COMPARISON_FILE]) rmSync(join(out, name), { force: true });
}
