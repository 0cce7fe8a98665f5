// Run under mpirun -np 3: what the ranks that live see when the job ends, for docs/design.md ("When a
// rank stops"). Every rank writes <folder>/rank-<r>.json: the signals it got, with Date.now() at
// each. With `die`, rank 1 writes its own time and SIGKILLs itself after a barrier; without it, the
// test sends SIGTERM to mpirun once every rank has written `ready`. Survivors handle the signals and
// keep running, as lockstep does, until mpirun's SIGKILL.
import { writeFileSync } from 'node:fs';
import { mpiWorld } from '@lockstep/mpi';

const [folder, how] = process.argv.slice(2);
const world = mpiWorld();
const seen = [];
const record = () => writeFileSync(`${folder}/rank-${world.rank}.json`, JSON.stringify({ seen }));
for (const signal of ['SIGCONT', 'SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    seen.push({ signal, at: Date.now() });
    record();
  });
}
world.barrier();
if (how === 'die' && world.rank === 1) {
  writeFileSync(`${folder}/died.json`, JSON.stringify({ at: Date.now() }));
  process.kill(process.pid, 'SIGKILL');
}
record();
writeFileSync(`${folder}/ready-${world.rank}`, '');
setInterval(() => {}, 1_000);
