import { afterEach, describe, expect, it } from 'vitest';
import { Dataset, LockstepError, sgd, syntheticClassification } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// A mistake in how a Trainer is called is one LockstepError, at once, and the Trainer stays usable.
const data = syntheticClassification({ seed: 1, samples: 100, features: 8, classes: 3 });
const spec = { input: [8], layers: [{ type: 'linear', out: 16 }, { type: 'relu' }, { type: 'dropout', p: 0.5 }, { type: 'linear', out: 3 }] };
const fitOptions = { epochs: 2, batchSize: 20 };

const open: Trainer[] = [];
function trainer(): Trainer {
  const made = new Trainer({ model: spec, seed: 0, optimizer: sgd({ lr: 0.1 }), chunkSize: 10, workers: 2 });
  open.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** The error `run` throws or rejects with, which must be a LockstepError. */
async function failure(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(LockstepError);
    return { code: (error as LockstepError).code, message: (error as LockstepError).message };
  }
  throw new Error('expected a LockstepError');
}

describe('a call started while another runs', () => {
  it('is refused at once with E_BUSY; the running fit ends with the bits of a fit alone, and the Trainer goes on', async () => {
    const alone = trainer();
    await alone.fit(data, fitOptions);
    const busy = trainer();
    const running = busy.fit(data, fitOptions);
    const refusals = [
      await failure(() => busy.fit(data, fitOptions)),
      await failure(() => busy.evaluate(data)),
      await failure(() => busy.predict(data.inputs)),
      await failure(() => busy.predictWithUncertainty(data.inputs, { samples: 2, seed: 0 })),
      await failure(() => busy.forwardOnEveryReplica(data.inputs)),
      await failure(() => busy.load({ params: busy.params.slice(), optimizerState: new Float32Array(0), state: busy.state })),
      await failure(() => busy.loadStateDict(busy.stateDict())),
    ];
    expect(refusals).toEqual(
      ['fit', 'evaluate', 'predict', 'predictWithUncertainty', 'forwardOnEveryReplica', 'load', 'loadStateDict'].map((call) => ({
        code: 'E_BUSY',
        message: `${call}: this Trainer is running fit; await it before calling ${call}`,
      })),
    );
    expect((await running).state.step).toBe(10);
    expect(Buffer.from(busy.params.buffer, busy.params.byteOffset, busy.params.byteLength).equals(Buffer.from(alone.params.buffer, alone.params.byteOffset, alone.params.byteLength))).toBe(true);
    expect(busy.isClosed).toBe(false);
    expect(await busy.evaluate(data)).toEqual(await alone.evaluate(data));
  });

  it('an evaluate running refuses a fit the same way', async () => {
    const busy = trainer();
    const running = busy.evaluate(data);
    expect(await failure(() => busy.fit(data, fitOptions))).toEqual({ code: 'E_BUSY', message: 'fit: this Trainer is running evaluate; await it before calling fit' });
    await running;
    expect((await busy.fit(data, fitOptions)).state.step).toBe(10);
  });
});
