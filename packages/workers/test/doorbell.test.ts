import { describe, expect, it } from 'vitest';
import { nextOrder, oneMoreOrder, ordersRung, readReport, reportStep, ring } from '../src/doorbell.js';
import { stepLayout, stepViews } from '../src/layout.js';

describe('the doorbell', () => {
  it("a step loop counts orders the way the doorbell's int32 word does, past 2^31 orders too", () => {
    const layout = stepLayout(16, 8, 4, 2, 0);
    const views = stepViews(new SharedArrayBuffer(layout.bytes), layout);
    // Word 0 counts the orders rung: start it two orders short of the int32 wrap.
    Atomics.store(views.doorbell, 0, 2 ** 31 - 2);
    let seen = ordersRung(views);
    for (let step = 0; step < 4; step++) {
      // The learning rate is a float64 field: a rate that float32 would round comes back whole.
      const order = { stop: false, step, epoch: step >> 1, batchSize: 8, stopWanted: step === 2, stopBefore: step === 3, lr: 0.1 / (step + 3) };
      ring(views, order);
      expect(nextOrder(views, seen)).toEqual(order);
      seen = oneMoreOrder(seen);
      // nextOrder waits while the word equals the count seen: they must agree after every order.
      expect(ordersRung(views)).toBe(seen);
    }
    expect(seen).toBe(-(2 ** 31) + 2);
  });

  it("each party's report of a step comes back as it was written, its outcome included", () => {
    const layout = stepLayout(16, 8, 4, 3, 0);
    const views = stepViews(new SharedArrayBuffer(layout.bytes), layout);
    const reports = [
      { outcome: 'updated', at: -1, value: 0, gradientSeconds: 0.25, updateSeconds: 0.125, maxNormSeconds: 0, exchangeSeconds: 0.5, stopAgreed: true },
      { outcome: 'non-finite-gradient', at: 4099, value: -Infinity, gradientSeconds: 0.5, updateSeconds: 0.0625, maxNormSeconds: 0, exchangeSeconds: 0.5, stopAgreed: false },
      { outcome: 'non-finite-loss', at: 1, value: Number.NaN, gradientSeconds: 1, updateSeconds: 0, maxNormSeconds: 0, exchangeSeconds: 0.5, stopAgreed: false },
    ] as const;
    reports.forEach((report, party) => reportStep(views, party, reports.length, report));
    expect(reports.map((_, party) => readReport(views, party))).toEqual(reports);
    expect(Atomics.load(views.doorbell, 1)).toBe(3);
  });
});
