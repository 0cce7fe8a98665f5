import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The environment of mpirun in tests: as root, Open MPI refuses to start without the first two (as
 * any other user they change nothing); PMIx's hash store, because two jobs started at once on one
 * machine can collide in its shared-memory store (PMIX ERROR: NO-PERMISSIONS).
 */
export const MPIRUN_ENV = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', PMIX_MCA_gds: 'hash' };

/** More ranks than cores (--oversubscribe, unbound), talking over TCP on the loopback interface only. */
export const MPIRUN_OPTIONS = ['--oversubscribe', '--bind-to', 'none', '--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo'];

/**
 * `mpirun -np <ranks> node <script> ...args` on this machine: more ranks than cores (--oversubscribe,
 * unbound), and the ranks talk over TCP on the loopback interface only.
 */
export function mpirun(ranks: number, script: URL, args: string[] = []): SpawnSyncReturns<string> {
  return spawnSync('mpirun', [...MPIRUN_OPTIONS, '-np', String(ranks), process.execPath, fileURLToPath(script), ...args], {
    env: { ...process.env, ...MPIRUN_ENV },
    encoding: 'utf8',
    timeout: 30_000,
  });
}
