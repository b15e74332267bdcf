import { readFileSync } from 'node:fs';

/** Files a run needs besides peer sockets: threads, pipes, the runtime's own. */
export const BASE_HEADROOM = 128;
/**
 * While the mesh forms, pairs of peers dial each other at once and both connections live until
 * the duplicate is retired, and dial-back probes hold sockets of their own: measured peaks were
 * 17-26% above n(n-1) (60 to 126 peers) before proofs; with proofs 126 peers ran out of files.
 */
const FORMATION_OVERHEAD = 1.4;

/**
 * Open files a full mesh of `peers` in one process needs: each of the n(n-1)/2 links is a socket
 * at both ends, so n(n-1) sockets, two fifths more while duplicates and dial-back proofs race during formation, one
 * listener per peer and some headroom.
 */
export function filesNeeded(peers: number): number {
  return Math.ceil(peers * (peers - 1) * FORMATION_OVERHEAD) + peers + BASE_HEADROOM;
}

/** The largest number of peers whose mesh fits in `limit` open files. */
export function maxPeersFor(limit: number): number {
  let peers = 1;
  while (filesNeeded(peers + 1) <= limit) peers++;
  return peers;
}

/** The soft open-file limit of this process (`ulimit -n`), or null when it cannot be read. */
export function readOpenFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === undefined) return null;
    if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
    const value = Number(soft);
    return Number.isSafeInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** Why `peers` cannot run under the open-file `limit`, or null when they fit (or it is unknown). */
export function openFileProblem(peers: number, limit: number | null): string | null {
  if (limit === null) return null;
  const needed = filesNeeded(peers);
  if (needed <= limit) return null;
  return (
    `a full mesh of ${peers} peers in one process needs about ${needed} open files ` +
    `(${peers}x${peers - 1} sockets, two fifths more while links form, ${peers} listeners and headroom), ` +
    `but the open-file limit (ulimit -n) is ${limit}: ` +
    `raise it in the shell first (ulimit -n ${needed}, if the hard limit allows), run at most ` +
    `${maxPeersFor(limit)} peers, or add --overlay hyparview (a few links a peer, thousands of peers)`
  );
}
