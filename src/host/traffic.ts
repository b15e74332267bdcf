import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { FrameTally } from './frame-tally.js';

/**
 * What the TCP sockets of one thread did, seen through Node's own `net` diagnostics channels
 * rather than through the peers: the peers' code is not touched, so the counts hold whatever the
 * peer does inside (dials, duplicates, proof probes, a rewrite of all of them).
 */
export interface TrafficCounts {
  /**
   * Connections accepted by a listener of this thread. Every connection between hosted peers is
   * accepted by one of them, so the sum over the threads is every TCP connection opened: dials,
   * losing duplicates and proof probes alike (a dial refused opens none).
   */
  readonly accepted: number;
  /** Client sockets created: every dial and probe attempted, refused ones included. */
  readonly dialed: number;
  /** `known_peers` frames received on this thread's sockets, and their bytes (headers included). */
  readonly peerListFrames: number;
  readonly peerListBytes: number;
}

const counts = { accepted: 0, dialed: 0, peerListFrames: 0, peerListBytes: 0 };
let counting = false;

/**
 * Received bytes are tallied, not sent ones: a second 'data' listener sees every chunk the peer
 * sees and changes nothing (it sets the socket flowing, as the peer's own listener does a moment
 * later), while wrapping `write` would reach into the peer's sockets.
 */
function watch(socket: Socket): void {
  const tally = new FrameTally();
  socket.on('data', (chunk: Buffer) => {
    const { frames, bytes } = tally.push(chunk);
    counts.peerListFrames += frames;
    counts.peerListBytes += bytes;
  });
}

/**
 * Starts counting this thread's sockets (once; later calls do nothing). The channels publish
 * before the socket reaches the peer's code, so no byte is missed.
 */
export function countTraffic(): void {
  if (counting) return;
  counting = true;
  subscribe('net.server.socket', (message) => {
    counts.accepted++;
    watch((message as { socket: Socket }).socket);
  });
  subscribe('net.client.socket', (message) => {
    counts.dialed++;
    watch((message as { socket: Socket }).socket);
  });
}

/** This thread's counts so far (zeros until `countTraffic` was called). */
export function trafficCounts(): TrafficCounts {
  return { ...counts };
}

/** The counts of several threads added up. */
export function addTraffic(all: readonly TrafficCounts[]): TrafficCounts {
  const sum = { accepted: 0, dialed: 0, peerListFrames: 0, peerListBytes: 0 };
  for (const c of all) {
    sum.accepted += c.accepted;
    sum.dialed += c.dialed;
    sum.peerListFrames += c.peerListFrames;
    sum.peerListBytes += c.peerListBytes;
  }
  return sum;
}
