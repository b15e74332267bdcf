import type { Writable } from 'node:stream';
import type { MetricsEndpoint } from '../metrics/peer-exporter.js';
import type { MetricsServer } from '../metrics/server.js';
import { now } from '../peer/clock.js';
import { ListenError, Peer, type PeerOptions } from '../peer/peer.js';
import { consoleLine, jsonLine } from './console.js';

export interface PeerProcessOptions {
  readonly peer: PeerOptions;
  /** Also write every event as a JSON line to `stdout`. */
  readonly json: boolean;
  /** The instant console times count from (epoch ms on the peer's clock); default: now. */
  readonly startedAt?: number;
  /** Serve the peer's Prometheus metrics here (`--metrics`). */
  readonly metrics?: MetricsEndpoint;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs one peer for the lifetime of the process: console lines to stderr (and JSON lines to
 * stdout), until SIGINT or SIGTERM stops it. Resolves with the exit status: 0 after a signal,
 * 1 when the port cannot be bound. A second signal during the stop is left to Node's default
 * (immediate termination).
 */
export async function runPeerProcess(options: PeerProcessOptions): Promise<number> {
  const startedAt = options.startedAt ?? now();
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  let json = options.json;
  // A closed stdout (`| head`) must not crash the peer: stop writing JSON there.
  stdout.on('error', () => {
    json = false;
  });
  const peer = new Peer(options.peer);
  peer.events.subscribe((event) => {
    const line = consoleLine(event, startedAt);
    if (line !== undefined) stderr.write(`${line}\n`);
    if (json) stdout.write(`${jsonLine(event, startedAt)}\n`);
  });
  let metrics: MetricsServer | undefined;
  if (options.metrics !== undefined) {
    try {
      // Loaded only when asked: prom-client costs every other peer its start.
      const { exportPeerMetrics } = await import('../metrics/peer-exporter.js');
      metrics = await exportPeerMetrics(peer.events, options.metrics);
      stderr.write(`metrics: ${metrics.url}\n`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      stderr.write(`error: cannot serve metrics on port ${options.metrics.port}: ${code}\n`);
      return 1;
    }
  }
  const signal = nextSignal();
  try {
    await peer.start();
  } catch (error) {
    signal.cancel();
    await metrics?.close();
    if (!(error instanceof ListenError)) throw error;
    stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  await signal.received;
  await peer.stop();
  await metrics?.close();
  return 0;
}

/** The first SIGINT or SIGTERM; listening stops once one arrived (or on `cancel`). */
function nextSignal(): { received: Promise<NodeJS.Signals>; cancel(): void } {
  let cancel = (): void => {};
  const received = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      cancel();
      resolve(signal);
    };
    cancel = () => {
      for (const name of STOP_SIGNALS) process.off(name, onSignal);
    };
    for (const name of STOP_SIGNALS) process.on(name, onSignal);
  });
  return { received, cancel };
}
