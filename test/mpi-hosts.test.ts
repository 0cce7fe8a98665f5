import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mpiAvailable } from '@lockstep/mpi';
import { MPIRUN_ENV } from '../packages/mpi/test/mpirun.js';
import { createSimulatedHosts, simulatedHostsUnavailable, SUBNET } from '../tools/mpi/hosts.mjs';
import { BIN, fingerprintOf, lockstep } from './helpers/lockstep.js';

// As in test/mpi-train.test.ts: 7 chunks a step, uneven over 2 and 3 ranks.
const common = ['--epochs', '2', '--batch-size', '112', '--chunk-size', '16', '--quiet'];
/**
 * Open MPI's rsh launcher calls setpgid on each agent it starts, which fails (and it says so) when
 * the agent has already exec'd under load; the agent has set its own process group, so nothing is lost.
 */
function withoutSetpgidRace(stderr: string): string {
  return stderr.replace(/^\[[^\]]*\] plm:rsh: Warning: setpgid\(\d+,\d+\) failed in parent with errno=Permission denied\(13\)\n+/gm, '');
}

const unavailable = mpiAvailable() ? simulatedHostsUnavailable() : 'Open MPI or the addon is missing';

describe.skipIf(unavailable !== null)(`lockstep train across simulated hosts (network namespaces on a bridge, Open MPI over TCP in ${SUBNET})${unavailable === null ? '' : `: skipped, ${unavailable}`}`, () => {
  // The run folders live on this machine's file system, which every namespace shares.
  const work = mkdtempSync(join(tmpdir(), 'lockstep-hosts-'));
  let hosts: ReturnType<typeof createSimulatedHosts>;
  let single = '';

  beforeAll(() => {
    hosts = createSimulatedHosts(3);
    single = fingerprintOf(lockstep(['train', ...common, '--workers', '1', '--out', 'single'], work).stdout);
  });
  afterAll(() => {
    hosts?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  /** `mpirun -np ranks` on the simulated hosts, run in `work`. */
  function onHosts(ranks: number, program: string[]) {
    const [command, ...args] = hosts.mpirun(ranks);
    return spawnSync(command!, [...args, ...program], { cwd: work, env: { ...process.env, ...MPIRUN_ENV }, encoding: 'utf8', timeout: 60_000 });
  }

  it('each of 3 ranks runs in its own host namespace, whose only link outside lo is its veth with its address', () => {
    const run = onHosts(3, ['sh', '-c', 'echo $OMPI_COMM_WORLD_RANK $(ip -4 -o addr show | grep -v " lo " | cut -d" " -f2,7)']);
    expect(withoutSetpgidRace(run.stderr)).toBe('');
    expect(run.stdout.trim().split('\n').sort()).toEqual(['0 eth0 10.213.77.11/24', '1 eth0 10.213.77.12/24', '2 eth0 10.213.77.13/24']);
  });

  it.each([2, 3])('%i hosts, one rank each: the fingerprint of one process, printed once, and rank 0 writes the run folder', (ranks) => {
    const out = `hosts-${ranks}`;
    const run = onHosts(ranks, [process.execPath, BIN, 'train', ...common, '--workers', '1', '--out', out]);
    expect(withoutSetpgidRace(run.stderr)).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`fingerprint ${single}\n`);
    expect(readdirSync(join(work, out)).sort()).toEqual(['checkpoint.lockstep', 'config.json', 'curves.html', 'curves.svg', 'metrics.jsonl']);
    expect(JSON.parse(readFileSync(join(work, out, 'config.json'), 'utf8'))).toMatchObject({ ranks, workers: 1 });
  });
});
