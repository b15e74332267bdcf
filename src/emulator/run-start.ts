import type { TrafficCounts } from '../metrics/traffic.js';
import { now } from '../peer/clock.js';
import type { PeerLimits } from '../peer/limits.js';
import { chainOptions } from './bootstrap.js';
import { type FaultHooks, faultHooks } from './fault-hooks.js';
import { OpenFilesPeak } from './open-files.js';
import type { EmulationOptions } from './options.js';
import { type PeerHandle, type PeerHost, PeerPool } from './pool.js';
import { ProcessPool } from './process-pool.js';
import type { RunPlan } from './run-plan.js';
import type { RunTracker } from './run-tracker.js';

/**
 * Limits of a full mesh spread over processes: there a few threads carry 60-70 peers each with
 * about 200 links apiece, and the peers' event loops take 0.5-2.5 s a turn (monitorEventLoopDelay).
 * libuv accepts one connection per listening socket per turn (libuv #3696, in Node 20), so a dial
 * completes in the kernel at once and then waits in the listener's queue (13,000-15,500 queued
 * over the 200 listeners, `ss -ltn`; a dial-back probe accepted 26 s after its connect at the
 * median, 58 s at most). Every wait that counts from the connect takes that queue for a dead or
 * foreign peer:
 * - a proof: within 30 s, 8,000-13,600 PROOF_TIMEOUT closes and the mesh churned for minutes;
 * - the reply our dial waits for: after 3 s the remote is taken for a peer of the original
 *   (paced, told a whole list again when its late reply renames the link): 7,133-7,239 bytes of
 *   peer lists per link at 200 peers, 3,915-3,940 with 60 s;
 * - a link renamed that way starts its heartbeat from the connect: after 15 silent periods,
 *   thousands of HEARTBEAT_TIMEOUT closes.
 * - an introduction (3 s) or a relayed nonce (1 s): at 200 peers they expired, the larger end
 *   dialed too and the prover dialed a probe: 2.23 connections per link, formed in 57 s; with 30 s
 *   each, 1.01 (19,900 links, 199 probes), formed in 26 s.
 * With these, 200 peers with the default 2 s gossip formed all 19,900 links in 63-88 s (no live
 * view) and 117-118 s (with it), and no proof failed (Nov 26, 2 cores), before one connection
 * per link; with it, in 26 s. A peer of the original
 * never runs in the emulator. Partitions in such runs are found by the heartbeat only after 60
 * silent periods (2 min at the default period). Given `limits` take precedence.
 */
const SPREAD_MESH_LIMITS: Partial<PeerLimits> = {
  proofTimeoutMs: 120_000,
  legacyReplyGraceMs: 60_000,
  handshakeTimeoutMs: 60_000,
  connectTimeoutMs: 60_000,
  heartbeatDeadAfterPeriods: 60,
  introductionWaitMs: 30_000,
  proofChannelFallbackMs: 30_000,
};

/** With `--rate`, the peers' own gossip is put off this long: longer than any run measures. */
const RATE_SILENCE_MS = 3_600_000;

/** Figures taken along the run for its report. */
export interface Measured {
  windowStart: number | undefined;
  windowEnd: number | undefined;
  /** How long the drain after the window took (0 until it ran). */
  drainMs: number;
  socketsFormed: number | null;
  socketsEnd: number | null;
  /** The threads' counts, taken once the mesh formed (at the end when it did not). */
  traffic: { counts: TrafficCounts; links: number } | undefined;
}

/** A run whose peers were spawned: what every later phase works on. */
export interface Run {
  readonly options: EmulationOptions;
  readonly plan: RunPlan;
  readonly tracker: RunTracker;
  /** When the wait for the mesh gives up. */
  readonly deadline: number;
  readonly pool: PeerHost;
  readonly openFiles: OpenFilesPeak;
  /** This process's memory before the peers started: the overlay reports what they added. */
  readonly rssBefore: number;
  readonly faults: FaultHooks;
  /** The first handle of each of the network's own peers. */
  readonly handles: readonly PeerHandle[];
  readonly measured: Measured;
}

/** Starts the pool and spawns the network's own peers: they listen, nobody joins yet. */
export function startRun(plan: RunPlan, tracker: RunTracker, options: EmulationOptions): Run {
  const { config, n, processes, threadsEach, ports, addresses, phases } = plan;
  const { overlay } = tracker;
  const deadline = tracker.launchedAt + config.timeoutMs;
  const poolOptions = {
    threads: threadsEach,
    peersPerThread: Math.ceil(Math.ceil(ports.length / processes) / threadsEach),
    ...(options.host === undefined ? {} : { filename: options.host.filename }),
    meterBytes: options.observeBytes !== undefined,
  };
  const pool: PeerHost =
    processes === 1 ? new PeerPool(poolOptions) : new ProcessPool({ ...poolOptions, processes });
  const openFiles = new OpenFilesPeak(() => pool.pids);
  tracker.enter('starting');
  const rssBefore = process.memoryUsage().rss;
  // With --rate the emulator sends every message; the peers' own gossip, first round included,
  // waits an hour (a first round at its phase would be N broadcasts while the overlay forms).
  const ownGossipMs = config.rate === null ? null : RATE_SILENCE_MS;
  const peerOptions = chainOptions(ports, {
    periodMs: ownGossipMs ?? config.periodMs,
    ...(options.limits === undefined && processes === 1
      ? {}
      : { limits: { ...(processes > 1 ? SPREAD_MESH_LIMITS : {}), ...options.limits } }),
    ...(options.proveAddresses === undefined ? {} : { proveAddresses: options.proveAddresses }),
    ...(options.relayProofs === undefined ? {} : { relayProofs: options.relayProofs }),
  }).map((o, i) => ({
    ...o,
    firstGossipMs: ownGossipMs ?? phases[i] ?? 0,
    ...overlay?.peerOptions(i),
  }));
  const faults: FaultHooks = faultHooks({
    timeline: plan.timeline,
    pool,
    mesh: tracker.mesh,
    ports,
    addresses,
    peerOptions,
    onEvent: tracker.onEvent,
    onEnd: tracker.onEnd,
    wake: tracker.wake,
    ...(options.observe === undefined ? {} : { observe: options.observe }),
    ...(options.observeBytes === undefined ? {} : { observeBytes: options.observeBytes }),
    live: options.onLaunch !== undefined,
    now,
  });
  tracker.leaving = faults.leaving;
  const handles = ports.slice(0, n).map((_, i) => faults.spawn(i));
  return {
    options,
    plan,
    tracker,
    deadline,
    pool,
    openFiles,
    rssBefore,
    faults,
    handles,
    measured: {
      windowStart: undefined,
      windowEnd: undefined,
      drainMs: 0,
      socketsFormed: null,
      socketsEnd: null,
      traffic: undefined,
    },
  };
}
