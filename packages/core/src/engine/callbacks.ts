import { describeValue, LockstepError } from '../errors.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { EpochMetrics, StepProgress } from './progress.js';

/** What a callback may do besides looking: ask the fit to stop (the same as returning 'stop'). */
interface Stoppable {
  /** Ends the fit cleanly after this step or epoch: its state is a position a later fit resumes from. */
  stop(): void;
}

/** At a step's end: the step's progress (with its learning rate) and the fit's state. */
export interface StepEndContext extends Stoppable {
  readonly progress: StepProgress;
}

/** At an epoch's end, after validation: the epoch's metrics (with its learning rate), and early stopping's state where the fit has it. */
export interface EpochEndContext extends Stoppable {
  readonly metrics: EpochMetrics;
  readonly earlyStopping: Readonly<EarlyStoppingState> | null;
}

/**
 * Hooks of a fit, as Keras' and Lightning's callbacks: each receives the metrics and may stop the fit
 * by returning 'stop' or calling `ctx.stop()`. The fit then ends after that step or epoch with
 * `stopRequested: true`, its state a position to resume from. Across ranks a stop asked on any rank
 * stops every rank after the same step.
 */
export interface Callback {
  onStepEnd?(ctx: StepEndContext): void | 'stop';
  onEpochEnd?(ctx: EpochEndContext): void | 'stop';
}

const HOOKS = ['onStepEnd', 'onEpochEnd'] as const;
type Hook = (typeof HOOKS)[number];

/** What each hook receives. */
interface HookContexts {
  onStepEnd: StepEndContext;
  onEpochEnd: EpochEndContext;
}

const RUN_SYNCHRONOUSLY =
  "callbacks run synchronously between steps, so the fit can neither wait for a promise nor see a stop asked after an await; make the hook a plain function that calls ctx.stop() or returns 'stop', and start any async work from it without returning its promise";

/** Why `onStep` and `onEpoch` may not be async: they cannot stop the fit, and nothing would see their promise fail. */
const OBSERVE_SYNCHRONOUSLY =
  'onStep and onEpoch run synchronously between steps, so the fit can neither wait for a promise nor fail when one rejects; make the hook a plain function, and start any async work from it without returning its promise, catching its errors there';

const isAsyncFunction = (value: unknown): boolean => Object.prototype.toString.call(value) === '[object AsyncFunction]';

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

/**
 * Throws E_OPTION unless `value` is a plain function or undefined: a hook that is not one would fail
 * only when first called, after training, and an async one would run past the step it was given.
 */
function checkHook(name: string, value: unknown, rule: string): void {
  if (value !== undefined && typeof value !== 'function') throw new LockstepError('E_OPTION', `${name} must be a function, got ${describeValue(value)}`);
  if (isAsyncFunction(value)) throw new LockstepError('E_OPTION', `${name} is an async function, but ${rule}`);
}

/** Checks a fit's `onStep` or `onEpoch`, as `checkCallbacks` checks its callbacks. */
export function checkObserver(name: 'onStep' | 'onEpoch', value: unknown): void {
  checkHook(name, value, OBSERVE_SYNCHRONOUSLY);
}

/**
 * What a hook returned, unless it is a promise (from a function not declared async, which the checks
 * cannot see): that fails the fit at once, and the promise failing later too must not end the process
 * as an unhandled rejection.
 */
function returnedSynchronously(name: string, returned: unknown, rule: string): unknown {
  if (!isThenable(returned)) return returned;
  returned.then(undefined, () => undefined);
  throw new LockstepError('E_OPTION', `${name} returned a promise, but ${rule}`);
}

/** Calls a fit's `onStep` or `onEpoch`, if it has one. */
export function callObserver<T>(name: 'onStep' | 'onEpoch', hook: ((value: T) => void) | undefined, value: T): void {
  if (hook !== undefined) returnedSynchronously(name, hook(value), OBSERVE_SYNCHRONOUSLY);
}

/** The callbacks of a fit, checked before its first step: a list of objects, each with onStepEnd or onEpochEnd, and those functions. */
export function checkCallbacks(callbacks: unknown): readonly Callback[] {
  if (callbacks === undefined) return [];
  if (!Array.isArray(callbacks)) {
    throw new LockstepError('E_OPTION', `callbacks must be an array of callback objects, such as [{ onEpochEnd: (ctx) => {} }], got ${describeValue(callbacks)}`);
  }
  callbacks.forEach((callback: unknown, i) => {
    if (typeof callback !== 'object' || callback === null) {
      throw new LockstepError('E_OPTION', `callbacks[${i}] must be an object with onStepEnd or onEpochEnd, got ${describeValue(callback)}`);
    }
    if (!HOOKS.some((hook) => hook in callback)) {
      throw new LockstepError('E_OPTION', `callbacks[${i}] has neither onStepEnd nor onEpochEnd, so it would never be called; give it one of them`);
    }
    for (const hook of HOOKS) {
      const value = (callback as Callback)[hook];
      checkHook(`callbacks[${i}].${hook}`, value, RUN_SYNCHRONOUSLY);
    }
  });
  return callbacks;
}

/** Runs `hook` of every callback in order; true when one of them asked to stop. A hook that returns a promise fails the fit. */
export function runCallbacks<H extends Hook>(callbacks: readonly Callback[], hook: H, context: Omit<HookContexts[H], 'stop'>): boolean {
  // Called at every step: without callbacks, no context is made.
  if (callbacks.length === 0) return false;
  let stop = false;
  const ctx = { ...context, stop: () => (stop = true) } as unknown as HookContexts[H];
  callbacks.forEach((callback, i) => {
    const run = callback[hook] as ((ctx: HookContexts[H]) => unknown) | undefined;
    if (run === undefined) return;
    if (returnedSynchronously(`callbacks[${i}].${hook}`, run.call(callback, ctx), RUN_SYNCHRONOUSLY) === 'stop') stop = true;
  });
  return stop;
}
