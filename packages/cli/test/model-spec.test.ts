import { describe, expect, it } from 'vitest';
import type { LayerSpec } from '@lockstep/core';
import type { Checkpoint } from '../src/run/checkpoint.js';
import { modelSpecOf } from '../src/config/model-spec.js';
import { resumedConfig } from '../src/config/resume.js';
import { DEFAULT_CONFIG } from '../src/config/settings.js';
import { UserError } from '../src/errors.js';

const nested = (p: number): Array<Record<string, unknown>> => [
  { type: 'sequential', layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p }] },
  { type: 'dropout', p },
  { type: 'linear', out: 10 },
];

/** A checkpoint of a run of `layers` that set no "dropout", 1 epoch into 2. */
function checkpointOf(layers: Array<Record<string, unknown>>): Checkpoint {
  const config = { ...DEFAULT_CONFIG, layers, epochs: 2 };
  return { config, spec: modelSpecOf(config, [128], 10), state: { step: 71, epoch: 1, batch: 0, epochLossSum: 0, epochCorrect: 0 } } as unknown as Checkpoint;
}

describe('"dropout" sets the p of every dropout entry of "layers", inside a sequential too', () => {
  it('replaces p at every depth, and leaves the layers alone without "dropout"', () => {
    expect(modelSpecOf({ ...DEFAULT_CONFIG, layers: nested(0.5), dropout: 0.9 }, [128], 10)).toEqual({ input: [128], layers: nested(0.9) as LayerSpec[] });
    expect(modelSpecOf({ ...DEFAULT_CONFIG, layers: nested(0.5) }, [128], 10)).toEqual({ input: [128], layers: nested(0.5) as LayerSpec[] });
  });

  it('on --resume, a run whose dropout entries are all nested or not was trained with their one p', () => {
    const checkpoint = checkpointOf([{ type: 'sequential', layers: [{ type: 'linear', out: 16 }, { type: 'dropout', p: 0.3 }] }, { type: 'linear', out: 10 }]);
    expect(resumedConfig(checkpoint, 'r.lockstep', { dropout: 0.3 }, {}).dropout).toBe(0.3);
    expect(() => resumedConfig(checkpoint, 'r.lockstep', { dropout: 0.5 }, {})).toThrow(new UserError('--dropout cannot change when resuming: r.lockstep was trained with dropout 0.3; leave out --dropout'));
  });
});

describe('on --resume of a run of "layers", "hidden" is refused for what the run was trained with', () => {
  it('its layers, not the default widths it recorded', () => {
    const checkpoint = checkpointOf(nested(0.5));
    const layers = 'input [128]: sequential, dropout 0.5, linear 10';
    expect(() => resumedConfig(checkpoint, 'cnn1/checkpoint.lockstep', {}, { hidden: [64] })).toThrow(
      new UserError(`hidden cannot change when resuming: cnn1/checkpoint.lockstep was trained with "layers" (${layers}), which hidden does not apply to`),
    );
  });

  it('a run of "hidden" still names its widths', () => {
    const checkpoint = { ...checkpointOf([]), config: { ...DEFAULT_CONFIG, epochs: 2 } } as Checkpoint;
    expect(() => resumedConfig(checkpoint, 'w1/checkpoint.lockstep', {}, { hidden: [64] })).toThrow(new UserError('hidden cannot change when resuming: w1/checkpoint.lockstep was trained with hidden [256,256]'));
  });
});
