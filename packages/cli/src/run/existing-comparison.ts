import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { REPLACE_ADVICE } from './files.js';

export const COMPARISON_FILE = 'compare.json';
/** What a comparison writes beside compare.json, and in each rate's or config's folder. */
const PICTURE_FILES = ['compare.svg', 'compare.html'];
/** The files a comparison writes in its folder itself. */
export const COMPARISON_FILES = [COMPARISON_FILE, ...PICTURE_FILES];
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

/** What a comparison of the variants in `folders` writes in its folder, as paths from it: each variant's files, then the pictures. */
function comparisonFiles(folders: readonly string[]): string[] {
  return [...folders.flatMap((folder) => VARIANT_FILES.map((name) => join(folder, name))), ...PICTURE_FILES];
}

/**
 * Makes way for a comparison of the variants in `folders` in `out`, which it has locked, before it
 * writes anything there. A folder holding compare.json is another comparison's, and one holding any
 * other file this comparison writes may be the user's: both are refused unless `overwrite` is set.
 * Then the old comparison's files and this one's are deleted, each variant's folder first and
 * compare.json last, so a crash midway leaves a folder that --overwrite still recognises. Other files stay.
 */
export function clearExistingComparison(out: string, folders: readonly string[], overwrite: boolean): void {
  const summary = join(out, COMPARISON_FILE);
  const previous = existsSync(summary);
  const held = previous ? COMPARISON_FILE : comparisonFiles(folders).find((path) => existsSync(join(out, path)));
  if (held === undefined) return;
  if (!overwrite) {
    throw new UserError(
      previous
        ? `${out} already holds a comparison (${COMPARISON_FILE}); ${REPLACE_ADVICE}`
        : `${out} already holds ${held}, which a comparison writes; ${REPLACE_ADVICE}`,
    );
  }
  for (const folder of new Set([...(previous ? comparedFolders(summary) : []), ...folders])) {
    const path = join(out, folder);
    for (const name of VARIANT_FILES) rmSync(join(path, name), { force: true });
    if (existsSync(path) && readdirSync(path).length === 0) rmdirSync(path);
  }
  for (const name of [...PICTURE_FILES, COMPARISON_FILE]) rmSync(join(out, name), { force: true });
}
