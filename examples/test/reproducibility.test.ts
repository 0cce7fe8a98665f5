// A reproducibility test as a team would put it in its own CI: train a small model with a fixed seed
// and pin its result in one string, the fingerprint of its parameters. Any change that moves a single
// bit (a dependency upgrade, a refactor of the model code, another worker count) fails it.
import { adam, builtinDataset, fingerprint, fit, modelFromSpec, type FitOptions, type ModelSpec } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { describe, expect, it } from 'vitest';

// The fingerprint of the run below, recorded once. Guaranteed across worker counts, resume and (with
// the default strict kernel) CPUs; see the README's "Reproducible runs" for what it is not pinned to.
const GOLDEN = 'd2b867f2392524f2';

const spec: ModelSpec = { input: [128], layers: [{ type: 'linear', out: 64 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 10 }] };
const { train } = builtinDataset(0);
const options = (): FitOptions => ({ epochs: 2, batchSize: 64, chunkSize: 32, seed: 42, optimizer: adam({ lr: 1e-3 }) });

describe('a fixed seed gives the same model, bit for bit', () => {
  it(`the reference fit ends on fingerprint ${GOLDEN}`, () => {
    const model = modelFromSpec(spec, 42);
    fit(model, train, options());
    expect(fingerprint(model)).toBe(GOLDEN);
  });

  it('one epoch, then one more from the returned state, ends on the same fingerprint', () => {
    const model = modelFromSpec(spec, 42);
    const first = fit(model, train, { ...options(), epochs: 1 });
    expect(fingerprint(model)).not.toBe(GOLDEN);
    fit(model, train, { ...options(), epochs: 1, state: first.state });
    expect(fingerprint(model)).toBe(GOLDEN);
  });

  it.each([1, 2, 3])('the worker Trainer with %i workers ends on the same fingerprint', async (workers) => {
    const trainer = new Trainer({ model: spec, seed: 42, workers, optimizer: adam({ lr: 1e-3 }), chunkSize: 32 });
    try {
      await trainer.fit(train, { epochs: 2, batchSize: 64 });
      expect(fingerprint(trainer)).toBe(GOLDEN);
      expect(fingerprint(trainer.params, trainer.buffers)).toBe(GOLDEN);
    } finally {
      await trainer.close();
    }
  });
});
