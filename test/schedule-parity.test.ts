import { describe, expect, it } from 'vitest';
import { initialScheduleState, learningRateAt, plateauStep, sgd, type ScheduleConfig, type ScheduleSpec } from '@lockstep/core';
import { resolveSchedule, scheduleOf, scheduleRule } from '../packages/cli/src/config/schedule.js';
import { readFixture } from './helpers/fixtures.js';

/**
 * PyTorch 1.13 is the oracle: tools/parity/generate_schedules.py records each scheduler's learning
 * rate at every count. lockstep computes the closed forms where PyTorch multiplies step by step
 * (StepLR, CosineAnnealingLR, LinearLR), so the two differ by rounding alone: within 1e-12
 * relatively. OneCycleLR and ReduceLROnPlateau are the same operations: exact, except that V8's
 * Math.cos and C's cos may differ in the last bit (OneCycleLR's cos annealing, within 1e-12 too).
 */
const RTOL = 1e-12;

interface Case {
  name: string;
  scheduler: 'StepLR' | 'CosineAnnealingLR' | 'SequentialLR' | 'OneCycleLR' | 'ReduceLROnPlateau';
  settings: Record<string, number | string>;
  lr: number;
  lrs: number[];
  metrics?: number[];
}

const { cases } = readFixture<{ cases: Case[] }>('schedules.json');

const KIND = { StepLR: 'step', CosineAnnealingLR: 'cosine', SequentialLR: 'warmup-cosine', OneCycleLR: 'one-cycle', ReduceLROnPlateau: 'plateau' } as const;

/** The CLI's schedule setting for a case: PyTorch's names as the fixture has them, counted in steps. */
function cliSchedule(c: Case): ScheduleConfig {
  const interval = c.scheduler === 'OneCycleLR' || c.scheduler === 'ReduceLROnPlateau' ? {} : { interval: 'step' };
  const setting = scheduleRule.check({ kind: KIND[c.scheduler], ...c.settings, ...interval }, '--schedule', 'the case');
  const run = { epochs: 1, stepsPerEpoch: c.lrs.length, validation: true, accuracy: true, lr: c.lr };
  return scheduleOf(resolveSchedule(setting, run));
}

function expectClose(actual: number[], expected: number[], exact: boolean): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, t) => {
    if (exact) expect(value, `count ${t}`).toBe(expected[t]);
    else expect(Math.abs(value - expected[t]), `count ${t}: ${value} against ${expected[t]}`).toBeLessThanOrEqual(RTOL * Math.abs(expected[t]));
  });
}

describe('each schedule\'s learning rate per count equals PyTorch\'s scheduler (torch 1.13 fixture)', () => {
  for (const c of cases.filter((k) => k.scheduler !== 'ReduceLROnPlateau')) {
    it(`${c.name}: per step, and per epoch`, () => {
      const schedule = cliSchedule(c);
      const exact = c.scheduler === 'OneCycleLR' && c.settings.anneal_strategy === 'linear';
      expectClose(c.lrs.map((_, t) => learningRateAt(c.lr, schedule, t, 0)), c.lrs, exact);
      if (c.scheduler !== 'OneCycleLR') {
        // Counted in epochs, the same rates come from the epoch, whatever the step.
        const perEpoch = { ...schedule, interval: 'epoch' } as ScheduleConfig;
        expectClose(c.lrs.map((_, t) => learningRateAt(c.lr, perEpoch, 1000 + 7 * t, t)), c.lrs, exact);
      }
    });
  }

  for (const c of cases.filter((k) => k.scheduler === 'ReduceLROnPlateau')) {
    it(`${c.name}: the rate before the first epoch and after each metric`, () => {
      const schedule = cliSchedule(c);
      if (schedule.kind !== 'plateau') throw new Error('not a plateau schedule');
      const state = initialScheduleState(c.lr, schedule)!;
      const lrs = [learningRateAt(c.lr, schedule, 0, 0, state)];
      c.metrics!.forEach((metric, epoch) => {
        plateauStep(schedule, state, metric);
        lrs.push(learningRateAt(c.lr, schedule, 0, epoch + 1, state));
      });
      expectClose(lrs, c.lrs, true);
    });
  }
});

describe('the library fills in PyTorch\'s defaults of what a schedule leaves out', () => {
  it.each([
    [{ kind: 'step', stepSize: 3 }, { kind: 'step', stepSize: 3, gamma: 0.1 }],
    [{ kind: 'cosine', totalSteps: 10 }, { kind: 'cosine', totalSteps: 10, minLr: 0 }],
    [{ kind: 'warmup-cosine', totalSteps: 10 }, { kind: 'warmup-cosine', totalSteps: 10, warmup: 5, startFactor: 1 / 3, minLr: 0 }],
    [
      { kind: 'one-cycle', maxLr: 0.1, totalSteps: 100 },
      { kind: 'one-cycle', maxLr: 0.1, totalSteps: 100, pctStart: 0.3, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4 },
    ],
    [
      { kind: 'plateau' },
      { kind: 'plateau', monitor: 'val_loss', mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
    ],
    [{ kind: 'plateau', monitor: 'val_accuracy' }, expect.objectContaining({ monitor: 'val_accuracy', mode: 'max' })],
  ] as const)('%j', (given, filled) => {
    expect(sgd({ lr: 0.1, schedule: given as ScheduleSpec }).schedule).toEqual(filled);
  });
});
