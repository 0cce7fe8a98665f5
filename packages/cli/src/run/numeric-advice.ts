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
 * with (a tenth of the rate it trained at, and --clip-norm 1 or a tenth of this run's), from
 * `resumable` when there is a checkpoint that did not hold the failing parameters; the resume command
 * names `modules`. The rate is `plateauRate` for a plateau schedule (a resumed --lr replaces it), else --lr.
 * A one-cycle schedule's rates come from its max_lr, not lr, and a schedule cannot change on --resume:
 * there the lower rate is a tenth of max_lr, for a new run, and a resume gets only the clipping.
 */
export function numericFailureMessage(
  coreMessage: string,
  config: RunConfig,
  modules: readonly string[],
  resumable: SavedCheckpoint | null,
  latest: SavedCheckpoint | null,
  plateauRate?: number,
): string {
  const cut = coreMessage.indexOf(CORE_ADVICE);
  const diagnosis = cut < 0 ? coreMessage : coreMessage.slice(0, cut);
  const dataHint = coreMessage.includes(CORE_DATA_HINT) ? `${CORE_DATA_HINT}, or ` : '';
  const clipping = `--clip-norm ${config.clipNorm === undefined ? 1 : tenth(config.clipNorm)}`;
  const peak = config.schedule?.kind === 'one-cycle' ? Number(config.schedule.max_lr) : null;
  const lowerRate = peak === null ? `--lr ${tenth(plateauRate ?? config.lr)}` : `max_lr=${tenth(peak)} in the schedule (a one-cycle schedule's rates come from its max_lr ${peak}, not from --lr)`;
  if (resumable !== null) {
    const resume = resumeCommand(resumable.path, modules);
    if (peak !== null) return `${diagnosis}; ${dataHint}resume from step ${resumable.step} with gradient clipping: ${resume} ${clipping}, or start the run again with ${lowerRate}`;
    return `${diagnosis}; ${dataHint}resume from step ${resumable.step} with a lower learning rate or gradient clipping: ${resume} ${lowerRate} ${clipping}`;
  }
  const why = latest === null ? 'no checkpoint was saved yet' : `the only checkpoint kept, at step ${latest.step}, holds the parameters that failed`;
  const settings = peak === null ? `${lowerRate} ${clipping}` : `${lowerRate} and ${clipping}`;
  return `${diagnosis}; ${why}: ${dataHint}start the run again with a lower learning rate or gradient clipping, e.g. ${settings}`;
}
