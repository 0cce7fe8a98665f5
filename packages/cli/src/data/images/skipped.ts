import { join } from 'node:path';
import type { ImageSettings } from '../../config/image-settings.js';
import { writeFileAtomic } from '../../run/files.js';
import type { SkippedImage } from './folder.js';

/** The run folder's list of the bad image files --skip-bad-images left out. */
export const SKIPPED_IMAGES_FILE = 'skipped-images.txt';

/** The note that `skipped` bad files were left out; null where none was. */
export function skippedImagesNote(skipped: readonly SkippedImage[]): string | null {
  if (skipped.length === 0) return null;
  return `note: left out ${skipped.length} bad image file${skipped.length === 1 ? '' : 's'} (--skip-bad-images)`;
}

/** The line that names one bad file --skip-bad-images left out (eval and predict, which have no run folder to list them in). */
export function skippedImageLine({ path, reason }: SkippedImage): string {
  return `note: left out ${path} (--skip-bad-images): it ${reason}`;
}

/**
 * With skipBadImages, writes the list of skipped files to the run folder, one `path<TAB>reason` line
 * each (an empty file when none was bad), and returns a note where some were; null otherwise.
 */
export function writeSkippedImages(out: string, config: ImageSettings, skipped: readonly SkippedImage[]): string | null {
  if (config.skipBadImages !== true) return null;
  const path = join(out, SKIPPED_IMAGES_FILE);
  writeFileAtomic(path, skipped.map(({ path: file, reason }) => `${file}\t${reason}\n`).join(''));
  const note = skippedImagesNote(skipped);
  return note === null ? null : `${note}, listed in ${path}`;
}
