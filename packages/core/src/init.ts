import { LockstepError } from './errors.js';
import type { Initializer } from './modules/module.js';
import { fillNormal, fillUniform } from './random/key.js';

export type InitName =
  | 'torch-default'
  | 'kaiming-uniform'
  | 'kaiming-normal'
  | 'xavier-uniform'
  | 'xavier-normal'
  | 'zeros';

export const INIT_NAMES: readonly InitName[] = [
  'torch-default',
  'kaiming-uniform',
  'kaiming-normal',
  'xavier-uniform',
  'xavier-normal',
  'zeros',
];

/** He et al. 2015, for ReLU layers: variance 2 / fanIn. */
export const kaimingUniform: Initializer = (key, out, fanIn) => {
  const bound = Math.sqrt(6 / fanIn);
  fillUniform(key, out, -bound, bound);
};

export const kaimingNormal: Initializer = (key, out, fanIn) => fillNormal(key, out, 0, Math.sqrt(2 / fanIn));

/** Glorot and Bengio 2010: variance 2 / (fanIn + fanOut). */
export const xavierUniform: Initializer = (key, out, fanIn, fanOut) => {
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  fillUniform(key, out, -bound, bound);
};

export const xavierNormal: Initializer = (key, out, fanIn, fanOut) =>
  fillNormal(key, out, 0, Math.sqrt(2 / (fanIn + fanOut)));

/** PyTorch's nn.Linear default for weights and bias: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export const torchDefault: Initializer = (key, out, fanIn) => {
  const bound = 1 / Math.sqrt(fanIn);
  fillUniform(key, out, -bound, bound);
};

export const zeros: Initializer = (_key, out) => out.fill(0);

const BY_NAME: Record<InitName, Initializer> = {
  'torch-default': torchDefault,
  'kaiming-uniform': kaimingUniform,
  'kaiming-normal': kaimingNormal,
  'xavier-uniform': xavierUniform,
  'xavier-normal': xavierNormal,
  zeros,
};

export function initializer(name: InitName): Initializer {
  const init = BY_NAME[name];
  if (init === undefined) {
    throw new LockstepError('E_OPTION', `unknown initializer "${name}"; use one of ${INIT_NAMES.join(', ')}`);
  }
  return init;
}
