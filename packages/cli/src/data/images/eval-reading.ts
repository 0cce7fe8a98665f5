import type { RunConfig } from '../../config/settings.js';
import { UserError } from '../../errors.js';
import { BAD_IMAGE_FIX, VALIDATION_BAD_IMAGE_FIX, type SkippedImage } from './folder.js';
import { splitFolders } from './scan.js';

/** How eval reads its data: the run's settings, with skipBadImages where --skip-bad-images applies, and the fix a bad file's line gives. */
export interface EvalReading {
  readonly config: RunConfig;
  readonly badImageFix: string;
}

/**
 * Eval reads with the run's settings. --skip-bad-images leaves bad files out of a test set, which
 * does not depend on the training data. The validation split is drawn from the training files as the
 * run read them, and the data fingerprint that checks it covers skipBadImages: there the flag must
 * agree with the run, or the split would be drawn from other files.
 */
export function evalReading(config: RunConfig, options: { data: string; skip: boolean; split: 'test' | 'validation' | undefined; checkpoint: string }): EvalReading {
  const { data, skip, split, checkpoint } = options;
  if (!data.startsWith('images:')) {
    if (skip) throw new UserError(`--skip-bad-images only applies to images:DIR data, and the data is ${data}; leave it out`);
    return { config, badImageFix: BAD_IMAGE_FIX };
  }
  const test = splitFolders(data.slice('images:'.length)).test;
  const validation = split === 'validation' || (split === undefined && test === null);
  if (validation && config.skipBadImages !== true) {
    const other = test === null ? 'data with a test set (--data)' : 'its test set (--split test)';
    if (skip) throw new UserError(`--skip-bad-images cannot apply to the validation split: ${checkpoint} was trained without it, and the split is drawn from the training files as the run read them; leave it out, or evaluate ${other}`);
    return { config, badImageFix: VALIDATION_BAD_IMAGE_FIX };
  }
  return { config: skip ? { ...config, skipBadImages: true } : config, badImageFix: BAD_IMAGE_FIX };
}

/** The bad files left out of the samples eval measures: the test set's, or the training files' the validation split is drawn from. */
export function evaluatedSkips(skipped: readonly SkippedImage[], split: 'test' | 'validation'): SkippedImage[] {
  const from = split === 'test' ? 'test' : 'train';
  return skipped.filter((image) => image.split === from);
}
