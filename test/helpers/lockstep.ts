import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../packages/cli/bin/lockstep.js', import.meta.url));

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lockstep args` to the end in `cwd`, with `env` added to this process's environment. */
export function lockstep(args: string[], cwd: string, env: Record<string, string> = {}): Finished {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `lockstep args` and returns the child; `exited` resolves with its exit code and signal. */
export function startLockstep(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

export function fingerprintOf(output: string): string {
  const match = output.match(/^fingerprint ([0-9a-f]{16})$/m);
  if (match === null) throw new Error(`no fingerprint line in:\n${output}`);
  return match[1]!;
}

/** The fields of a metrics.jsonl line that depend only on the numbers, not on timing. */
export function numericMetrics(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .map(({ epoch, loss, accuracy, valLoss, valAccuracy }) => ({ epoch, loss, accuracy, valLoss, valAccuracy }));
}
