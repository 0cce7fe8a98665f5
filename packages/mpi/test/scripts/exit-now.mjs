// Run under mpirun -np 2: rank 0's worker thread waits in an allgather that rank 1 never joins, as a
// survivor's does when a peer died; rank 0's main thread then ends its process with world.exitNow(3)
// (process.exit would wait for that thread forever). Its 'exit' listeners run first: one writes
// <folder>/exit-listener.txt. mpirun then ends rank 1, which would otherwise sleep a minute.
import { writeFileSync } from 'node:fs';
import { isMainThread, Worker } from 'node:worker_threads';
import { mpiWorld } from '@lockstep/mpi';

const world = mpiWorld();
if (!isMainThread) {
  world.allgather(new Float64Array(1), new Float64Array(world.size));
} else if (world.rank === 0) {
  const [folder] = process.argv.slice(2);
  new Worker(new URL(import.meta.url), { argv: process.argv.slice(2) });
  process.on('exit', (code) => writeFileSync(`${folder}/exit-listener.txt`, `exit listener saw code ${code}`));
  setTimeout(() => world.exitNow(3), 300);
} else {
  setTimeout(() => {}, 60_000);
}
