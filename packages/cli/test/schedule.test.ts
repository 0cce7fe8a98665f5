import { describe, expect, it } from 'vitest';
import { flagValue } from '../src/config/flags.js';
import { checkTrainingSettings, earlyStoppingRule, scheduleRule, type ScheduleSetting } from '../src/config/schedule.js';
import type { Rule } from '../src/config/rules.js';
import { UserError } from '../src/errors.js';

// 4,500 training samples in batches of 64: 71 steps an epoch.
const data = { train: { size: 4500, targets: { kind: 'classes' } }, validation: {} };
const oneCycle = (total: number): ScheduleSetting => ({ kind: 'one-cycle', max_lr: 0.1, total_steps: total, pct_start: 0.3, anneal_strategy: 'cos', div_factor: 25, final_div_factor: 1e4 });
const run = (epochs: number, schedule: ScheduleSetting) => ({ schedule, epochs, batchSize: 64, lr: 0.05 });
const resumed = (scheduleFromRun: string[]) => ({ path: 'r/checkpoint.lockstep', scheduleFromRun });

describe('resuming a one-cycle run past its total_steps', () => {
  it('says the schedule was fixed when the run started and how long a resume may be, not that a total_steps never written is short', () => {
    expect(() => checkTrainingSettings(run(5, oneCycle(284)), data, true, resumed([]))).toThrow(
      new UserError(
        'r/checkpoint.lockstep has a one-cycle schedule of 284 steps (total_steps: fixed when the run started, from its epochs unless given), and 5 epochs take 355; ' +
          'one-cycle has no learning rate past its last step, and the schedule cannot change when resuming: resume with at most 4 epochs, or start a new run of 5 epochs (give total_steps to leave room to resume further)',
      ),
    );
  });

  it('goes on where total_steps covers the longer run', () => {
    const config = run(6, oneCycle(500));
    checkTrainingSettings(config, data, true, resumed([]));
    expect(config.schedule).toEqual(oneCycle(500));
  });

  it('a new run keeps the message about the total_steps it gives', () => {
    expect(() => checkTrainingSettings(run(5, oneCycle(284)), data, true)).toThrow(new UserError("schedule.total_steps 284 is shorter than the run's 355 steps; one-cycle has no learning rate past its last step"));
  });
});

describe('resuming a cosine run past its T_max', () => {
  const cosine = (tMax: number, interval = 'epoch'): ScheduleSetting => ({ kind: 'cosine', T_max: tMax, eta_min: 0, interval });

  it('a new run records that its length filled in T_max, and not a T_max it gives', () => {
    expect(checkTrainingSettings(run(3, { kind: 'cosine', eta_min: 0, interval: 'epoch' }), data, true)).toEqual(['T_max']);
    expect(checkTrainingSettings(run(3, cosine(3)), data, true)).toEqual([]);
  });

  it('refuses a T_max filled in from the run\'s epochs: the new epochs would train at eta_min', () => {
    expect(() => checkTrainingSettings(run(6, cosine(3)), data, true, resumed(['T_max']))).toThrow(
      new UserError(
        "r/checkpoint.lockstep has a cosine schedule that ends after 3 epochs (T_max: filled in from the run's length when it started), and a run of 6 epochs goes past it, where the rate would stay at eta_min 0; " +
          'the schedule cannot change when resuming: resume with at most 3 epochs, or start a new run of 6 epochs (give T_max to leave room to resume further)',
      ),
    );
  });

  it('counts a per-step T_max and a warm-up in their units', () => {
    expect(() => checkTrainingSettings(run(6, cosine(213, 'step')), data, true, resumed(['T_max']))).toThrow(
      "has a cosine schedule that ends after 213 steps (T_max: filled in from the run's length when it started), and a run of 6 epochs (426 steps) goes past it",
    );
    const warmup: ScheduleSetting = { kind: 'warmup-cosine', start_factor: 0.5, total_iters: 2, T_max: 1, eta_min: 0, interval: 'epoch' };
    expect(() => checkTrainingSettings(run(4, warmup), data, true, resumed(['T_max']))).toThrow('has a warmup-cosine schedule that ends after 3 epochs');
    checkTrainingSettings(run(3, warmup), data, true, resumed(['T_max']));
  });

  it('goes on past a T_max the user gave, where the rate stays at eta_min', () => {
    const config = run(6, cosine(3));
    expect(checkTrainingSettings(config, data, true, resumed([]))).toEqual([]);
    expect(config.schedule).toEqual(cosine(3));
  });
});

describe('--early-stopping and --schedule text that is no name=value list is refused, naming the flag', () => {
  it.each([
    ['empty (an unset shell variable)', '--early-stopping', '', '--early-stopping is empty; give its settings, e.g. patience=3,restoreBestWeights'],
    ['only commas', '--early-stopping', ' , ', '--early-stopping is empty; give its settings, e.g. patience=3,restoreBestWeights'],
    ['a setting given twice', '--early-stopping', 'patience=1,patience=2', '--early-stopping sets patience twice; give it once'],
    ['an item with two "="', '--early-stopping', 'patience=a=b', '--early-stopping item "patience=a=b" is not name=value (one "=" each), e.g. patience=3,restoreBestWeights'],
    ['an item without a name', '--early-stopping', '=3', '--early-stopping item "=3" is not name=value (one "=" each), e.g. patience=3,restoreBestWeights'],
    ['an empty schedule', '--schedule', '', '--schedule is empty; give its settings, e.g. kind=step,step_size=10,gamma=0.5'],
    ['a schedule field given twice', '--schedule', 'kind=step,step_size=1,step_size=2', '--schedule sets step_size twice; give it once'],
  ])('%s', (_, flag, text, message) => {
    const rule: Rule<unknown> = flag === '--schedule' ? scheduleRule : earlyStoppingRule;
    expect(() => flagValue(flag, rule, text)).toThrow(new UserError(message));
  });

  it('a bare name is true and a trailing comma is left out, as before', () => {
    expect(flagValue('--early-stopping', earlyStoppingRule, 'patience=2,restoreBestWeights,')).toEqual({ monitor: 'val_loss', mode: 'min', patience: 2, minDelta: 0, restoreBestWeights: true });
  });
});
