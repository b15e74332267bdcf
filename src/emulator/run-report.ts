import type { TrafficCounts } from '../metrics/traffic.js';
import { now } from '../peer/clock.js';
import { latencyStats } from './latency.js';
import { countLinks, missingLinks } from './mesh.js';
import type { ConnectionCounts, EmulationResult, EmulationStatus, PeerReport } from './result.js';
import type { Run } from './run-start.js';

/** The document `--json` prints, from the network as it is now (frozen once stopping began). */
export function snapshot(run: Run, status: EmulationStatus): EmulationResult {
  const { config, n, seed, ports, addresses, openFileLimit } = run.plan;
  const { mesh, log, overlay, listenedAt, errors, launchedAt, meshAt } = run.tracker;
  const { windowStart, windowEnd, drainMs, socketsFormed, socketsEnd, traffic } = run.measured;
  const { openFiles, faults } = run;
  const neighbours = ports.map((_, i) => mesh.neighbours(i).flatMap((j) => ports[j] ?? []));
  // Links are counted among the peers running now (all of them without faults).
  const live = mesh.live;
  const livePorts = live.map((i) => ports[i] ?? 0);
  const liveNeighbours = live.map((i) => neighbours[i] ?? []);
  const peers: PeerReport[] = ports.map((port, i) => {
    const at = listenedAt[i];
    return {
      port,
      address: addresses[i] ?? '',
      listenedMs: at === undefined ? null : at - launchedAt,
      neighbours: neighbours[i] ?? [],
      foreign: mesh.foreign(i),
      error: errors[i] ?? null,
    };
  });
  // The network's own peers: those the faults started later do not count here.
  const listenTimes = listenedAt.slice(0, n).filter((at) => at !== undefined);
  const firstListen = Math.min(...listenTimes);
  const lastListen = Math.max(...listenTimes);
  const allListened = listenTimes.length >= n;
  return {
    status,
    config,
    launchedAt,
    elapsedMs: now() - launchedAt,
    allListeningMs: allListened ? lastListen - launchedAt : null,
    mesh:
      meshAt === undefined || !allListened
        ? null
        : {
            fromLaunchMs: meshAt - launchedAt,
            fromFirstStartMs: meshAt - firstListen,
            fromLastStartMs: meshAt - lastListen,
          },
    links: countLinks(livePorts, liveNeighbours),
    sockets: { formed: socketsFormed, end: socketsEnd },
    connections: connectionCounts(traffic),
    openFiles: {
      limit: openFileLimit === Number.POSITIVE_INFINITY ? null : openFileLimit,
      peak: openFiles.peaks().length === 0 ? null : Math.max(...openFiles.peaks()),
      perProcess: openFiles.peaks(),
    },
    // An overlay is meant to miss most pairs: listing them would be N^2/2 entries.
    missingLinks: overlay === undefined ? missingLinks(livePorts, liveNeighbours) : [],
    messages: {
      windowMs: windowStart === undefined ? 0 : (windowEnd ?? now()) - windowStart,
      drainMs,
      sent: log.messages,
      expected: log.expected,
      received: log.deliveries,
    },
    latencyMs: latencyStats(log.latency()),
    peers,
    overlay:
      overlay?.report(
        mesh,
        meshAt === undefined || !allListened ? null : meshAt - lastListen,
        (text) => log.inWindow(text),
      ) ?? null,
    failures: errors.filter((e) => e !== undefined),
    seed,
    faults: faults.runner?.applied ?? [],
  };
}

/** Zeros (and no link) until counted: a live snapshot taken while the mesh forms. */
function connectionCounts(
  counted: { counts: TrafficCounts; links: number } | undefined,
): ConnectionCounts {
  const traffic = counted?.counts ?? { accepted: 0, dialed: 0, peerListBytes: 0 };
  const links = counted?.links ?? 0;
  return {
    opened: traffic.accepted,
    attempted: traffic.dialed,
    perLink: links === 0 ? null : traffic.accepted / links,
    peerListBytes: traffic.peerListBytes,
    peerListBytesPerLink: links === 0 ? null : traffic.peerListBytes / links,
    links,
  };
}
