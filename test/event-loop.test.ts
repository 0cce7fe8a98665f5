import { afterEach, describe, expect, it } from 'vitest';
import { sgd, syntheticClassification } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';

// Steps of a few dozen microseconds: the coordinator waits for each with its thread blocked, and must
// still let timers, signals and output run while the fit goes on (docs/design.md, "The doorbell").
const data = syntheticClassification({ seed: 3, samples: 4096, features: 8, classes: 2 });
const model = { input: [8], layers: [{ type: 'linear', out: 8 }, { type: 'relu' }, { type: 'linear', out: 2 }] };
const EPOCHS = 400;

const open: Trainer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('the event loop during a fit', () => {
  it('turns while short steps run at 2 workers: a timer set at the first step fires mid-fit, and its abort stops the fit', async () => {
    const trainer = new Trainer({ model, seed: 1, optimizer: sgd({ lr: 0.01 }), chunkSize: 4, workers: 2 });
    open.push(trainer);
    const controller = new AbortController();
    let stepsAtAbort = -1;
    const abortSoon = (): void => {
      stepsAtAbort = trainer.state.step;
      controller.abort();
    };
    let timerSet = false;
    const onStep = (): void => {
      if (!timerSet) setTimeout(abortSoon, 100);
      timerSet = true;
    };
    const result = await trainer.fit(data, { epochs: EPOCHS, batchSize: 8, signal: controller.signal, onStep });
    expect(result.stopped).toBe(true);
    expect(stepsAtAbort).toBeGreaterThan(0);
    // The abort is seen before the next step: the fit ends right after the step under way when it came.
    expect(trainer.state.step).toBe(stepsAtAbort + 1);
    expect(trainer.state.step).toBeLessThan(EPOCHS * (data.size / 8));
  });
});
