// Simulated hosts for Open MPI on one machine: each host is a network namespace with one veth onto
// a bridge; mpirun runs in a namespace of its own on the same bridge and reaches the hosts through an
// rsh agent that runs a host's command inside its namespace. Neither the bridge nor anything else in
// the root namespace gets an address, so the hosts' traffic cannot leave their bridge, and parallel
// runs (each with its own bridge, all with the same addresses) cannot reach one another.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private /24 that exists only inside this machine's namespaces. */
export const SUBNET = '10.213.77.0/24';
const PREFIX = '10.213.77.';
const HEAD_ADDRESS = `${PREFIX}1`;
const hostAddress = (i) => `${PREFIX}${11 + i}`;

/** Runs `ip`/`tc` and throws one line naming the command when it fails. */
function run(command, args) {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const why = (error.stderr || error.message).trim().split('\n')[0];
    throw new Error(`${command} ${args.join(' ')}: ${why}`);
  }
}

/** Why simulated hosts cannot be made here (not root, or `ip netns` unusable), or null when they can. */
export function simulatedHostsUnavailable() {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  const probe = `lockstep-probe-${randomBytes(4).toString('hex')}`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
    run('tc', ['qdisc', 'help']);
    return null;
  } catch (error) {
    return `ip netns or tc unusable (${error.message})`;
  }
}

/** tbf's bucket: 1 MB, the size that worked at 1 Gbit/s here, or 4 ms at the rate when that is more. */
function tbfArgs(device, gbits) {
  const burst = Math.max(1 << 20, Math.ceil(((gbits * 1e9) / 8) * 0.004));
  return ['qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', `${gbits}gbit`, 'burst', String(burst), 'latency', '100ms'];
}

/**
 * Creates `count` simulated hosts (namespaces `lockstep-<id>-host<i>` at 10.213.77.11, .12, ...)
 * and mpirun's namespace (`lockstep-<id>-head`, 10.213.77.1), all on bridge `lsb<id>`, with a hostfile
 * of one slot a host and the rsh agent. `remove()` deletes all of it; it also runs at process exit,
 * and when creating fails halfway.
 */
export function createSimulatedHosts(count) {
  const id = randomBytes(3).toString('hex');
  const bridge = `lsb${id}`;
  const head = { namespace: `lockstep-${id}-head`, address: HEAD_ADDRESS, link: `lsv${id}h` };
  const hosts = Array.from({ length: count }, (_, i) => ({ namespace: `lockstep-${id}-host${i}`, address: hostAddress(i), link: `lsv${id}${i}` }));
  const dir = mkdtempSync(join(tmpdir(), 'lockstep-hosts-'));
  const made = { bridge: false, namespaces: [], links: [] };
  // Each host has a /tmp of its own, as real hosts do: Open MPI keeps its session directory there, named
  // after the hostname the hosts share, and two daemons in one (creating it, writing its hwloc.sm) can
  // fail or crash (seen: "A call to mkdir was unable to create the desired directory", and a SIGSEGV in
  // hwloc_shmem_topology_write, about 1 launch in 30).
  const hostTmp = (address) => join(dir, `tmp-${address}`);

  const remove = () => {
    process.off('exit', remove);
    // Deleting a veth deletes its peer at once; a deleted namespace would free its veth only later.
    for (const link of made.links.splice(0)) run('ip', ['link', 'del', link]);
    for (const namespace of made.namespaces.splice(0)) run('ip', ['netns', 'del', namespace]);
    if (made.bridge) run('ip', ['link', 'del', bridge]);
    made.bridge = false;
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', remove);

  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    made.bridge = true;
    run('ip', ['link', 'set', bridge, 'up']);
    for (const { namespace, address, link } of [head, ...hosts]) {
      run('ip', ['netns', 'add', namespace]);
      made.namespaces.push(namespace);
      run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`, 'netns', namespace]);
      made.links.push(link);
      run('ip', ['link', 'set', link, 'master', bridge, 'up']);
      const inside = (...args) => run('ip', ['netns', 'exec', namespace, 'ip', ...args]);
      inside('link', 'set', `${link}p`, 'name', 'eth0');
      inside('addr', 'add', `${address}/24`, 'dev', 'eth0');
      inside('link', 'set', 'eth0', 'up');
      inside('link', 'set', 'lo', 'up');
    }
    writeFileSync(join(dir, 'hostfile'), hosts.map(({ address }) => `${address} slots=1\n`).join(''));
    for (const { address } of [head, ...hosts]) mkdirSync(hostTmp(address));
    const cases = hosts.map(({ namespace, address }) => `  ${address}) ns=${namespace} ;;\n`).join('');
    // mpirun calls the agent as `agent <host> <command...>`, the way it calls ssh.
    writeFileSync(
      join(dir, 'agent'),
      `#!/bin/sh\nhost=$1; shift\ncase "$host" in\n${cases}  *) echo "no simulated host $host" >&2; exit 1 ;;\nesac\nexec ip netns exec "$ns" env TMPDIR="${join(dir, 'tmp-')}$host" sh -c "$*"\n`,
    );
    chmodSync(join(dir, 'agent'), 0o755);
  } catch (error) {
    remove();
    throw error;
  }

  return {
    hosts,
    remove,
    /**
     * The argv of `mpirun -np <ranks>` on the first `ranks` hosts, one rank each, started in mpirun's
     * namespace; Open MPI's TCP transport and its control channel use only the simulated subnet.
     */
    mpirun(ranks) {
      if (ranks > count) throw new Error(`${ranks} ranks asked of ${count} simulated hosts`);
      // The hosts share this machine's hostname and /tmp, where PMIx's shared-memory store of two jobs
      // at once can collide ("PMIX ERROR: NO-PERMISSIONS in dstore_base.c"); its hash store cannot.
      return [
        'ip', 'netns', 'exec', head.namespace, 'env', 'PMIX_MCA_gds=hash', `TMPDIR=${hostTmp(head.address)}`, 'mpirun',
        '--hostfile', join(dir, 'hostfile'), '--mca', 'plm_rsh_agent', join(dir, 'agent'),
        '--bind-to', 'none', '--mca', 'btl', 'tcp,self',
        '--mca', 'btl_tcp_if_include', SUBNET, '--mca', 'oob_tcp_if_include', SUBNET,
        '-np', String(ranks),
      ];
    },
    /** Shapes every host's link to `gbits` Gbit/s each way: tbf on both ends of its veth. */
    shape(gbits) {
      for (const { namespace, link } of hosts) {
        run('tc', tbfArgs(link, gbits));
        run('ip', ['netns', 'exec', namespace, 'tc', ...tbfArgs('eth0', gbits)]);
      }
    },
  };
}
