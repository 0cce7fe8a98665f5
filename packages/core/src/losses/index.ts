import type { Targets } from '../data/dataset.js';
import { LockstepError } from '../errors.js';
import { crossEntropy } from './cross-entropy.js';
import type { Loss, LossName } from './loss.js';
import { meanSquaredError } from './mse.js';

export function lossByName(name: LossName): Loss {
  if (name === 'cross-entropy') return crossEntropy;
  if (name === 'mse') return meanSquaredError;
  throw new LockstepError('E_OPTION', `loss must be "cross-entropy" or "mse", got ${JSON.stringify(name)}`);
}

/** Cross-entropy for class labels, mean squared error for value targets. */
export function defaultLoss(targets: Targets): Loss {
  return targets.kind === 'classes' ? crossEntropy : meanSquaredError;
}
