import { readdirSync } from 'node:fs';
import { BASE_HEADROOM, maxPeersFor } from './resources.js';

/**
 * Open files per active link end while an overlay forms, beyond the link itself: dial-back probes
 * (a socket at each end for each inbound link), neighbor requests refused by full active views,
 * shuffle replies, and connections that never became links, held until they idle out. Measured
 * peak: see OVERLAY_PEAK_NOTE in the README's overlay section (emulate --overlay hyparview).
 */
export const OVERLAY_FORMATION_OVERHEAD = 1.6;

/**
 * Open files `peers` overlay peers in one process need: each peer holds at most `activeView`
 * links, each a socket at both ends (so `activeView` sockets a peer), plus the formation
 * overhead, one listener each and the runtime's headroom.
 */
export function overlayFilesNeeded(peers: number, activeView: number): number {
  return Math.ceil(peers * activeView * OVERLAY_FORMATION_OVERHEAD) + peers + BASE_HEADROOM;
}

/** The largest overlay that fits in `limit` open files. */
export function maxOverlayPeersFor(limit: number, activeView: number): number {
  const perPeer = activeView * OVERLAY_FORMATION_OVERHEAD + 1;
  return Math.max(1, Math.floor((limit - BASE_HEADROOM) / perPeer));
}

/** Why the overlay cannot run under the open-file `limit`, or null when it fits (or is unknown). */
export function overlayFileProblem(
  peers: number,
  activeView: number,
  limit: number | null,
): string | null {
  if (limit === null) return null;
  const needed = overlayFilesNeeded(peers, activeView);
  if (needed <= limit) return null;
  return (
    `an overlay of ${peers} peers with an active view of ${activeView} in one process needs about ` +
    `${needed} open files (${peers}x${activeView} link sockets, three fifths more while it forms, ` +
    `${peers} listeners and headroom), but the open-file limit (ulimit -n) is ${limit}: ` +
    `raise it in the shell first (ulimit -n ${needed}) or run at most ` +
    `${maxOverlayPeersFor(limit, activeView)} peers (a full mesh fits ${maxPeersFor(limit)})`
  );
}

/** Files this process holds open now (`/proc/self/fd`), or null where it cannot be read. */
export function openFilesNow(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

/**
 * The process's resident memory, or null when it cannot be read now: Node reads it from
 * /proc/self/stat, which takes a file, and an overlay forming near the open-file limit made that
 * throw EMFILE and end the whole run (N = 2,000).
 */
export function rssNow(): number | null {
  try {
    return process.memoryUsage.rss();
  } catch {
    return null;
  }
}
