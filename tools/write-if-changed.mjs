import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes a generated source file only when its text changes, so an up-to-date build touches nothing:
 * tsc -b then sees no new input, and packing or building while tests run is safe.
 */
export function writeIfChanged(target, text) {
  let previous = '';
  try {
    previous = readFileSync(target, 'utf8');
  } catch {
    // Not generated yet.
  }
  if (previous !== text) writeFileSync(target, text);
}
