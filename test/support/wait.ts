import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerEvent, PeerEventOf, PeerEventType } from '../../src/peer/events.js';
import type { Peer } from '../../src/peer/peer.js';

/** Default bound for every wait in the tests: generous, since a loaded CI machine is slow. */
export const WAIT_TIMEOUT_MS = 15_000;

/**
 * Resolves once `check()` is true, re-checking after every event of the given peers (never on a
 * timer); rejects with `what` after `timeoutMs`.
 */
export function until(
  peers: readonly Peer[],
  check: () => boolean,
  what: string,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const unsubscribe: Array<() => void> = [];
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const u of unsubscribe) u();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
    for (const peer of peers) unsubscribe.push(peer.events.subscribe(() => check() && done()));
  });
}

/** The next event of `type` from `peer` that matches `filter`. */
export function nextEvent<T extends PeerEventType>(
  peer: Peer,
  type: T,
  filter: (event: PeerEventOf<T>) => boolean = () => true,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<PeerEventOf<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a '${type}' event`));
    }, timeoutMs);
    const unsubscribe = peer.events.subscribe((event: PeerEvent) => {
      if (event.type === type && filter(event as PeerEventOf<T>)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(event as PeerEventOf<T>);
      }
    });
  });
}

/** True when every peer's view is exactly every other peer. */
export function isFullMesh(peers: readonly Peer[]): boolean {
  return peers.every((p) => {
    const view = p.peers;
    return (
      view.length === peers.length - 1 && peers.every((q) => q === p || view.includes(q.advertised))
    );
  });
}

/** Polls `read` (the kernel's table has no events) until it returns `want`, or the bound passes. */
export async function settlesAt(
  read: () => number,
  want: number,
  boundMs: number,
): Promise<number> {
  const deadline = performance.now() + boundMs;
  let value = read();
  while (value !== want && performance.now() < deadline) {
    await sleep(25);
    value = read();
  }
  return value;
}
