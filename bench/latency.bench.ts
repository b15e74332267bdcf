import { type BenchContext, byMode } from './context.js';
import { type BenchResult, benchResult, type Column, check, type TargetCheck } from './report.js';
import { hostLabel, sweep } from './sweep.js';

export const LATENCY_FIGURES: Record<string, Column> = {
  host: 'host',
  N: 'N',
  runs: 'runs',
  pairs: 'pairs',
  delivered: 'delivered %',
  p50Ms: { header: 'p50 ms', spread: true },
  p90Ms: 'p90 ms',
  p99Ms: { header: 'p99 ms', spread: true },
  maxMs: 'max ms',
};

/**
 * Delivery latency with the mesh formed and every peer gossiping on its own timer: over every
 * (message, receiver) pair of the messages sent in the window, receive time minus send time, both
 * from the clock all threads share. One thread (HDR histogram over the peers' events) and the
 * emulator's worker pool (its own latency figures), each in a fresh process.
 */
export async function latencyBench(context: BenchContext): Promise<BenchResult> {
  const sizes = byMode(context.mode, { full: [20, 100], quick: [20], smoke: [5] });
  const windowMs = byMode(context.mode, { full: 3_000, quick: 1_000, smoke: 500 });
  const periodMs = byMode(context.mode, { full: 1_000, quick: 1_000, smoke: 250 });
  const rows = await sweep(
    context,
    sizes.filter((s) => s <= context.maxPeers),
    ['floor', 'thread', 'workers'],
    { idleMs: 0, settleMs: 0, latencyMs: windowMs, periodMs, timeoutMs: 60_000 },
    ['p50Ms', 'p99Ms'],
    ({ latency: l }, host, n) => {
      if (l === undefined) throw new Error(`no latency for ${host} N=${n}`);
      console.error(`  latency ${host} N=${n}: p99 ${l.p99Ms.toFixed(2)} ms`);
      return {
        host: hostLabel(host, context),
        N: n,
        messages: l.messages,
        pairs: l.pairs,
        delivered: l.deliveredFraction * 100,
        p50Ms: l.p50Ms,
        p90Ms: l.p90Ms,
        p99Ms: l.p99Ms,
        maxMs: l.maxMs,
      };
    },
  );
  const targets: TargetCheck[] = [];
  for (const row of rows.filter((r) => r.N === 100 && !String(r.host).startsWith('floor'))) {
    targets.push(check(`latency p99 at N=100, ${row.host}`, Number(row.p99MsMedian), 5, 'ms'));
    targets.push(check(`delivered at N=100, ${row.host}`, Number(row.delivered), 100, '%', false));
  }
  return benchResult('latency', context.mode, {
    params: { periodMs, windowMs, threads: context.threads, bootstrap: 'chain' },
    figures: Object.keys(rows[0] ?? {}),
    rows,
    targets,
    notes: [
      'pairs = deliveries the window’s messages should make (the links each was sent on)',
      '1 thread: HDR histogram (1 µs) over the peers’ events; worker threads: the emulator’s own latency figures',
      'floor: the emulator’s pool running bench/floor-worker.ts: the same gossip as one frame per link over raw sockets, the baseline of the same run',
      'p50 and p99: median (min–max) over the runs; other figures: medians',
      'every peer gossips on its own timer; peers start within milliseconds, so their sends come in bursts',
    ],
  });
}
