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
 * Processes a full mesh may be spread over. Each is a Node runtime with its own threads and its
 * own `ulimit -n`; 8 processes of 20,000 files hold a mesh of about 340 peers (115,000 sockets), and past that
 * an overlay (`--overlay hyparview`) is the way to run thousands.
 */
export const MAX_PROCESSES = 8;

/**
 * Open files a process hosting `share` of the `peers` of a full mesh needs: each of its peers
 * holds a socket for each of its `peers - 1` links (the other end is the other peer's, wherever
 * it runs), two fifths more while duplicates and dial-back proofs race during formation, one
 * listener each and some headroom.
 */
export function filesForShare(share: number, peers: number): number {
  return Math.ceil(share * (peers - 1) * FORMATION_OVERHEAD) + share + BASE_HEADROOM;
}

/**
 * Open files a full mesh of `peers` in one process needs: each of the n(n-1)/2 links is a socket
 * at both ends, so n(n-1) sockets, plus the formation overhead, listeners and headroom.
 */
export function filesNeeded(peers: number): number {
  return filesForShare(peers, peers);
}

/** The largest number of peers whose mesh fits in `processes` of `limit` open files each. */
export function maxPeersFor(limit: number, processes = 1): number {
  let peers = 1;
  while (filesForShare(Math.ceil((peers + 1) / processes), peers + 1) <= limit) peers++;
  return peers;
}

/**
 * The fewest processes (at most MAX_PROCESSES) among which a full mesh of `peers` fits, each
 * hosting an equal share under `limit` open files; 1 when the limit is unknown, null when even
 * MAX_PROCESSES do not suffice.
 */
export function processesFor(peers: number, limit: number | null): number | null {
  if (limit === null) return 1;
  for (let k = 1; k <= MAX_PROCESSES; k++)
    if (filesForShare(Math.ceil(peers / k), peers) <= limit) return k;
  return null;
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

/**
 * Why a full mesh of `peers` cannot run under the open-file `limit` of each process, spread over
 * `processes` (as many as it needs, up to MAX_PROCESSES, when not given), or null when it fits
 * (or the limit is unknown).
 */
export function openFileProblem(
  peers: number,
  limit: number | null,
  processes?: number,
): string | null {
  if (limit === null) return null;
  const spread = processes ?? processesFor(peers, limit) ?? MAX_PROCESSES;
  const share = Math.ceil(peers / spread);
  if (filesForShare(share, peers) <= limit) return null;
  const most = spread === 1 ? 'in one process' : `spread over ${spread} processes`;
  return (
    `a full mesh of ${peers} peers needs about ${filesNeeded(peers)} open files ` +
    `(${peers}x${peers - 1} sockets, two fifths more while links form, ${peers} listeners and headroom), ` +
    `${filesForShare(share, peers)} a process ${most}, ` +
    `but the open-file limit (ulimit -n) is ${limit}: ` +
    `raise it in the shell first (ulimit -n ${filesForShare(share, peers)}, if the hard limit allows), run at most ` +
    `${maxPeersFor(limit, spread)} peers${processes === undefined ? '' : ', give more --processes'}, ` +
    'or add --overlay hyparview (a few links a peer, thousands of peers)'
  );
}
