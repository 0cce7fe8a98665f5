// Run under mpirun: the last rank ends the job (`abort`: world.abort(3); `throw`: an uncaught error,
// so it exits 1 without MPI_Finalize, as a dead rank does) while the others wait at a barrier that
// only it could complete.
import { mpiWorld } from '@lockstep/mpi';

const [how] = process.argv.slice(2);
const world = mpiWorld();
if (world.rank === world.size - 1) {
  if (how === 'abort') world.abort(3);
  throw new Error(`rank ${world.rank} fails`);
}
world.barrier();
