import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { BIN } from './lockstep.js';

/** The text of a lock file as lockstep writes it, for `pid` in this process's pid namespace on this boot. */
export function lockText(command: string, pid: number): string {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const pidNamespace = readlinkSync('/proc/self/ns/pid');
  return `${JSON.stringify({ command, pid, host: hostname(), boot, pidNamespace, token: 'test' })}\n`;
}

export interface Contained {
  readonly child: ChildProcess;
  /** Resolves with unshare's exit code, which is lockstep's. */
  readonly exited: Promise<number | null>;
  /** The lockstep process's pid as this namespace sees it (inside its own namespace it is pid 1). */
  lockstepPid(): Promise<number>;
}

/** Starts `lockstep args` as PID 1 of a new pid namespace, as in a container (needs root, as `unshare` does). */
export function startInPidNamespace(args: string[], cwd: string, env: Record<string, string> = {}): Contained {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, BIN, ...args], { cwd, env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lockstepPid = async (): Promise<number> => {
    for (;;) {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      if (children !== '') return Number(children.split(' ')[0]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, exited, lockstepPid };
}

/** Resolves once `child` has printed a line containing `text`. */
export function printed(child: ChildProcess, text: string): Promise<void> {
  let output = '';
  return new Promise((resolve) =>
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    }),
  );
}
