import { type BenchContext, byMode } from './context.js';
import { type BenchResult, benchResult, type Column, check, type TargetCheck } from './report.js';
import { hostLabel, sweep } from './sweep.js';

export const IDLE_FIGURES: Record<string, Column> = {
  host: 'host',
  N: 'N',
  runs: 'runs',
  cpuPerPeerPct: { header: 'CPU/peer % core', spread: true },
  rssPerPeerKB: { header: 'RSS/peer KB', spread: true },
  rssTotalPerPeerKB: 'process RSS/N KB',
  heapPerPeerKB: 'heap/peer KB',
};

/**
 * Idle cost: a full mesh whose peers never gossip in the window (period of an hour), in a fresh
 * process. CPU of the hosting process over the window per peer; memory added by the peers (RSS
 * and, on one thread, JS heap) after a forced GC, against the same process before they started.
 */
export async function idleBench(context: BenchContext): Promise<BenchResult> {
  const sizes = byMode(context.mode, { full: [20, 100], quick: [20], smoke: [5] });
  const idleMs = byMode(context.mode, { full: 3_000, quick: 1_000, smoke: 500 });
  const settleMs = byMode(context.mode, { full: 1_000, quick: 300, smoke: 200 });
  const rows = await sweep(
    context,
    sizes.filter((s) => s <= context.maxPeers),
    ['floor', 'thread', 'workers'],
    { idleMs, settleMs, latencyMs: 0, periodMs: 0, timeoutMs: 60_000 },
    ['cpuPerPeerPct', 'rssPerPeerKB'],
    ({ idle }, host, n) => {
      if (idle === undefined) throw new Error(`no idle figures for ${host} N=${n}`);
      console.error(`  idle ${host} N=${n}: ${idle.cpuPerPeerPct.toFixed(4)} % core/peer`);
      return {
        host: hostLabel(host, context),
        N: n,
        cpuPerPeerPct: idle.cpuPerPeerPct,
        rssPerPeerKB: idle.rssPerPeerBytes / 1_024,
        rssTotalPerPeerKB: idle.rssTotalPerPeerBytes / 1_024,
        // Worker heaps are not visible from the main thread: RSS is the figure there.
        heapPerPeerKB: (idle.heapPerPeerBytes ?? idle.rssPerPeerBytes) / 1_024,
      };
    },
  );
  const targets: TargetCheck[] = [];
  const largest = Math.max(...rows.map((r) => Number(r.N)));
  for (const row of rows.filter((r) => r.N === largest && !String(r.host).startsWith('floor'))) {
    targets.push(
      check(
        `idle CPU per peer at N=${largest}, ${row.host}`,
        Number(row.cpuPerPeerPctMedian),
        0.1,
        '% core',
      ),
    );
    // The peer's own memory: on worker threads RSS/peer also spreads the threads' isolates.
    if (row.host === '1 thread') {
      targets.push(
        check(
          `memory per peer at N=${largest}, ${row.host}`,
          Number(row.rssPerPeerKBMedian),
          200,
          'KB',
        ),
      );
    }
  }
  return benchResult('idle', context.mode, {
    params: { idleMs, settleMs, threads: context.threads, periodMs: 3_600_000 },
    figures: Object.keys(rows[0] ?? {}),
    rows,
    targets,
    notes: [
      'CPU/peer: user + system CPU of the whole process over the idle window, / window / N, in % of one core',
      'RSS/peer: (RSS with the mesh up - RSS before any peer started) / N, after forced GC; on worker threads it includes the threads’ own isolates',
      'process RSS/N: the whole process’s RSS / N (what a host costs per peer, runtime included)',
      'heap/peer: JS heap added per peer on one thread; on worker threads (heaps not visible) it repeats RSS/peer',
      'floor: the emulator’s pool running bench/floor-worker.ts (one socket per link, nothing else): what the sockets and threads alone cost, the baseline of the same run',
      'CPU and RSS per peer: median (min–max) over the runs; other figures: medians',
    ],
  });
}
