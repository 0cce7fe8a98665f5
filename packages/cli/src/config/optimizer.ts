import { adam, adamw, sgd, type OptimizerConfig } from '@lockstep/core';
import { scheduleOf } from './schedule.js';
import type { RunConfig } from './settings.js';

/** The run's optimizer; its schedule must be resolved against the run first (`resolveSchedule`). */
export function optimizerOf(config: RunConfig): OptimizerConfig {
  const { lr, weightDecay, clipNorm } = config;
  const schedule = scheduleOf(config.schedule);
  if (config.optimizer === 'sgd') return sgd({ lr, momentum: config.momentum, weightDecay, clipNorm, schedule });
  return config.optimizer === 'adam' ? adam({ lr, weightDecay, clipNorm, schedule }) : adamw({ lr, weightDecay, clipNorm, schedule });
}
