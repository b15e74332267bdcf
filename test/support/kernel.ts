import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readTcpTable, socketInodesOf, type TcpEntry } from '../../src/emulator/sockets.js';
import type { OriginalDouble } from './original-double.js';
import type { ProcessPeer } from './processes.js';

/**
 * "One connection per pair" as the kernel sees it (`/proc/net/tcp*`), attributed to peers by who
 * holds each end: a process by its `/proc/PID/fd` socket inodes, a double in the test process by
 * the ports at both ends of its open sockets. Nothing here asks a peer what it believes.
 */
export interface Endpoint {
  /** How the others name it: `127.0.0.1:PORT`. */
  readonly name: string;
  /** Its listening port: a connection accepted there is its end. */
  readonly port: number;
  /** Whether a socket of the table is its own (called on a fresh snapshot). */
  readonly owns: (entry: TcpEntry) => boolean;
}

export function processEndpoint(peer: ProcessPeer): Endpoint {
  const inodes = socketInodesOf(peer.pid);
  return { name: peer.address, port: peer.port, owns: (e) => inodes.has(e.inode) };
}

export function doubleEndpoint(double: OriginalDouble): Endpoint {
  const ends = double.socketEnds();
  return {
    name: double.advertised,
    port: double.port,
    owns: (e) =>
      e.inode !== 0 &&
      ends.has(`${e.localPort}>${e.remotePort}`) &&
      e.remoteAddress.startsWith('127.'),
  };
}

export interface PairCount {
  /** Established connections joining each pair (`a|b`, names sorted), dialed either way. */
  readonly perPair: Map<string, number>;
  /** The accepted end of each of those connections, by pair. */
  readonly connections: Map<string, TcpEntry[]>;
  /** Established connections accepted by one of them but dialed by none of them (e.g. probes). */
  readonly strays: TcpEntry[];
}

const key = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** Counts the established connections between every two endpoints, from a snapshot of the table. */
export function countPairs(endpoints: readonly Endpoint[], table = readTcpTable()): PairCount {
  const established = table.filter((e) => e.state === 'ESTABLISHED');
  const byEnds = new Map<string, TcpEntry>();
  for (const e of established)
    byEnds.set(`${e.localAddress}:${e.localPort}>${e.remoteAddress}:${e.remotePort}`, e);
  const perPair = new Map<string, number>();
  for (let i = 0; i < endpoints.length; i++)
    for (let j = i + 1; j < endpoints.length; j++)
      perPair.set(key(endpoints[i]?.name ?? '', endpoints[j]?.name ?? ''), 0);
  const strays: TcpEntry[] = [];
  const connections = new Map<string, TcpEntry[]>();
  for (const accepted of established) {
    const acceptor = endpoints.find((p) => p.port === accepted.localPort && p.owns(accepted));
    if (acceptor === undefined) continue;
    const dialing = byEnds.get(
      `${accepted.remoteAddress}:${accepted.remotePort}>${accepted.localAddress}:${accepted.localPort}`,
    );
    const dialer = dialing && endpoints.find((p) => p !== acceptor && p.owns(dialing));
    if (dialer === undefined) strays.push(accepted);
    else {
      const k = key(acceptor.name, dialer.name);
      perPair.set(k, (perPair.get(k) ?? 0) + 1);
      connections.set(k, [...(connections.get(k) ?? []), accepted]);
    }
  }
  return { perPair, connections, strays };
}

/** The pairs not joined by exactly one connection, as `a|b=count`, for assertion messages. */
export function pairsNotOne(count: PairCount): string[] {
  return [...count.perPair].filter(([, n]) => n !== 1).map(([k, n]) => `${k}=${n}`);
}

/**
 * A process's TCP sockets that are neither its listener nor an established connection (e.g.
 * CLOSE_WAIT: the other end closed and this one never did), as `state local>remote`.
 */
export function leftoverSockets(peer: ProcessPeer, table = readTcpTable()): string[] {
  const inodes = socketInodesOf(peer.pid);
  return table
    .filter((e) => inodes.has(e.inode))
    .filter(
      (e) => !(e.state === 'LISTEN' && e.localPort === peer.port) && e.state !== 'ESTABLISHED',
    )
    .map((e) => `${e.state} ${e.localAddress}:${e.localPort}>${e.remoteAddress}:${e.remotePort}`);
}

/**
 * Resolves once `check()` holds, polling every `everyMs`: the kernel's table changes without any
 * event to wait on. Rejects after `timeoutMs` with `what` and the last `describe()`.
 */
export async function poll(
  check: () => boolean,
  what: string,
  timeoutMs: number,
  describe: () => string = () => '',
  everyMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves if `check()` holds all along `forMs` (polled every `everyMs`); rejects as soon as it
 * does not, with `what` and `describe()`. For "and it stays so" after a condition was reached.
 */
export async function holds(
  check: () => boolean,
  what: string,
  forMs: number,
  describe: () => string = () => '',
  everyMs = 100,
): Promise<void> {
  const end = performance.now() + forMs;
  while (performance.now() < end) {
    if (!check()) throw new Error(`${what} did not hold for ${forMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Cuts a TCP connection from outside, as a network failure would: `ss -K` makes the kernel abort
 * the socket (both ends see a reset). Resolves with whether it is gone from the table: `ss -K`
 * needs a kernel built with CONFIG_INET_DIAG_DESTROY and the right to use it.
 */
export async function cut(entry: TcpEntry): Promise<boolean> {
  const end = (address: string, port: number) => `${address}:${port}`;
  try {
    await promisify(execFile)('ss', [
      '-K',
      '-t',
      'src',
      end(entry.localAddress, entry.localPort),
      'dst',
      end(entry.remoteAddress, entry.remotePort),
    ]);
  } catch {
    // ss reports an error for a table it cannot act on (e.g. IPv6); what counts is the table.
  }
  return !readTcpTable().some((e) => e.inode === entry.inode && e.state === 'ESTABLISHED');
}
