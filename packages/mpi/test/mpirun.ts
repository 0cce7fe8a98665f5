import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** As root, Open MPI refuses to start without both; as any other user they change nothing. */
export const RUN_AS_ROOT = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

/** More ranks than cores (--oversubscribe, unbound), talking over TCP on the loopback interface only. */
export const MPIRUN_OPTIONS = ['--oversubscribe', '--bind-to', 'none', '--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo'];

/**
 * `mpirun -np <ranks> node <script> ...args` on this machine: more ranks than cores (--oversubscribe,
 * unbound), and the ranks talk over TCP on the loopback interface only.
 */
export function mpirun(ranks: number, script: URL, args: string[] = []): SpawnSyncReturns<string> {
  return spawnSync('mpirun', [...MPIRUN_OPTIONS, '-np', String(ranks), process.execPath, script.pathname, ...args], {
    env: { ...process.env, ...RUN_AS_ROOT },
    encoding: 'utf8',
    timeout: 30_000,
  });
}
