export { mpiAvailable, type MpiBuffer } from './native.js';
export { launchedByMpirun } from './launch.js';
export { mpiWorld, MPI_THREAD_MULTIPLE, type MpiWorld } from './world.js';
