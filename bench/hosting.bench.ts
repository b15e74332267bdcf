import { type BenchContext, byMode } from './context.js';
import { type BenchResult, benchResult } from './report.js';
import { hostLabel, sweep } from './sweep.js';

export const HOSTING_FIGURES = {
  host: 'host',
  N: 'N',
  firstListeningMs: 'first listening ms',
  allListeningMs: 'all listening ms',
  meshMs: 'mesh ms',
  totalMs: 'launch→mesh ms',
  p50Ms: 'latency p50 ms',
  p99Ms: 'latency p99 ms',
  delivered: 'delivered %',
  cpuPerPeerPct: 'idle CPU/peer %',
  rssTotalPerPeerMB: 'RSS/peer MB',
} as const;

/**
 * The same chain-bootstrapped mesh hosted three ways: every peer on one thread, on the emulator's
 * pool of worker threads, and as one OS process per peer running the CLI's peer host. Times are
 * from the launch of the host; memory is the whole RSS of the hosting process(es) over N.
 */
export async function hostingBench(context: BenchContext): Promise<BenchResult> {
  const sizes = byMode(context.mode, { full: [5, 10, 20], quick: [5], smoke: [3] });
  const idleMs = byMode(context.mode, { full: 5_000, quick: 2_000, smoke: 500 });
  const latencyMs = byMode(context.mode, { full: 3_000, quick: 1_500, smoke: 500 });
  const periodMs = byMode(context.mode, { full: 1_000, quick: 500, smoke: 250 });
  const rows = await sweep(
    context,
    sizes,
    ['thread', 'workers', 'processes'],
    { idleMs, settleMs: 500, latencyMs, periodMs, timeoutMs: 120_000 },
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
  );
  return benchResult('hosting', context.mode, {
    params: { idleMs, latencyMs, periodMs, threads: context.threads, bootstrap: 'chain' },
    figures: Object.keys(HOSTING_FIGURES),
    rows,
    targets: [],
    notes: [
      'first listening: launch -> first peer listening (thread: 0; workers: pool start; processes: node + tsx start)',
      'mesh: last peer listening -> full mesh; launch→mesh includes every start',
      'process/peer runs bench/cli-peer.ts: the CLI’s runPeerProcess with --json, bound to 127.0.0.1, started with tsx',
      'process/peer latency uses each process’s clock (timeOrigin): sub-millisecond figures carry that skew',
      'process/peer CPU is read from /proc in 10 ms ticks',
    ],
  });
}
