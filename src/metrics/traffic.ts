import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { FrameTally } from './frame-tally.js';

/**
 * The one tap on this thread's TCP sockets: Node publishes every new socket on the
 * `net.server.socket` (accepted) and `net.client.socket` (dialed) diagnostics channels before it
 * reaches the code that owns it, so what the sockets do is seen without touching the peers. Two
 * readers share the tap: the per-peer byte meter of `--metrics` (`SocketBytes`, via
 * `watchSockets`) and the thread's traffic counts the emulator asks for (`countTraffic`).
 */

/** Which side of a connection a new socket is. */
export type SocketSide = 'accepted' | 'dialed';
export type SocketWatcher = (socket: Socket, side: SocketSide) => void;

const watchers = new Set<SocketWatcher>();
const onAccepted = (message: unknown): void => tell(message, 'accepted');
const onDialed = (message: unknown): void => tell(message, 'dialed');

function tell(message: unknown, side: SocketSide): void {
  const socket = (message as { socket?: Socket }).socket;
  if (socket === undefined) return;
  for (const watcher of watchers) watcher(socket, side);
}

/** Hands every socket this thread opens or accepts from now on to `watcher`; returns its undo. */
export function watchSockets(watcher: SocketWatcher): () => void {
  if (watchers.size === 0) {
    subscribe('net.server.socket', onAccepted);
    subscribe('net.client.socket', onDialed);
  }
  watchers.add(watcher);
  return () => {
    if (!watchers.delete(watcher) || watchers.size > 0) return;
    unsubscribe('net.server.socket', onAccepted);
    unsubscribe('net.client.socket', onDialed);
  };
}

/** What the TCP sockets of one thread did since it started counting. */
export interface TrafficCounts {
  /**
   * Connections accepted by a listener of this thread. Every connection between hosted peers is
   * accepted by one of them, so the sum over the threads is every TCP connection opened: dials,
   * losing duplicates and proof probes alike (a dial refused opens none).
   */
  readonly accepted: number;
  /** Client sockets created: every dial and probe attempted, refused ones included. */
  readonly dialed: number;
  /** Bytes read and written by this thread's sockets, open and closed. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** `known_peers` frames received on this thread's sockets, and their bytes (headers included). */
  readonly peerListFrames: number;
  readonly peerListBytes: number;
}

const ZERO: TrafficCounts = {
  accepted: 0,
  dialed: 0,
  bytesIn: 0,
  bytesOut: 0,
  peerListFrames: 0,
  peerListBytes: 0,
};
const counts = { ...ZERO };
/** Sockets still open; a closed one's bytes are already in `counts` (it keeps them after close). */
const open = new Set<Socket>();
let counting = false;

/**
 * The counts of this turn of the event loop, once taken: the host asks every peer of a thread for
 * them at once (1,000 `report` commands a thread at N = 2,000), and each sum walks the thread's
 * 5,000 open sockets: 9 % of a worker's time in the drain after the window, while deliveries
 * were still on their way (node --cpu-prof, N = 1,000 overlay).
 */
let thisTurn: TrafficCounts | undefined;

/**
 * Received frames are tallied, not sent ones: a second 'data' listener sees every chunk the peer
 * sees and changes nothing (it sets the socket flowing, as the peer's own listener does a moment
 * later), while wrapping `write` would reach into the peer's sockets.
 */
function count(socket: Socket, side: SocketSide): void {
  thisTurn = undefined;
  counts[side]++;
  open.add(socket);
  socket.once('close', () => {
    thisTurn = undefined;
    open.delete(socket);
    counts.bytesIn += socket.bytesRead;
    counts.bytesOut += socket.bytesWritten;
  });
  const tally = new FrameTally();
  socket.on('data', (chunk: Buffer) => {
    thisTurn = undefined;
    const { frames, bytes } = tally.push(chunk);
    counts.peerListFrames += frames;
    counts.peerListBytes += bytes;
  });
}

/** Starts counting this thread's sockets, for the rest of its life (later calls do nothing). */
export function countTraffic(): void {
  if (counting) return;
  counting = true;
  watchSockets(count);
}

/** This thread's counts so far (zeros until `countTraffic` was called). */
export function trafficCounts(): TrafficCounts {
  if (thisTurn !== undefined) return thisTurn;
  let bytesIn = counts.bytesIn;
  let bytesOut = counts.bytesOut;
  for (const socket of open) {
    bytesIn += socket.bytesRead;
    bytesOut += socket.bytesWritten;
  }
  thisTurn = { ...counts, bytesIn, bytesOut };
  setImmediate(() => {
    thisTurn = undefined;
  });
  return thisTurn;
}

/** The counts of several threads added up. */
export function addTraffic(all: readonly TrafficCounts[]): TrafficCounts {
  const sum = { ...ZERO };
  for (const c of all)
    for (const key of Object.keys(sum) as Array<keyof TrafficCounts>) sum[key] += c[key];
  return sum;
}

/** The latest of two reports of one thread: every count only grows. */
export function latestTraffic(a: TrafficCounts, b: TrafficCounts): TrafficCounts {
  const latest = { ...ZERO };
  for (const key of Object.keys(latest) as Array<keyof TrafficCounts>)
    latest[key] = Math.max(a[key], b[key]);
  return latest;
}
