import { fileURLToPath } from 'node:url';
import { workerData } from 'piscina';
import { registeringFrom } from '@lockstep/core';
import type { Task, TaskResults, WorkerSetup } from './messages.js';
import { useNativeKernelsIfInstalled } from './native-kernels.js';
import { rankGroupOf } from './rank-groups.js';
import { Replica } from './replica.js';

const setup = workerData as WorkerSetup;
let replica: Promise<Replica> | null = null;

// Built on the first task rather than at load time: piscina first tries require() on this file, and
// Node 20's require() of an ES module with top-level await can abort the whole process.
function ready(): Promise<Replica> {
  replica ??= (async () => {
    for (const url of setup.setupModules) await importSetupModule(url);
    if (setup.nativeKernels) await useNativeKernelsIfInstalled();
    return new Replica(setup, setup.ranks === null ? null : await rankGroupOf(setup.ranks));
  })();
  return replica;
}

/**
 * Imports one of the `setup` modules, naming its file when that fails: the module's own error (say, a
 * registerLayer mistake that only a worker makes) names no file, and the main thread's import passed.
 */
async function importSetupModule(url: string): Promise<void> {
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  try {
    await registeringFrom(file, () => import(url));
  } catch (error) {
    throw new Error(`cannot load the module ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The piscina entry point: one typed task in, its typed result out. */
export default async function run(task: Task): Promise<TaskResults[Task['kind']]> {
  try {
    return await runTask(task);
  } catch (error) {
    throw withCode(error);
  }
}

/**
 * An error that keeps its LockstepError code on its way to the coordinator: a thread's message keeps
 * an error's message and cause, not its class or other fields (pool.ts reads the code back).
 */
function withCode(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' ? new Error(error.message, { cause: { code } }) : error;
}

async function runTask(task: Task): Promise<TaskResults[Task['kind']]> {
  const worker = await ready();
  switch (task.kind) {
    case 'step-loop':
      return worker.stepLoop(task);
    case 'evaluate':
      return worker.evaluate(task);
    case 'predict':
      return worker.predict(task);
    case 'replica-forward':
      return worker.replicaForward(task);
    case 'uncertainty':
      return worker.uncertainty(task);
    case 'rank-exchange':
      return worker.rankExchange(task);
    case 'rank-agree':
      return worker.rankAgree(task);
  }
}
