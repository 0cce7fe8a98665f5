// The doorbell between the coordinator and the workers' step loops, two words of the step buffer:
// orders rung so far, and workers that finished the latest one. A step costs one ring and one ring
// back, a few tens of microseconds, where a task per worker through the pool's messages cost
// several hundred.
import { STEP_OUTCOMES, type StepReport } from '@lockstep/core';
import { ORDER, REPORT, REPORT_FIELDS, type StepViews } from './layout.js';
import type { DoorbellOrder } from './messages.js';
import { abortBarrier, isAborted, resetBarrier } from './barrier.js';
import { spinWhile } from './spin.js';

const RUNG = 0;
const FINISHED = 1;
const WAIT_SLICE_MS = 100;
const SPIN_MS = 0.05;

/** The order that ends the step loops. */
export const STOP: DoorbellOrder = { stop: true, step: 0, epoch: 0, batchSize: 0, stopWanted: false, lr: 0 };

/** Coordinator: publishes the next order, resets the step barrier and wakes every step loop. */
export function ring(views: StepViews, order: DoorbellOrder): void {
  const fields = views.order;
  fields[ORDER.stop] = order.stop ? 1 : 0;
  fields[ORDER.step] = order.step;
  fields[ORDER.epoch] = order.epoch;
  fields[ORDER.batchSize] = order.batchSize;
  fields[ORDER.stopWanted] = order.stopWanted ? 1 : 0;
  fields[ORDER.nextSize] = order.nextSize ?? 0;
  fields[ORDER.stopBefore] = order.stopBefore === true ? 1 : 0;
  fields[ORDER.lr] = order.lr;
  resetBarrier(views.barrier);
  Atomics.store(views.doorbell, FINISHED, 0);
  Atomics.add(views.doorbell, RUNG, 1);
  Atomics.notify(views.doorbell, RUNG);
}

/**
 * Coordinator, after a worker failed: every step loop stops, at its next order or at the step
 * barrier where it would wait for the failed worker. The order fields are left alone, so a worker
 * reading the current order never sees half of another.
 */
export function abortSteps(views: StepViews): void {
  abortBarrier(views.barrier);
  Atomics.add(views.doorbell, RUNG, 1);
  Atomics.notify(views.doorbell, RUNG);
}

export function ordersRung(views: StepViews): number {
  return Atomics.load(views.doorbell, RUNG);
}

/**
 * Worker: the count of orders seen after one more, as the doorbell's int32 word counts it, wrapping
 * after 2^31 - 1 orders, so `nextOrder`'s comparison with the word stays true to it.
 */
export function oneMoreOrder(seen: number): number {
  return (seen + 1) | 0;
}

/**
 * Worker: waits for the order after the `seen`-th and returns it. A step loop waits here while the
 * coordinator runs its callbacks (a checkpoint, a progress bar), so it first does the `idle` work it
 * has (one piece at a time, looking for the order between pieces), then looks briefly, then sleeps.
 */
export function nextOrder(views: StepViews, seen: number, idle?: () => boolean): DoorbellOrder {
  if (idle !== undefined) while (Atomics.load(views.doorbell, RUNG) === seen && idle());
  spinWhile(() => Atomics.load(views.doorbell, RUNG) === seen, SPIN_MS);
  while (Atomics.load(views.doorbell, RUNG) === seen) Atomics.wait(views.doorbell, RUNG, seen);
  if (isAborted(views.barrier)) return STOP;
  const fields = views.order;
  const nextSize = fields[ORDER.nextSize]!;
  return {
    stop: fields[ORDER.stop] === 1,
    step: fields[ORDER.step]!,
    epoch: fields[ORDER.epoch]!,
    batchSize: fields[ORDER.batchSize]!,
    stopWanted: fields[ORDER.stopWanted] === 1,
    stopBefore: fields[ORDER.stopBefore] === 1,
    lr: fields[ORDER.lr]!,
    ...(nextSize > 0 ? { nextSize } : {}),
  };
}

/** Worker: writes its report of the current order; the last of `parties` to finish rings back. */
export function reportStep(views: StepViews, party: number, parties: number, report: StepReport): void {
  const fields = views.reports.subarray(party * REPORT_FIELDS, (party + 1) * REPORT_FIELDS);
  fields[REPORT.outcome] = STEP_OUTCOMES.indexOf(report.outcome);
  fields[REPORT.at] = report.at;
  fields[REPORT.value] = report.value;
  fields[REPORT.gradientSeconds] = report.gradientSeconds;
  fields[REPORT.updateSeconds] = report.updateSeconds;
  fields[REPORT.maxNormSeconds] = report.maxNormSeconds;
  fields[REPORT.exchangeSeconds] = report.exchangeSeconds;
  fields[REPORT.stopAgreed] = report.stopAgreed ? 1 : 0;
  if (Atomics.add(views.doorbell, FINISHED, 1) + 1 === parties) Atomics.notify(views.doorbell, FINISHED);
}

/**
 * Coordinator: blocks this thread until `parties` workers finished the current order, for at most
 * `ms` milliseconds, and says whether they did. A blocked thread wakes as the ring back comes;
 * `allReported`'s wake goes through the event loop, later and with CPU time that two workers on two
 * cores need (docs/design.md, "The doorbell").
 */
export function allReportedWithin(views: StepViews, parties: number, ms: number): boolean {
  const until = performance.now() + ms;
  for (let done = Atomics.load(views.doorbell, FINISHED); done < parties; done = Atomics.load(views.doorbell, FINISHED)) {
    const left = until - performance.now();
    if (left <= 0) return false;
    Atomics.wait(views.doorbell, FINISHED, done, left);
  }
  return true;
}

/** Coordinator: resolves once `parties` workers finished the current order, or once `givenUp()` is true. */
export async function allReported(views: StepViews, parties: number, givenUp: () => boolean): Promise<void> {
  for (let done = Atomics.load(views.doorbell, FINISHED); done < parties && !givenUp(); done = Atomics.load(views.doorbell, FINISHED)) {
    const wait = Atomics.waitAsync(views.doorbell, FINISHED, done, WAIT_SLICE_MS);
    if (wait.async) await wait.value;
  }
}

export function readReport(views: StepViews, party: number): StepReport {
  const fields = views.reports.subarray(party * REPORT_FIELDS, (party + 1) * REPORT_FIELDS);
  return {
    outcome: STEP_OUTCOMES[fields[REPORT.outcome]!]!,
    at: fields[REPORT.at]!,
    value: fields[REPORT.value]!,
    gradientSeconds: fields[REPORT.gradientSeconds]!,
    updateSeconds: fields[REPORT.updateSeconds]!,
    maxNormSeconds: fields[REPORT.maxNormSeconds]!,
    exchangeSeconds: fields[REPORT.exchangeSeconds]!,
    stopAgreed: fields[REPORT.stopAgreed] === 1,
  };
}
