import { adam, adamw, sgd, type OptimizerConfig } from '@lockstep/core';
import type { RunConfig } from './settings.js';

export function optimizerOf(config: RunConfig): OptimizerConfig {
  const { lr, weightDecay, clipNorm } = config;
  if (config.optimizer === 'sgd') return sgd({ lr, momentum: config.momentum, weightDecay, clipNorm });
  return config.optimizer === 'adam' ? adam({ lr, weightDecay, clipNorm }) : adamw({ lr, weightDecay, clipNorm });
}
