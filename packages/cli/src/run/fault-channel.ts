import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { broadcastText, type RunRanks } from './ranks.js';

/**
 * The fault channel (docs/design.md, "When a rank stops"): one TCP connection from every rank to rank
 * 0, beside MPI and never through it. A rank that ends without saying goodbye (killed, out of memory)
 * has its connection closed by the kernel, so the other end learns at once which rank stopped; a rank
 * whose own training failed says so on it; rank 0 tells every rank when the job ends. One JSON object
 * a line.
 */
export type FaultMessage =
  | { readonly kind: 'hello'; readonly token: string; readonly rank: number }
  | { readonly kind: 'welcome' }
  /** A rank's own training failed during `step` (steps completed before it). */
  | { readonly kind: 'failed'; readonly step: number; readonly cause: string }
  /** The sender's training ended as it should (finished, or stopped with the others): its connection may close. */
  | { readonly kind: 'bye' }
  /** From rank 0: the job ends and rank 0 has said why; exit now. */
  | { readonly kind: 'end' };

/** What the channel reports: a rank's own failure, a rank whose connection closed without a goodbye, or (to ranks other than 0) the end of the job. */
export type FaultEvent =
  | { readonly kind: 'failed'; readonly rank: number; readonly step: number; readonly cause: string }
  | { readonly kind: 'lost'; readonly rank: number }
  | { readonly kind: 'end' };

/** How long ranks wait for each other's connections at the start before training goes on without them. */
export const CONNECT_MS = 10_000;
/** How long the last messages get to leave before the process ends. */
const FLUSH_MS = 1_000;
/** A longer line is not one of ours: the connection is dropped. */
const MAX_LINE = 64 * 1024;
/** A failure's cause is cut to this many characters. */
export const MAX_CAUSE = 2_000;

interface Rendezvous {
  readonly token: string;
  readonly port: number;
  readonly hosts: readonly string[];
}

export class FaultChannel {
  readonly rank: number;
  readonly size: number;
  /** Ranks whose connection never came (rank 0), or rank 0 itself when this rank could not reach it: nothing is heard from them. */
  readonly unreached: readonly number[];
  private readonly links: Map<number, LineReader>;
  private readonly server: Server | null;
  private readonly finished = new Set<number>();
  /** Events wait here until there is a listener: a rank may stop before this rank starts training. */
  private listener: ((event: FaultEvent) => void) | FaultEvent[] = [];
  private closed = false;

  constructor(ranks: RunRanks, links: Map<number, LineReader>, server: Server | null) {
    this.rank = ranks.rank;
    this.size = ranks.size;
    this.links = links;
    this.server = server;
    const peers = ranks.rank === 0 ? Array.from({ length: ranks.size - 1 }, (_, i) => i + 1) : [0];
    this.unreached = peers.filter((peer) => !links.has(peer));
    for (const [peer, link] of links) this.watch(peer, link);
  }

  /** Where the channel's events go, those that came before included; there is one listener. */
  onEvent(listener: (event: FaultEvent) => void): void {
    const waiting = Array.isArray(this.listener) ? this.listener : [];
    this.listener = listener;
    for (const event of waiting) this.report(event);
  }

  /** To rank 0: this rank's training failed during `step`. */
  reportFailure(step: number, cause: string): void {
    this.send(0, { kind: 'failed', step, cause: cause.slice(0, MAX_CAUSE) });
  }

  /** From rank 0: every other rank is to exit now, since rank 0 has said why the job ends; resolves once the messages are sent (at most 1 s). */
  async endJob(): Promise<void> {
    await Promise.all([...this.links.keys()].map((peer) => this.send(peer, { kind: 'end' })));
  }

  /** Says goodbye and closes: a training that ended as it should. Nothing is reported afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { socket } of this.links.values()) if (!socket.destroyed) socket.end(line({ kind: 'bye' }));
    this.links.clear();
    this.server?.close();
  }

  private send(peer: number, message: FaultMessage): Promise<void> {
    const socket = this.links.get(peer)?.socket;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, FLUSH_MS);
      socket.write(line(message), () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private watch(peer: number, link: LineReader): void {
    link.handle = (message) => {
      if (message.kind === 'bye') this.finished.add(peer);
      else if (message.kind === 'failed' && this.rank === 0) this.report({ kind: 'failed', rank: peer, step: Number(message.step), cause: String(message.cause).slice(0, MAX_CAUSE) });
      else if (message.kind === 'end' && peer === 0) this.report({ kind: 'end' });
    };
    const lost = (): void => {
      if (!this.finished.has(peer)) this.report({ kind: 'lost', rank: peer });
    };
    if (link.socket.destroyed) lost();
    else link.socket.on('close', lost);
  }

  private report(event: FaultEvent): void {
    if (this.closed) return;
    if (Array.isArray(this.listener)) this.listener.push(event);
    else this.listener(event);
  }
}

/**
 * Opens the channel of a run across ranks: rank 0 listens on a port of every address it has and
 * broadcasts them (MPI_Bcast, from the main thread before training) with a token; every other rank
 * connects to all of them at once and keeps the first that answers with the token. Rank 0 waits up to
 * 10 s for every rank; a rank that cannot reach it trains on, and a stop of it is then told by mpirun
 * alone. Null for a run of one process.
 */
export async function openFaultChannel(ranks: RunRanks): Promise<FaultChannel | null> {
  if (ranks.world === null || ranks.size === 1) return null;
  if (ranks.rank === 0) {
    const token = randomBytes(16).toString('hex');
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, () => resolve((server.address() as { port: number }).port)));
    server.unref();
    broadcastText(ranks, JSON.stringify({ token, port, hosts: localHosts() } satisfies Rendezvous));
    return new FaultChannel(ranks, await acceptRanks(server, token, ranks.size), server);
  }
  const rendezvous = JSON.parse(broadcastText(ranks, '')) as Rendezvous;
  const link = await reachRankZero(rendezvous, ranks.rank);
  return new FaultChannel(ranks, link === null ? new Map() : new Map([[0, link]]), null);
}

/** Every address of this host, IPv4 first; IPv6 link-local ones need a zone and are left out. */
function localHosts(): string[] {
  const all = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  const usable = all.filter((entry) => !(entry.family === 'IPv6' && entry.address.toLowerCase().startsWith('fe80')));
  return [...usable.filter((entry) => entry.family === 'IPv4'), ...usable.filter((entry) => entry.family === 'IPv6')].map((entry) => entry.address);
}

/** Rank 0: the connection of every rank that says hello with the token, until all came or 10 s passed. */
function acceptRanks(server: Server, token: string, size: number): Promise<Map<number, LineReader>> {
  const links = new Map<number, LineReader>();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      server.off('connection', onConnection);
      server.on('connection', (late: Socket) => late.destroy());
      resolve(links);
    };
    const timer = setTimeout(done, CONNECT_MS);
    const onConnection = (socket: Socket): void => {
      socket.unref();
      socket.setNoDelay(true);
      const link = new LineReader(socket);
      link.handle = (message) => {
        link.handle = () => {};
        const rank = message.kind === 'hello' && message.token === token ? message.rank : -1;
        if (!Number.isInteger(rank) || rank < 1 || rank >= size || links.has(rank)) return void socket.destroy();
        socket.write(line({ kind: 'welcome' }));
        links.set(rank, link);
        if (links.size === size - 1) done();
      };
    };
    server.on('connection', onConnection);
  });
}

/** Another rank: connects to every address of rank 0 at once and keeps the first that welcomes it; null after 10 s. */
function reachRankZero({ token, port, hosts }: Rendezvous, rank: number): Promise<LineReader | null> {
  return new Promise((resolve) => {
    const tries = new Set<Socket>();
    let settled = false;
    const settle = (chosen: LineReader | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const socket of tries) if (socket !== chosen?.socket) socket.destroy();
      resolve(chosen);
    };
    const timer = setTimeout(() => settle(null), CONNECT_MS);
    for (const host of hosts) {
      const socket = createConnection({ host, port });
      tries.add(socket);
      socket.unref();
      socket.setNoDelay(true);
      const link = new LineReader(socket);
      socket.on('close', () => {
        tries.delete(socket);
        if (tries.size === 0) settle(null);
      });
      socket.on('connect', () => socket.write(line({ kind: 'hello', token, rank })));
      link.handle = (message) => {
        link.handle = () => {};
        if (message.kind === 'welcome') settle(link);
        else socket.destroy();
      };
    }
    if (hosts.length === 0) settle(null);
  });
}

const line = (message: FaultMessage): string => `${JSON.stringify(message)}\n`;

/** Parses `socket`'s lines as messages for whatever `handle` holds when each arrives; a line that does not parse, or grows too long, drops the connection. */
class LineReader {
  handle: (message: FaultMessage) => void = () => {};
  private pending = '';

  constructor(readonly socket: Socket) {
    // A decoder keeps a character whose bytes arrive in two chunks whole.
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.read(chunk));
    socket.on('error', () => socket.destroy());
  }

  private read(chunk: string): void {
    this.pending += chunk;
    for (let end = this.pending.indexOf('\n'); end >= 0 && !this.socket.destroyed; end = this.pending.indexOf('\n')) {
      const text = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 1);
      let message: FaultMessage;
      try {
        message = JSON.parse(text) as FaultMessage;
      } catch {
        this.socket.destroy();
        return;
      }
      this.handle(message);
    }
    if (this.pending.length > MAX_LINE) this.socket.destroy();
  }
}
