import type { BenchContext } from './context.js';
import { type HostKind, type ProbeRequest, type ProbeResult, runProbe } from './probe.js';
import { type Row, spread, spreadFields } from './report.js';

/** The `host` label of a row: how the peers of a probe were hosted. */
export function hostLabel(host: HostKind, context: BenchContext): string {
  if (host === 'workers') return `${context.threads} threads`;
  if (host === 'floor') return `floor, ${context.threads} threads`;
  return host === 'thread' ? '1 thread' : 'process/peer';
}

/** Probes of each N and host in a full run: enough for a spread, few enough for six minutes. */
export function runsFor(context: BenchContext): number {
  return context.mode === 'full' ? 3 : 1;
}

/**
 * Runs `runs` probes (each in a fresh process) per N of `sizes` and host of `hosts`: N by N, and
 * round by round every host in turn, so that a machine slowing down slows every host alike; with
 * the emulator's thread count and the rest of `request`. `toRow` turns each result into a row (and
 * may throw if a figure is missing); the rows of one N and host become one: each key of `spreads`
 * as its min, median and max (`spreadFields`), every other figure as its median, plus `runs`.
 */
export async function sweep(
  context: BenchContext,
  sizes: readonly number[],
  hosts: readonly HostKind[],
  request: Omit<ProbeRequest, 'host' | 'n' | 'threads'>,
  spreads: readonly string[],
  toRow: (result: ProbeResult, host: HostKind, n: number) => Row,
  runs = runsFor(context),
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of sizes) {
    const samples = new Map<HostKind, Row[]>(hosts.map((h) => [h, []]));
    for (let round = 0; round < runs; round++) {
      for (const host of hosts) {
        const result = await runProbe({ host, n, threads: context.threads, ...request });
        samples.get(host)?.push(toRow(result, host, n));
      }
    }
    for (const host of hosts) rows.push(merge(samples.get(host) ?? [], spreads));
  }
  return rows;
}

/** One row from the rows of several runs: labels as they are, spreads, medians. */
function merge(runs: readonly Row[], spreads: readonly string[]): Row {
  const first = runs[0];
  if (first === undefined) throw new Error('no runs');
  const row: Row = {};
  for (const [key, value] of Object.entries(first)) {
    if (typeof value === 'string') row[key] = value;
    else if (spreads.includes(key))
      Object.assign(
        row,
        spreadFields(
          key,
          runs.map((r) => Number(r[key])),
        ),
      );
    else row[key] = spread(runs.map((r) => Number(r[key]))).median;
  }
  row.runs = runs.length;
  return row;
}
