// Run under mpirun: exercises every collective and writes what this rank saw to <folder>/rank-<r>.json,
// for packages/mpi/test/mpi.test.ts to check against its own expectations.
import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { launchedByMpirun, mpiWorld } from '@lockstep/mpi';
import { hex, pattern } from './pattern.mjs';

const [folder] = process.argv.slice(2);
const world = mpiWorld();
const { rank, size } = world;
const SENT = 5;

function caught(call) {
  try {
    call();
    return null;
  } catch (error) {
    return { name: error.name, code: error.code, message: error.message };
  }
}

const allgather = {};
for (const Type of [Float32Array, Float64Array, Int32Array, Uint8Array]) {
  const send = new Type(pattern(rank, SENT * Type.BYTES_PER_ELEMENT).buffer);
  const receive = new Type(SENT * size);
  world.allgather(send, receive);
  allgather[Type.name] = hex(receive);
}

const root = size - 1;
const broadcast = rank === root ? new Float64Array(pattern(rank, 3 * 8).buffer) : new Float64Array(3);
world.broadcast(broadcast, root);

const badLength = caught(() => world.allgather(new Float32Array(2), new Float32Array(2 * size - 1)));
const badRoot = caught(() => world.broadcast(new Float32Array(1), size));

// A worker thread joins the world the main thread initialized and gathers into views of a shared
// WebAssembly memory, which the main thread then reads.
const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
const worker = new Worker(new URL('./worker-allgather.mjs', import.meta.url), { workerData: { buffer: memory.buffer } });
const fromWorker = await new Promise((resolve, reject) => {
  worker.once('message', resolve);
  worker.once('error', reject);
});
await new Promise((resolve) => worker.once('exit', resolve));
const workerReceived = hex(new Uint8Array(memory.buffer, fromWorker.receiveOffset, fromWorker.receiveBytes));

world.barrier();
const report = {
  rank,
  size,
  threadLevel: world.threadLevel,
  launchedByMpirun: launchedByMpirun(),
  sameWorld: mpiWorld() === world,
  allgather,
  broadcast: hex(broadcast),
  badLength,
  badRoot,
  worker: { ...fromWorker, received: workerReceived },
};
writeFileSync(`${folder}/rank-${rank}.json`, JSON.stringify(report));
