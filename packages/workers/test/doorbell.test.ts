import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { allReportedWithin, nextOrder, oneMoreOrder, ordersRung, readReport, reportStep, ring } from '../src/doorbell.js';
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

  it("a blocking coordinator sees a step's last report from another thread, and gives up after its time without one", async () => {
    const layout = stepLayout(16, 8, 4, 2, 0);
    const buffer = new SharedArrayBuffer(layout.bytes);
    const views = stepViews(buffer, layout);
    const report = { outcome: 'updated', at: -1, value: 0, gradientSeconds: 0, updateSeconds: 0, maxNormSeconds: 0, exchangeSeconds: 0, stopAgreed: false } as const;
    ring(views, { stop: false, step: 0, epoch: 0, batchSize: 8, stopWanted: false, lr: 0.1 });
    reportStep(views, 0, 2, report);
    expect(allReportedWithin(views, 2, 20)).toBe(false);
    // Party 1 reports from its own thread 50 ms into a wait of up to 10 s: the wait ends with its ring back.
    const doorbellOffset = views.doorbell.byteOffset;
    const party = new Worker(
      `const { workerData } = require('node:worker_threads');
       const doorbell = new Int32Array(workerData.buffer, workerData.offset, 2);
       setTimeout(() => { Atomics.add(doorbell, 1, 1); Atomics.notify(doorbell, 1); }, 50);`,
      { eval: true, workerData: { buffer, offset: doorbellOffset } },
    );
    const started = performance.now();
    expect(allReportedWithin(views, 2, 10_000)).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
    await party.terminate();
  });
});
