import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedMemoryGroup, sharedMemoryRanks } from '../src/shared-memory-ranks.js';

describe('SharedMemoryGroup.allgather', () => {
  it('ranks that send different amounts both throw one E_WORKER line with every count, rather than mix the slots', async () => {
    const [rank0, rank1] = sharedMemoryRanks(2, 64);
    // Rank 1 on a thread of its own (the compiled module, as a Trainer's workers load it), sending 2 values where rank 0 sends 4.
    const other = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.module).then(({ SharedMemoryGroup }) => {
         try {
           new SharedMemoryGroup(workerData.spec).allgather(new Float32Array(2), new Float32Array(4));
           parentPort.postMessage(null);
         } catch (error) {
           parentPort.postMessage({ code: error.code, message: error.message });
         }
       });`,
      { eval: true, workerData: { spec: rank1, module: new URL('../dist/modules/shared-memory-ranks.js', import.meta.url).href } },
    );
    const heard = new Promise((resolve) => other.once('message', resolve));
    let caught: unknown = null;
    try {
      new SharedMemoryGroup(rank0!).allgather(new Float32Array(4), new Float32Array(8));
    } catch (error) {
      caught = { code: (error as { code: string }).code, message: (error as Error).message };
    }
    const counts = 'the ranks sent different amounts (rank 0 16 bytes, rank 1 8 bytes); every rank must send the same';
    expect(caught).toEqual({ code: 'E_WORKER', message: `allgather on rank 0 of 2: ${counts}` });
    expect(await heard).toEqual({ code: 'E_WORKER', message: `allgather on rank 1 of 2: ${counts}` });
    await other.terminate();
  });
});
