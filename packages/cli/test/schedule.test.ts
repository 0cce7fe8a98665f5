import { describe, expect, it } from 'vitest';
import { checkTrainingSettings, type ScheduleSetting } from '../src/config/schedule.js';
import { UserError } from '../src/errors.js';

// 4,500 training samples in batches of 64: 71 steps an epoch.
const data = { train: { size: 4500, targets: { kind: 'classes' } }, validation: {} };
const oneCycle = (total: number): ScheduleSetting => ({ kind: 'one-cycle', max_lr: 0.1, total_steps: total, pct_start: 0.3, anneal_strategy: 'cos', div_factor: 25, final_div_factor: 1e4 });
const run = (epochs: number, schedule: ScheduleSetting) => ({ schedule, epochs, batchSize: 64, lr: 0.05 });

describe('resuming a one-cycle run past its total_steps', () => {
  it('says the schedule was fixed when the run started and how long a resume may be, not that a total_steps never written is short', () => {
    expect(() => checkTrainingSettings(run(5, oneCycle(284)), data, true, 'r/checkpoint.lockstep')).toThrow(
      new UserError(
        'r/checkpoint.lockstep has a one-cycle schedule of 284 steps (total_steps: fixed when the run started, from its epochs unless given), and 5 epochs take 355; ' +
          'one-cycle has no learning rate past its last step, and the schedule cannot change when resuming: resume with at most 4 epochs, or start a new run of 5 epochs (give total_steps to leave room to resume further)',
      ),
    );
  });

  it('goes on where total_steps covers the longer run', () => {
    const config = run(6, oneCycle(500));
    checkTrainingSettings(config, data, true, 'r/checkpoint.lockstep');
    expect(config.schedule).toEqual(oneCycle(500));
  });

  it('a new run keeps the message about the total_steps it gives', () => {
    expect(() => checkTrainingSettings(run(5, oneCycle(284)), data, true)).toThrow(new UserError("schedule.total_steps 284 is shorter than the run's 355 steps; one-cycle has no learning rate past its last step"));
  });
});
