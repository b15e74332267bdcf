import { type BenchContext, byMode } from './context.js';
import { type BenchResult, benchResult, type Column } from './report.js';
import { hostLabel, sweep } from './sweep.js';

export const HOSTING_FIGURES: Record<string, Column> = {
  host: 'host',
  N: 'N',
  runs: 'runs',
  firstListeningMs: 'first listening ms',
  allListeningMs: 'all listening ms',
  meshMs: { header: 'mesh ms', spread: true },
  totalMs: { header: 'launch→mesh ms', spread: true },
  p50Ms: 'latency p50 ms',
  p99Ms: 'latency p99 ms',
  delivered: 'delivered %',
  cpuPerPeerPct: 'idle CPU/peer %',
  rssTotalPerPeerMB: 'RSS/peer MB',
};

/**
 * The same chain-bootstrapped mesh hosted three ways: every peer on one thread, on the emulator's
 * pool of worker threads, and as one OS process per peer running the CLI's peer host; beside them
 * the floor (the pool running the sockets-only stand-in, every pair dialed once). Times are
 * from the launch of the host; memory is the whole RSS of the hosting process(es) over N.
 */
export async function hostingBench(context: BenchContext): Promise<BenchResult> {
  const sizes = byMode(context.mode, { full: [20], quick: [5], smoke: [3] });
  const idleMs = byMode(context.mode, { full: 5_000, quick: 1_000, smoke: 500 });
  const latencyMs = byMode(context.mode, { full: 3_000, quick: 1_000, smoke: 500 });
  const periodMs = byMode(context.mode, { full: 1_000, quick: 500, smoke: 250 });
  const rows = await sweep(
    context,
    sizes,
    ['floor', 'thread', 'workers', 'processes'],
    { idleMs, settleMs: 500, latencyMs, periodMs, timeoutMs: 120_000 },
    ['meshMs', 'totalMs'],
    ({ timings, idle, latency }, host, n) => {
      if (timings === undefined || idle === undefined || latency === undefined) {
        throw new Error(`hosting ${host} N=${n}: missing figures`);
      }
      console.error(`  hosting ${host} N=${n}: launch→mesh ${timings.totalMs.toFixed(0)} ms`);
      return {
        host: hostLabel(host, context),
        N: n,
        firstListeningMs: timings.firstListeningMs,
        allListeningMs: timings.allListeningMs,
        meshMs: timings.meshMs,
        totalMs: timings.totalMs,
        p50Ms: latency.p50Ms,
        p99Ms: latency.p99Ms,
        delivered: latency.deliveredFraction * 100,
        cpuPerPeerPct: idle.cpuPerPeerPct,
        rssTotalPerPeerMB: idle.rssTotalPerPeerBytes / 1_048_576,
      };
    },
    byMode(context.mode, { full: 2, quick: 1, smoke: 1 }),
  );
  return benchResult('hosting', context.mode, {
    params: { idleMs, latencyMs, periodMs, threads: context.threads, bootstrap: 'chain' },
    figures: Object.keys(rows[0] ?? {}),
    rows,
    targets: [],
    notes: [
      'first listening: launch -> first peer listening (thread: 0; workers: pool start; processes: node + tsx start)',
      'mesh: last peer listening -> full mesh; launch→mesh includes every start',
      'process/peer runs the real CLI (--bind 127.0.0.1 --json), started with tsx',
      'process/peer latency uses each process’s clock (timeOrigin): sub-millisecond figures carry that skew',
      'process/peer CPU is read from /proc in 10 ms ticks',
      'floor: the emulator’s pool running bench/floor-worker.ts (sockets only), the baseline of the same run',
      'mesh and launch→mesh: median (min–max) over the runs; other figures: medians',
    ],
  });
}
