import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type RunConfig } from '../src/config/settings.js';
import type { ScheduleSetting } from '../src/config/schedule.js';
import { numericFailureMessage } from '../src/run/numeric-advice.js';

// A NaN's advice names settings that change the run: with a one-cycle schedule the rates come from max_lr, not lr.
const core = 'fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; the parameters are those before this step; lower the learning rate';
const oneCycle: ScheduleSetting = { kind: 'one-cycle', max_lr: 100, total_steps: 71, pct_start: 0.3, anneal_strategy: 'cos', div_factor: 25, final_div_factor: 1e4 };
const advice = (config: Partial<RunConfig>, resumable: { path: string; step: number } | null) => numericFailureMessage(core, { ...DEFAULT_CONFIG, ...config }, [], resumable, resumable);

describe('the advice after a NaN', () => {
  it('without a schedule: a tenth of --lr, or clipping', () => {
    expect(advice({}, null)).toBe('fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; no checkpoint was saved yet: start the run again with a lower learning rate or gradient clipping, e.g. --lr 0.005 --clip-norm 1');
    expect(advice({}, { path: 'r/checkpoint.lockstep', step: 5 })).toBe(
      'fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; resume from step 5 with a lower learning rate or gradient clipping: lockstep train --resume r/checkpoint.lockstep --lr 0.005 --clip-norm 1',
    );
  });

  it('with one-cycle: a tenth of max_lr for a new run, since --lr changes none of its rates', () => {
    expect(advice({ schedule: oneCycle }, null)).toBe(
      'fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; no checkpoint was saved yet: start the run again with a lower learning rate or gradient clipping, ' +
        "e.g. max_lr=10 in the schedule (a one-cycle schedule's rates come from its max_lr 100, not from --lr) and --clip-norm 1",
    );
  });

  it('with one-cycle and a checkpoint: resume with clipping only, as the schedule cannot change when resuming', () => {
    expect(advice({ schedule: oneCycle, clipNorm: 5 }, { path: 'r/checkpoint.lockstep', step: 5 })).toBe(
      'fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; resume from step 5 with gradient clipping: lockstep train --resume r/checkpoint.lockstep --clip-norm 0.5, ' +
        "or start the run again with max_lr=10 in the schedule (a one-cycle schedule's rates come from its max_lr 100, not from --lr)",
    );
  });

  it('with plateau: a tenth of the schedule\'s rate at the failure, which a resumed --lr replaces, not of the starting lr', () => {
    const plateau = numericFailureMessage(core, { ...DEFAULT_CONFIG, lr: 10, schedule: { kind: 'plateau' } as RunConfig['schedule'] }, [], { path: 'r/checkpoint.lockstep', step: 5 }, null, 0.5);
    expect(plateau).toBe(
      'fit failed at step 7 (epoch 1, batch 8 of 71): the loss is NaN; resume from step 5 with a lower learning rate or gradient clipping: lockstep train --resume r/checkpoint.lockstep --lr 0.05 --clip-norm 1',
    );
  });
});
