// Without mpirun: a worker thread asks for the world before the main thread initialized MPI; the main
// thread prints the error it got, as JSON.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { mpiWorld } from '@lockstep/mpi';

if (isMainThread) {
  new Worker(new URL(import.meta.url)).once('message', (error) => console.log(JSON.stringify(error)));
} else {
  try {
    mpiWorld();
    parentPort.postMessage(null);
  } catch (error) {
    parentPort.postMessage({ name: error.name, code: error.code, message: error.message });
  }
}
