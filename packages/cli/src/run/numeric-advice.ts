import type { RunConfig } from '../config/settings.js';
import { resumeCommand } from './modules.js';
import type { SavedCheckpoint } from './saved-checkpoints.js';

// Core's numeric messages end with advice for library users (clipNorm, "the learning rate"); the CLI keeps
// the diagnosis before it and gives its own advice, in flags.
const CORE_ADVICE = '; the parameters are those before this step;';
const CORE_DATA_HINT = 'check the scale of the input data';

const tenth = (value: number): number => Number((value / 10).toPrecision(3));

/**
 * A core E_NUMERIC message said to a CLI user: where the numbers went bad, then settings to go on
 * with (a tenth of this run's --lr, and --clip-norm 1 or a tenth of this run's), from `resumable`
 * when there is a checkpoint that did not hold the failing parameters; the resume command names `modules`.
 */
export function numericFailureMessage(coreMessage: string, config: RunConfig, modules: readonly string[], resumable: SavedCheckpoint | null, latest: SavedCheckpoint | null): string {
  const cut = coreMessage.indexOf(CORE_ADVICE);
  const diagnosis = cut < 0 ? coreMessage : coreMessage.slice(0, cut);
  const dataHint = coreMessage.includes(CORE_DATA_HINT) ? `${CORE_DATA_HINT}, or ` : '';
  const settings = `--lr ${tenth(config.lr)} --clip-norm ${config.clipNorm === undefined ? 1 : tenth(config.clipNorm)}`;
  if (resumable !== null) {
    return `${diagnosis}; ${dataHint}resume from step ${resumable.step} with a lower learning rate or gradient clipping: ${resumeCommand(resumable.path, modules)} ${settings}`;
  }
  const why = latest === null ? 'no checkpoint was saved yet' : `the only checkpoint kept, at step ${latest.step}, holds the parameters that failed`;
  return `${diagnosis}; ${why}: ${dataHint}start the run again with a lower learning rate or gradient clipping, e.g. ${settings}`;
}
