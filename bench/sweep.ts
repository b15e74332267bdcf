import type { BenchContext } from './context.js';
import { type HostKind, type ProbeRequest, type ProbeResult, runProbe } from './probe.js';
import type { Row } from './report.js';

/** The `host` label of a row: how the peers of a probe were hosted. */
export function hostLabel(host: HostKind, context: BenchContext): string {
  if (host === 'workers') return `${context.threads} threads`;
  return host === 'thread' ? '1 thread' : 'process/peer';
}

/**
 * Runs one probe (in a fresh process) per N of `sizes` and host of `hosts`, N by N and each N on
 * every host in turn, with the emulator's thread count and the rest of `request`; `toRow` turns
 * each result into a row (and may throw if a figure is missing).
 */
export async function sweep(
  context: BenchContext,
  sizes: readonly number[],
  hosts: readonly HostKind[],
  request: Omit<ProbeRequest, 'host' | 'n' | 'threads'>,
  toRow: (result: ProbeResult, host: HostKind, n: number) => Row,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of sizes) {
    for (const host of hosts) {
      rows.push(toRow(await runProbe({ host, n, threads: context.threads, ...request }), host, n));
    }
  }
  return rows;
}
