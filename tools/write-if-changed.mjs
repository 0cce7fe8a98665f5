import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Writes a generated source file (`target`, a path) only when its text changes, so an up-to-date
 * build touches nothing: tsc -b then sees no new input, and packing or building while tests run is
 * safe. A changed file is written beside the target and renamed over it, so a reader never sees half
 * of it.
 */
export function writeIfChanged(target, text) {
  let previous = '';
  try {
    previous = readFileSync(target, 'utf8');
  } catch {
    // Not generated yet.
  }
  if (previous === text) return;
  const written = `${target}.${process.pid}.tmp`;
  writeFileSync(written, text);
  renameSync(written, target);
}
