import { describe, expect, it } from 'vitest';
import { KERNEL_FAMILIES, sgd } from '@lockstep/core';
import { decodeCheckpoint, encodeCheckpoint } from '../src/run/checkpoint.js';
import { modelSpecOf } from '../src/config/model-spec.js';
import { DEFAULT_CONFIG } from '../src/config/settings.js';
import { UserError } from '../src/errors.js';

const config = { ...DEFAULT_CONFIG, hidden: [4], epochs: 2 };
const file = encodeCheckpoint({
  config,
  spec: modelSpecOf(config, [6], 3),
  optimizer: sgd({ lr: config.lr, momentum: config.momentum }),
  kernel: KERNEL_FAMILIES.strict,
  params: new Float32Array(43),
  optimizerState: new Float32Array(43),
  state: { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0 },
});

describe('a checkpoint cut inside its 48-byte header', () => {
  it.each([47, 16, 8, 3, 1])('to %i bytes is truncated, not foreign', (length) => {
    expect(() => decodeCheckpoint(file.subarray(0, length), 't.lockstep')).toThrow(
      new UserError(`t.lockstep is truncated: it has ${length} byte${length === 1 ? '' : 's'}, fewer than the 48 of a checkpoint's header; copy the whole file again, or use an earlier checkpoint`),
    );
  });

  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['a short file of other bytes', Buffer.from('LOCKS7EP')],
    ['a long file of other bytes', Buffer.from('x1,x2,label\n'.repeat(8))],
  ])('%s is not a checkpoint', (_what, bytes) => {
    expect(() => decodeCheckpoint(bytes, 't.lockstep')).toThrow(new UserError('t.lockstep is not a lockstep checkpoint (no "LOCKSTEP" header)'));
  });
});
