// A worker thread of a process whose main thread initialized MPI: allgather between views of a
// SharedArrayBuffer (a shared WebAssembly memory's).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mpiWorld } from '@lockstep/mpi';
import { pattern } from './pattern.mjs';

const SENT = 4;
const RECEIVE_OFFSET = 64;
const world = mpiWorld();
const send = new Float32Array(workerData.buffer, 0, SENT);
new Uint8Array(send.buffer, send.byteOffset, send.byteLength).set(pattern(world.rank + 100, send.byteLength));
const receive = new Float32Array(workerData.buffer, RECEIVE_OFFSET, SENT * world.size);
world.allgather(send, receive);
parentPort.postMessage({
  isMainThread,
  rank: world.rank,
  size: world.size,
  threadLevel: world.threadLevel,
  shared: receive.buffer instanceof SharedArrayBuffer,
  receiveOffset: RECEIVE_OFFSET,
  receiveBytes: receive.byteLength,
});
