import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf, lockstep, startLockstep } from './helpers/lockstep.js';
import { printed, startInPidNamespace } from './helpers/pid-namespace.js';

// Runs in separate pid namespaces stand for containers sharing a volume: pids mean nothing across
// them, so the lock must hold by its heartbeat. Each run here is PID 1 of its namespace.
const work = mkdtempSync(join(tmpdir(), 'lockstep-lock-ns-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'small.json'), JSON.stringify({ hidden: [32], epochs: 2 }));
const train = ['train', '--config', 'small.json', '--workers', '1'];

const elsewhere = (folder: string, pid: number, command = 'train'): RegExp =>
  new RegExp(
    `^lockstep: ${folder} is in use by another lockstep ${command} \\(pid ${pid} on ${hostname()}, in another pid namespace or host; heartbeat \\d+ s ago; ` +
      `lock file ${folder}/lockstep.lock\\); wait for it to end \\(its lock is taken over 30 s after its heartbeat stops\\) or choose another --out\\n$`,
  );

describe('the run-folder lock across pid namespaces', () => {
  it('a run in another pid namespace cannot take over a live run, whose pid it cannot see', async () => {
    const live = startLockstep([...train, '--epochs', '1000', '--out', 'shared', '--json'], work);
    await printed(live.child, '"event":"info"');
    const intruder = startInPidNamespace([...train, '--out', 'shared'], work);
    let stderr = '';
    intruder.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await intruder.exited).toBe(1);
    expect(stderr).toMatch(elsewhere('shared', live.child.pid!));
    live.child.kill('SIGTERM');
    expect((await live.exited).code).toBe(143);
    expect(existsSync(join(work, 'shared', 'lockstep.lock'))).toBe(false);
  });

  it('the lock of a container killed with SIGKILL (its pid 1 is alive everywhere) is refused while fresh and taken over once its heartbeat is 30 s old', async () => {
    const fresh = fingerprintOf(lockstep([...train, '--out', 'fresh', '--quiet'], work).stdout);
    const killed = startInPidNamespace([...train, '--epochs', '1000', '--out', 'gone', '--json'], work);
    await printed(killed.child, '"event":"info"');
    process.kill(await killed.lockstepPid(), 'SIGKILL');
    await killed.exited;
    const lock = join(work, 'gone', 'lockstep.lock');
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ command: 'train', pid: 1 });

    const refused = lockstep([...train, '--out', 'gone'], work);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(elsewhere('gone', 1));

    const heartbeat = new Date(Date.now() - 40_000);
    utimesSync(lock, heartbeat, heartbeat);
    // The killed run left its config.json and no checkpoint, so the new run takes the folder with --overwrite.
    const run = lockstep([...train, '--out', 'gone', '--overwrite'], work);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^note: took over the lock of gone from a run whose heartbeat stopped 4\\d s ago \\(pid 1 on ${hostname()}\\)$`));
    expect(fingerprintOf(run.stdout)).toBe(fresh);
    expect(existsSync(lock)).toBe(false);
  });

  it('a run that is PID 1 stops on SIGTERM: it saves, frees the lock, exits 143, and its resume ends on the uninterrupted fingerprint', async () => {
    const straight = fingerprintOf(lockstep([...train, '--out', 'straight', '--quiet'], work).stdout);
    // Pausing in every checkpoint write makes the run last long enough for the signal to come mid-run.
    const run = startInPidNamespace([...train, '--checkpoint-every', '1', '--out', 'pid1'], work, { LOCKSTEP_TEST_SLOW_WRITES_MS: '10' });
    let stdout = '';
    run.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await printed(run.child, 'run folder pid1');
    process.kill(await run.lockstepPid(), 'SIGTERM');
    expect(await run.exited).toBe(143);
    expect(stdout).toMatch(/^interrupted after step \d+ \(epoch \d, batch \d+\); resume with: lockstep train --resume pid1\/checkpoint\.lockstep$/m);
    expect(existsSync(join(work, 'pid1', 'lockstep.lock'))).toBe(false);
    const resumed = lockstep(['train', '--resume', 'pid1/checkpoint.lockstep', '--quiet'], work);
    expect(resumed.stderr).toBe('');
    expect(fingerprintOf(resumed.stdout)).toBe(straight);
  });
});
