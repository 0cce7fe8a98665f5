import { workerData } from 'piscina';
import type { Task, TaskResults, WorkerSetup } from './messages.js';
import { rankGroupOf } from './rank-groups.js';
import { Replica } from './replica.js';

const setup = workerData as WorkerSetup;
let replica: Promise<Replica> | null = null;

// Built on the first task rather than at load time: piscina first tries require() on this file, and
// Node 20's require() of an ES module with top-level await can abort the whole process.
function ready(): Promise<Replica> {
  replica ??= (async () => {
    for (const url of setup.setupModules) await import(url);
    return new Replica(setup, setup.ranks === null ? null : await rankGroupOf(setup.ranks));
  })();
  return replica;
}

/** The piscina entry point: one typed task in, its typed result out. */
export default async function run(task: Task): Promise<TaskResults[Task['kind']]> {
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
  }
}
