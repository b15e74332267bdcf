import { addTraffic, latestTraffic, type TrafficCounts } from '../metrics/traffic.js';
import type { PeerHandle } from './pool.js';
import { canReadTcpTable, countAcceptedConnections } from './sockets.js';

/**
 * Counting what a run cost from outside the peers: the kernel's table of established connections
 * on the peers' ports, and each worker thread's socket counts (`src/metrics/traffic.ts`).
 */

/**
 * A thread answers in milliseconds on a quiet machine, but one saturated by a mesh of 100 under a
 * load average of 25 on 2 cores missed 2 s (its counts came back as zeros); a hung thread must
 * still not hang the run.
 */
const REPORT_TIMEOUT_MS = 10_000;

/**
 * Asks every peer for its report and waits for all (at most REPORT_TIMEOUT_MS). Resolving is a
 * barrier: every event each answering peer emitted before has been delivered. The traffic is the
 * sum over threads (of every process), each counted once (its peers report the same counts).
 */
export async function reportAll(handles: readonly PeerHandle[]): Promise<TrafficCounts> {
  const byThread = new Map<string, TrafficCounts>();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      handles.map(async (handle) => {
        const report = await handle.report();
        if (report === null) return;
        // Counts only grow: the largest of each is the thread's latest.
        const thread = `${report.pid}/${report.threadId}`;
        const known = byThread.get(thread) ?? report.traffic;
        byThread.set(thread, latestTraffic(known, report.traffic));
      }),
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REPORT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  return addTraffic([...byThread.values()]);
}

/**
 * Established TCP connections accepted on the ports `[low, high]`, as `ss` counts them: one per
 * connection between peers, whoever dialed. Null where the kernel's table cannot be read.
 */
export function countSockets(low: number, high: number): number | null {
  return canReadTcpTable() ? countAcceptedConnections(low, high) : null;
}
