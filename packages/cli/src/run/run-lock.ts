import { randomInt, randomUUID } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export const LOCK_FILE = 'lockstep.lock';

/** How often the holder touches its lock file, to show that it still runs. */
export const HEARTBEAT_MS = 5_000;
/** A lock whose heartbeat is older than this is taken over: its holder is gone or cut off. */
export const STALE_MS = 30_000;

/** Who holds a lock, recorded in the lock file as JSON. */
interface Owner {
  readonly command: string;
  readonly pid: number;
  readonly host: string;
  /** Changes at every boot, so a pid from before a reboot is never taken for a live one. */
  readonly boot: string;
  /** A pid means something only inside its pid namespace: containers, and unshare, each have their own. */
  readonly pidNamespace: string;
  /** Tells this holder from any other, whatever their pids. */
  readonly token: string;
}

export interface RunLock {
  /** Set when this run took over a lock whose holder had stopped: says which run that was. */
  readonly tookOver: string | null;
  /** Removes the lock if it is still this run's; safe to call more than once. */
  release(): void;
}

const readOr = (read: () => string): string => {
  try {
    return read().trim();
  } catch {
    return '';
  }
};
const here = {
  host: hostname(),
  boot: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  pidNamespace: readOr(() => readlinkSync('/proc/self/ns/pid')),
};

/**
 * Claims a run folder for this process, like flock(2) but correct across containers and hosts that
 * share the folder. `lockstep.lock` appears whole (written aside, then hard-linked into place, which
 * fails if it exists) and names its holder; the holder touches it every 5 s. Another run is refused
 * while the lock is fresh. A lock is stale, and is taken over, when its heartbeat is 30 s old, or at
 * once when its holder is in this pid namespace on this boot and its pid no longer runs (kill -9).
 */
export function lockRunFolder(folder: string, command: string): RunLock {
  const path = join(folder, LOCK_FILE);
  const me: Owner = { command, pid: process.pid, ...here, token: randomUUID() };
  const text = `${JSON.stringify(me)}\n`;
  let tookOver: string | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(path, text)) return hold(path, text, folder, tookOver);
    const seen = inspect(path);
    if (seen === undefined) continue;
    if (seen.stale === null) throw inUse(folder, path, seen.owner!, seen.ageMs);
    if (takeOver(path, seen.text)) tookOver = seen.stale;
  }
  throw new UserError(`cannot lock ${folder}: other runs keep claiming it; choose another --out`);
}

/** A temporary name in `folder` that the next holder's sweep of stray temporaries removes if this process dies. */
const temporary = (path: string): string => `${path}.tmp-${randomInt(2 ** 47)}`;

function create(path: string, text: string): boolean {
  const written = temporary(path);
  try {
    writeFileSync(written, text);
    linkSync(written, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    throw new UserError(`cannot create the lock file ${path}: ${code}; check that the folder is writable`);
  } finally {
    rmSync(written, { force: true });
  }
}

/** The lock's text, holder and heartbeat age, and why it is stale (null while it is held); undefined when it is gone. */
function inspect(path: string): { text: string; owner: Owner | null; ageMs: number; stale: string | null } | undefined {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(path, 'utf8');
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  const owner = parse(text);
  // Locks appear whole, so one without a holder was cut short by a crash or a full disk.
  if (owner === null) return { text, owner, ageMs, stale: 'a run that is no longer running' };
  const who = `pid ${owner.pid}${samePidSpace(owner) ? '' : ` on ${owner.host}`}`;
  if (ageMs > STALE_MS) return { text, owner, ageMs, stale: `a run whose heartbeat stopped ${seconds(ageMs)} s ago (${who})` };
  if (samePidSpace(owner) && !isRunning(owner.pid)) return { text, owner, ageMs, stale: `a run that is no longer running (${who})` };
  return { text, owner, ageMs, stale: null };
}

function parse(text: string): Owner | null {
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.token === 'string' ? (owner as Owner) : null;
  } catch {
    return null;
  }
}

/** Whether `owner`'s pid can be checked here: the same boot and pid namespace (and so the same host). */
const samePidSpace = (owner: Owner): boolean =>
  owner.host === here.host && owner.boot === here.boot && owner.pidNamespace === here.pidNamespace;

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(folder: string, path: string, owner: Owner, ageMs: number): UserError {
  if (samePidSpace(owner)) {
    return new UserError(`${folder} is in use by another lockstep ${owner.command} (pid ${owner.pid}, lock file ${path}); wait for it to end or choose another --out`);
  }
  return new UserError(
    `${folder} is in use by another lockstep ${owner.command} (pid ${owner.pid} on ${owner.host}, in another pid namespace or host; ` +
      `heartbeat ${seconds(ageMs)} s ago; lock file ${path}); wait for it to end (its lock is taken over ${STALE_MS / 1000} s after its heartbeat stops) or choose another --out`,
  );
}

/**
 * Moves the stale lock aside before deleting it, so that of two runs taking over at once, the slower
 * cannot delete the lock the faster has just created: it finds that lock aside and puts it back.
 */
function takeOver(path: string, stale: string): boolean {
  const aside = temporary(path);
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  try {
    if (readFileSync(aside, 'utf8') === stale) return true;
    linkSync(aside, path);
  } catch {
    // Another run has claimed the folder meanwhile; the loser's heartbeat finds out.
  } finally {
    rmSync(aside, { force: true });
  }
  return false;
}

/** Keeps the lock fresh while this process runs, and removes it however the process ends. */
function hold(path: string, text: string, folder: string, tookOver: string | null): RunLock {
  const mine = (): boolean => readOr(() => readFileSync(path, 'utf8')) === text.trim();
  const heartbeat = setInterval(() => {
    if (!mine()) return lost();
    const now = new Date();
    utimesSync(path, now, now);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = (): void => {
    clearInterval(heartbeat);
    process.off('exit', release);
    if (mine()) rmSync(path, { force: true });
  };
  // The folder now belongs to another run, so nothing more may be written there: stop at once.
  const lost = (): void => {
    release();
    process.stderr.write(`lockstep: lost the lock of ${folder} to another run (this process missed its heartbeats for ${STALE_MS / 1000} s: was it suspended?); stopping without writing more there\n`);
    process.exit(1);
  };
  process.once('exit', release);
  return { tookOver, release };
}
