import { workerData } from 'piscina';
import type { Task, TaskResults, WorkerSetup } from './messages.js';
import { Replica } from './replica.js';

const setup = workerData as WorkerSetup;
for (const url of setup.setupModules) await import(url);
const replica = new Replica(setup);

/** The piscina entry point: one typed task in, its typed result out. */
export default function run(task: Task): TaskResults[Task['kind']] {
  switch (task.kind) {
    case 'gradient':
      return replica.gradient(task);
    case 'update':
      return replica.update(task);
    case 'evaluate':
      return replica.evaluate(task);
    case 'predict':
      return replica.predict(task);
    case 'replica-forward':
      return replica.replicaForward(task);
    case 'uncertainty':
      return replica.uncertainty(task);
  }
}
