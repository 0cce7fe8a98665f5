import { describe, expect, it } from 'vitest';
import { nextOrder, oneMoreOrder, ordersRung, ring } from '../src/doorbell.js';
import { stepLayout, stepViews } from '../src/layout.js';

describe('the doorbell', () => {
  it("a step loop counts orders the way the doorbell's int32 word does, past 2^31 orders too", () => {
    const layout = stepLayout(16, 8, 4, 2, 0);
    const views = stepViews(new SharedArrayBuffer(layout.bytes), layout);
    // Word 0 counts the orders rung: start it two orders short of the int32 wrap.
    Atomics.store(views.doorbell, 0, 2 ** 31 - 2);
    let seen = ordersRung(views);
    for (let step = 0; step < 4; step++) {
      ring(views, { stop: false, optimizerStep: step, batchSize: 8, chunks: 2, t: step + 1, lr: 0.1 });
      expect(nextOrder(views, seen)).toEqual({ stop: false, optimizerStep: step, batchSize: 8, chunks: 2, t: step + 1, lr: 0.1 });
      seen = oneMoreOrder(seen);
      // nextOrder waits while the word equals the count seen: they must agree after every order.
      expect(ordersRung(views)).toBe(seen);
    }
    expect(seen).toBe(-(2 ** 31) + 2);
  });
});
