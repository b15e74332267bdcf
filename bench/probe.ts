import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runEmulation } from '../src/emulator/emulate.js';
import { type LatencyStats, MessageLog } from '../src/emulator/latency.js';
import type { MessageCounts } from '../src/emulator/result.js';
import { now } from '../src/peer/clock.js';
import { FLOOR_HOST } from './floor.js';
import {
  type HostedMesh,
  type HostTimings,
  type HostUsage,
  type MeshOptions,
  startProcessMesh,
  startThreadMesh,
} from './hosts.js';
import { SILENT_PERIOD_MS } from './local-mesh.js';

/**
 * One measurement of one mesh in a fresh Node process, so that its memory and CPU figures are
 * that mesh's alone: `runProbe()` spawns `probe-main.ts`, which runs `probe()` and prints one
 * JSON line.
 */

/**
 * thread: every peer on one thread; workers: the emulator's pool; processes: one per peer;
 * floor: the emulator's pool running the floor stand-in (sockets only, `floor-worker.ts`).
 */
export type HostKind = 'thread' | 'workers' | 'processes' | 'floor';

export interface ProbeRequest {
  readonly host: HostKind;
  readonly n: number;
  /** Worker threads (host `workers`). */
  readonly threads: number;
  /** Idle window: CPU and memory of a silent mesh; 0 skips it (and its mesh timings). */
  readonly idleMs: number;
  /** Time the mesh sits before the idle window, so joining's last work is over. */
  readonly settleMs: number;
  /** Latency window over a gossiping mesh; 0 skips it. */
  readonly latencyMs: number;
  /** Gossip period of the latency mesh. */
  readonly periodMs: number;
  readonly timeoutMs: number;
}

export interface IdleFigures {
  /** CPU of the hosting processes over the window, per peer, in % of one core. */
  readonly cpuPerPeerPct: number;
  /** Resident memory added by the peers (hosting processes' growth), per peer. */
  readonly rssPerPeerBytes: number;
  /** Resident memory of the hosting processes, whole, divided by N. */
  readonly rssTotalPerPeerBytes: number;
  /** JS heap added by the peers, per peer (one-thread host only: other heaps are not visible). */
  readonly heapPerPeerBytes?: number;
  readonly windowMs: number;
}

/** Delivery figures over every (message, receiver) pair of the messages sent in the window. */
export interface DeliveryFigures {
  readonly messages: number;
  readonly pairs: number;
  readonly delivered: number;
  /** delivered / pairs, 0..1 */
  readonly deliveredFraction: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Receipts timed before their send (clocks of different processes), counted as 0 ms. */
  readonly negative?: number;
}

export interface ProbeResult {
  readonly request: ProbeRequest;
  readonly timings?: HostTimings;
  readonly idle?: IdleFigures;
  readonly latency?: DeliveryFigures;
}

/** The figures of a window's `counts` and its latency (0 ms when nothing was delivered). */
function deliveryFigures(
  counts: Pick<MessageCounts, 'sent' | 'expected' | 'received'>,
  latency: LatencyStats | null,
): DeliveryFigures {
  const { sent, expected, received } = counts;
  return {
    messages: sent,
    pairs: expected,
    delivered: received,
    deliveredFraction: expected === 0 ? 0 : received / expected,
    p50Ms: latency?.p50 ?? 0,
    p90Ms: latency?.p90 ?? 0,
    p99Ms: latency?.p99 ?? 0,
    maxMs: latency?.max ?? 0,
  };
}

export const MARKER = 'PROBE_RESULT ';
const here = dirname(fileURLToPath(import.meta.url));

/** Runs one probe in a child process (with --expose-gc) and returns what it measured. */
export function runProbe(request: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(here, 'probe-main.ts'), JSON.stringify(request)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(MARKER));
      if (code !== 0 || line === undefined) {
        reject(new Error(`probe ${request.host} N=${request.n} failed (exit ${code})`));
        return;
      }
      resolve(JSON.parse(line.slice(MARKER.length)) as ProbeResult);
    });
  });
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
}

function ownUsage(): HostUsage {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1_000, rssBytes: process.memoryUsage.rss() };
}

function idleFigures(
  n: number,
  baseline: HostUsage,
  start: HostUsage,
  end: HostUsage,
  windowMs: number,
  heapPerPeerBytes?: number,
): IdleFigures {
  return {
    cpuPerPeerPct: ((end.cpuMs - start.cpuMs) / windowMs / n) * 100,
    rssPerPeerBytes: (start.rssBytes - baseline.rssBytes) / n,
    rssTotalPerPeerBytes: start.rssBytes / n,
    ...(heapPerPeerBytes === undefined ? {} : { heapPerPeerBytes }),
    windowMs,
  };
}

async function hostedIdle(
  request: ProbeRequest,
): Promise<{ timings: HostTimings; idle: IdleFigures }> {
  const options: MeshOptions = { periodMs: SILENT_PERIOD_MS, timeoutMs: request.timeoutMs };
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const baseline: HostUsage = request.host === 'thread' ? ownUsage() : { cpuMs: 0, rssBytes: 0 };
  const mesh: HostedMesh =
    request.host === 'thread'
      ? await startThreadMesh(request.n, options)
      : await startProcessMesh(request.n, options);
  try {
    await sleep(request.settleMs);
    gc();
    const heapPerPeer =
      request.host === 'thread'
        ? (process.memoryUsage().heapUsed - heapBefore) / request.n
        : undefined;
    const start = mesh.usage();
    const t0 = performance.now();
    await sleep(request.idleMs);
    const end = mesh.usage();
    const windowMs = performance.now() - t0;
    return {
      timings: mesh.timings,
      idle: idleFigures(request.n, baseline, start, end, windowMs, heapPerPeer),
    };
  } finally {
    await mesh.stop();
  }
}

async function hostedLatency(request: ProbeRequest): Promise<ProbeResult['latency']> {
  const options: MeshOptions = { periodMs: request.periodMs, timeoutMs: request.timeoutMs };
  const mesh =
    request.host === 'thread'
      ? await startThreadMesh(request.n, options)
      : await startProcessMesh(request.n, options);
  const log = new MessageLog();
  const unsubscribe = mesh.subscribe((event) => {
    if (event.type === 'message-sent') log.onSent(event.text, event.at, event.peers);
    else if (event.type === 'message-received') log.onReceived(event.text, event.at);
  });
  try {
    // Every peer's timer has fired at least once before the window opens.
    await sleep(request.periodMs);
    log.open(now());
    await sleep(request.latencyMs);
    log.close(now());
    // Let the window's last messages arrive (or give up on them).
    const drainUntil = performance.now() + 2_000;
    while (!log.complete && performance.now() < drainUntil) await sleep(20);
  } finally {
    unsubscribe();
    await mesh.stop();
  }
  const latency = log.latency();
  const counts = { sent: log.messages, expected: log.expected, received: log.deliveries };
  return { ...deliveryFigures(counts, latency), negative: latency?.negative ?? 0 };
}

/** The emulator's `host` option for the request: the floor stand-in, or the default peer. */
function floorHost(request: ProbeRequest): { host?: typeof FLOOR_HOST } {
  return request.host === 'floor' ? { host: FLOOR_HOST } : {};
}

async function workersIdle(
  request: ProbeRequest,
): Promise<{ timings: HostTimings; idle: IdleFigures }> {
  gc();
  const baseline = ownUsage();
  let start: HostUsage | undefined;
  let end: HostUsage | undefined;
  let t0 = 0;
  let windowMs = 0;
  const timers: NodeJS.Timeout[] = [];
  const result = await runEmulation(
    {
      ...floorHost(request),
      peers: request.n,
      basePort: 0,
      threads: request.threads,
      periodMs: SILENT_PERIOD_MS,
      durationMs: request.settleMs + request.idleMs + 250,
      timeoutMs: request.timeoutMs,
    },
    (progress) => {
      if (progress.phase !== 'running' || t0 !== 0) return;
      t0 = -1;
      timers.push(
        setTimeout(() => {
          gc();
          start = ownUsage();
          t0 = performance.now();
        }, request.settleMs),
        setTimeout(() => {
          end = ownUsage();
          windowMs = performance.now() - t0;
        }, request.settleMs + request.idleMs),
      );
    },
  );
  for (const timer of timers) clearTimeout(timer);
  if (result.status !== 'mesh' || result.mesh === null || result.allListeningMs === null) {
    throw new Error(`emulation of ${request.n} peers ended ${result.status}`);
  }
  if (start === undefined || end === undefined) throw new Error('idle window not measured');
  const firstListeningMs = result.mesh.fromLaunchMs - result.mesh.fromFirstStartMs;
  return {
    timings: {
      firstListeningMs,
      allListeningMs: result.allListeningMs,
      meshMs: result.mesh.fromLastStartMs,
      totalMs: result.mesh.fromLaunchMs,
    },
    idle: idleFigures(request.n, baseline, start, end, windowMs),
  };
}

async function workersLatency(request: ProbeRequest): Promise<ProbeResult['latency']> {
  const result = await runEmulation({
    ...floorHost(request),
    peers: request.n,
    basePort: 0,
    threads: request.threads,
    periodMs: request.periodMs,
    durationMs: request.latencyMs,
    timeoutMs: request.timeoutMs,
  });
  if (result.status !== 'mesh' || result.latencyMs === null) {
    throw new Error(`emulation of ${request.n} peers ended ${result.status} without latency`);
  }
  return deliveryFigures(result.messages, result.latencyMs);
}

export async function probe(request: ProbeRequest): Promise<ProbeResult> {
  const workers = request.host === 'workers' || request.host === 'floor';
  const idle =
    request.idleMs > 0 ? await (workers ? workersIdle(request) : hostedIdle(request)) : undefined;
  const latency =
    request.latencyMs > 0
      ? await (workers ? workersLatency(request) : hostedLatency(request))
      : undefined;
  return {
    request,
    ...(idle === undefined ? {} : idle),
    ...(latency === undefined ? {} : { latency }),
  };
}
