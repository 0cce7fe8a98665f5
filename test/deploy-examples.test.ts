import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { PersistentVolumeClaim, PodTemplateSpec } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// There is no cluster, container runtime or registry here: these tests check the deployment files'
// syntax and that their numbers, paths and names agree with each other and with the workspace. They
// run nothing.

const ROOT = new URL('../', import.meta.url);
const KUBERNETES = new URL('examples/kubernetes/', ROOT);
const read = (url: URL): string => readFileSync(url, 'utf8');

// The fields of the MPI Operator's kubeflow.org/v2beta1 API (pkg/apis/kubeflow/v2beta1/types.go):
// Kubernetes' schemas below check the pod templates, but a misspelt MPIJob field would be dropped
// silently by the API server.
const MPIJOB_SPEC_FIELDS = ['slotsPerWorker', 'runPolicy', 'mpiReplicaSpecs', 'sshAuthMountPath', 'waitForWorkers', 'mpiImplementation'];
const RUN_POLICY_FIELDS = ['cleanPodPolicy', 'ttlSecondsAfterFinished', 'activeDeadlineSeconds', 'backoffLimit', 'schedulingPolicy', 'suspend'];
const REPLICA_SPEC_FIELDS = ['replicas', 'template', 'restartPolicy'];

interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  resources: { requests: Record<string, string | number>; limits: Record<string, string | number> };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodTemplate {
  spec: { containers: Container[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] };
}
interface ReplicaSpec {
  replicas: number;
  restartPolicy: string;
  template: PodTemplate;
}
interface MPIJob {
  apiVersion: string;
  kind: string;
  spec: {
    slotsPerWorker: number;
    sshAuthMountPath: string;
    runPolicy: Record<string, unknown>;
    mpiReplicaSpecs: { Launcher: ReplicaSpec; Worker: ReplicaSpec };
  };
}

function manifests(): Record<string, unknown>[] {
  const documents = parseAllDocuments(read(new URL('mpijob.yaml', KUBERNETES)));
  if (!Array.isArray(documents)) throw new Error('mpijob.yaml holds no YAML document');
  for (const document of documents) {
    expect(document.errors.map(String)).toEqual([]);
    expect(document.warnings.map(String)).toEqual([]);
  }
  return documents.map((document) => document.toJS() as Record<string, unknown>);
}

const [claim, job] = manifests() as [{ kind: string; metadata: { name: string }; spec: { accessModes: string[] } }, MPIJob];
const { Launcher: launcher, Worker: worker } = job.spec.mpiReplicaSpecs;
const [launcherContainer] = launcher.template.spec.containers as [Container];
const [workerContainer] = worker.template.spec.containers as [Container];
const launcherScript = launcherContainer.args.join('\n');

/** The launcher's mpirun command as words, its line continuations joined. */
function mpirunWords(): string[] {
  const joined = launcherScript.replace(/\\\n\s*/g, ' ');
  const line = joined.split('\n').find((l) => /\bmpirun\b/.test(l));
  if (line === undefined) throw new Error(`no mpirun line in the launcher's script:\n${launcherScript}`);
  const lineWords = line.trim().split(/\s+/);
  return lineWords.slice(lineWords.indexOf('mpirun'));
}

function valueAfter(words: string[], flag: string): string {
  const index = words.indexOf(flag);
  if (index < 0 || index + 1 >= words.length) throw new Error(`${flag} has no value in: ${words.join(' ')}`);
  return words[index + 1]!;
}

/** The value of a plain `name=value` assignment in the launcher's script. */
function shellVariable(name: string): string {
  const match = launcherScript.match(new RegExp(`^\\s*${name}=(\\S+)$`, 'm'));
  if (match === null) throw new Error(`the launcher's script sets no ${name}`);
  return match[1]!;
}

function expand(word: string): string {
  return word.replace(/^"|"$/g, '').replace(/\$(\w+)/g, (_, name: string) => shellVariable(name));
}

const words = mpirunWords();
const lockstepWords = words.slice(words.indexOf('node') + 1);
const workersPerRank = Number(valueAfter(lockstepWords, '--workers'));
const runFolder = expand(valueAfter(lockstepWords, '--out'));

/** Dockerfile instructions as [keyword, arguments], comments dropped and continuations joined. */
function dockerfileInstructions(): [string, string][] {
  const text = read(new URL('Dockerfile', KUBERNETES));
  const logical = text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [keyword, ...rest] = line.trim().split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(' ')];
    });
}

describe('the Kubernetes example (syntax and consistency checks only: nothing is deployed or run here)', () => {
  it('mpijob.yaml is a ReadWriteMany claim and a kubeflow.org/v2beta1 MPIJob whose fields the operator knows', () => {
    expect(claim.kind).toBe('PersistentVolumeClaim');
    expect(() => new PersistentVolumeClaim(claim as never).validate()).not.toThrow();
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);

    expect(job.apiVersion).toBe('kubeflow.org/v2beta1');
    expect(job.kind).toBe('MPIJob');
    expect(MPIJOB_SPEC_FIELDS).toEqual(expect.arrayContaining(Object.keys(job.spec)));
    expect(RUN_POLICY_FIELDS).toEqual(expect.arrayContaining(Object.keys(job.spec.runPolicy)));
    expect(['All', 'Running', 'None']).toContain(job.spec.runPolicy['cleanPodPolicy']);
    expect(Object.keys(job.spec.mpiReplicaSpecs).sort()).toEqual(['Launcher', 'Worker']);
    for (const replica of [launcher, worker]) {
      expect(REPLICA_SPEC_FIELDS).toEqual(expect.arrayContaining(Object.keys(replica)));
      expect(['OnFailure', 'Never', 'ExitCode']).toContain(replica.restartPolicy);
      expect(() => new PodTemplateSpec(replica.template as never).validate()).not.toThrow();
    }
    expect(launcher.replicas).toBe(1);
  });

  it('every pod runs the same image and mounts the one claim at the same path', () => {
    const pods = [launcher.template, worker.template];
    expect(new Set(pods.map((pod) => pod.spec.containers[0]!.image)).size).toBe(1);
    const mountPaths = pods.map((pod) => {
      const volume = pod.spec.volumes.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
      expect(volume, 'a volume of the claim').toBeDefined();
      const mount = pod.spec.containers[0]!.volumeMounts.find((m) => m.name === volume!.name);
      expect(mount, 'a mount of that volume').toBeDefined();
      return mount!.mountPath;
    });
    expect(new Set(mountPaths).size).toBe(1);
    expect(runFolder.startsWith(`${mountPaths[0]}/`)).toBe(true);
  });

  it('mpirun starts lockstep train on every slot, and each worker pod has a core per worker thread', () => {
    expect(Number(valueAfter(words, '-np'))).toBe(worker.replicas * job.spec.slotsPerWorker);
    expect(valueAfter(words, '--hostfile')).toBe('/etc/mpi/hostfile');
    expect(valueAfter(words, '--bind-to')).toBe('none');
    expect(lockstepWords[1]).toBe('train');
    expect(Number.isInteger(workersPerRank) && workersPerRank > 0).toBe(true);
    expect(Number(valueAfter(lockstepWords, '--checkpoint-every'))).toBeGreaterThan(0);
    const { requests, limits } = workerContainer.resources;
    expect(Number(requests.cpu)).toBe(job.spec.slotsPerWorker * workersPerRank);
    expect(Number(limits.cpu)).toBe(Number(requests.cpu));
  });

  it('the lockstep command is the image\'s build and knows every flag the launcher passes', () => {
    const workspace = dockerfileInstructions().filter(([keyword]) => keyword === 'WORKDIR').map(([, path]) => path)[0]!;
    const bin = lockstepWords[0]!;
    expect(bin.startsWith(`${workspace}/`)).toBe(true);
    const binInRepository = new URL(bin.slice(workspace.length + 1), ROOT);
    expect(existsSync(binInRepository)).toBe(true);

    const help = spawnSync(process.execPath, [fileURLToPath(binInRepository), 'train', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    // --resume comes in through $resume, set by the script's resume test.
    const flags = [...lockstepWords.filter((word) => word.startsWith('--')), '--resume'];
    for (const flag of flags) expect(help.stdout, `lockstep train ${flag}`).toContain(`${flag} `);
  });

  it('the launcher\'s script is valid sh and resumes from the run folder\'s checkpoint when it holds one', () => {
    expect(launcherContainer.command).toEqual(['/bin/sh', '-c']);
    const syntax = spawnSync('sh', ['-n'], { input: launcherScript, encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);
    const checkpoint = `${runFolder}/checkpoint.lockstep`;
    const test = launcherScript.match(/if \[ -f (\S+) \]; then resume="--resume (\S+)"; fi/);
    expect(test, 'the resume test').not.toBeNull();
    expect([expand(test![1]!), expand(test![2]!)]).toEqual([checkpoint, checkpoint]);
    expect(lockstepWords).toContain('$resume');
  });

  it('the workers\' sshd and the launcher\'s ssh agree on the port and on where the operator mounts the keys', () => {
    expect(workerContainer.command).toEqual(['/usr/sbin/sshd']);
    const sshdConfigPath = valueAfter(workerContainer.args, '-f');
    const copy = dockerfileInstructions().find(([keyword, args]) => keyword === 'COPY' && args.endsWith(` ${sshdConfigPath}`));
    expect(copy, `a COPY to ${sshdConfigPath}`).toBeDefined();
    const source = copy![1].split(/\s+/).at(-2)!;
    const sshdConfig = read(new URL(source, ROOT));
    expect(sshdConfig).toMatch(new RegExp(`^HostKey ${job.spec.sshAuthMountPath}/id_rsa$`, 'm'));
    const sshdPort = sshdConfig.match(/^Port (\d+)$/m)?.[1];
    const clientPort = read(new URL('Dockerfile', KUBERNETES)).match(/\\n\s+Port (\d+)\\n/)?.[1];
    expect(sshdPort).toBeDefined();
    expect(clientPort).toBe(sshdPort);
  });

  it('the Dockerfile is valid: Node 20, Open MPI and OpenSSH, the README\'s pnpm, a frozen install and a build', () => {
    const text = read(new URL('Dockerfile', KUBERNETES));
    expect(validateDockerfile(text)).toEqual([]);
    const instructions = dockerfileInstructions();
    expect(instructions[0]![0]).toBe('FROM');
    expect(instructions[0]![1]).toMatch(/^node:20-/);
    const runs = instructions.filter(([keyword]) => keyword === 'RUN').map(([, command]) => command);
    const install = runs.find((command) => command.includes('apt-get install'));
    expect(install?.split(/\s+/)).toEqual(expect.arrayContaining(['openmpi-bin', 'libopenmpi-dev', 'openssh-client', 'openssh-server']));
    const pnpmVersion = read(new URL('.ci/run', ROOT)).match(/npm i -g pnpm@(\S+)/)?.[1];
    const build = runs.find((command) => command.includes('pnpm install'));
    expect(build).toContain(`npm i -g pnpm@${pnpmVersion}`);
    expect(build).toContain('pnpm install --frozen-lockfile');
    expect(build).toMatch(/pnpm build$/);
    expect(instructions.at(-1)).toEqual(['USER', 'node']);
  });
});

describe('the hostfile example (a syntax check: no mpirun is started)', () => {
  const hostfile = read(new URL('hostfile.example', KUBERNETES));
  const hosts = hostfile.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));

  it('has one "host slots=N" line per host', () => {
    expect(hosts.length).toBeGreaterThan(0);
    for (const line of hosts) expect(line).toMatch(/^[A-Za-z0-9][A-Za-z0-9.-]* slots=[1-9][0-9]*$/);
  });

  it('is the README\'s, whose mpirun command starts one rank per slot', () => {
    const readme = read(new URL('README.md', ROOT));
    expect(readme).toContain(hostfile);
    const command = readme.split('\n').find((line) => line.startsWith('mpirun ') && line.includes('--hostfile hosts'));
    expect(command).toBeDefined();
    const slots = hosts.reduce((total, line) => total + Number(line.split('slots=')[1]), 0);
    expect(Number(valueAfter(command!.split(/\s+/), '-np'))).toBe(slots);
  });
});
