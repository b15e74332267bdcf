import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createRng } from '../core/rng.js';
import type { TrafficCounts } from '../metrics/traffic.js';
import { now } from '../peer/clock.js';
import type { PeerEvent } from '../peer/events.js';
import type { PeerLimits } from '../peer/limits.js';
import { PEER_DEFAULTS } from '../peer/options.js';
import type { OverlaySettings } from '../peer/overlay-protocol.js';
import { formatHostPort } from '../protocol/address.js';
import { EMPTY_SCENARIO, type Scenario } from '../scenario/model.js';
import { resolveTimeline } from '../scenario/timeline.js';
import {
  chainBootstrap,
  chainOptions,
  ephemeralPortRange,
  findFreePortRange,
  LOOPBACK,
  peerPorts,
  portRangeProblem,
  randomBootstrap,
} from './bootstrap.js';
import { countSockets, reportAll } from './census.js';
import { type FaultHooks, faultHooks } from './fault-hooks.js';
import { latencyStats, MessageLog } from './latency.js';
import { countLinks, MeshState, missingLinks } from './mesh.js';
import { OpenFilesPeak } from './open-files.js';
import { OverlayEmulation } from './overlay-emulation.js';
import { sendJoinsInWaves, settle, WARM_UP_MS } from './overlay-joins.js';
import { type PeerHost, type PeerOutcome, PeerPool } from './pool.js';
import { ProcessPool } from './process-pool.js';
import { startRate } from './rate.js';
import { MAX_PROCESSES, openFileProblem, processesFor, readOpenFileLimit } from './resources.js';
import type {
  ConnectionCounts,
  EmulationConfig,
  EmulationResult,
  EmulationStatus,
  PeerReport,
} from './result.js';
import type { EmulationTrace } from './trace.js';

export interface EmulationOptions {
  /** Peers to run, at least 2. */
  readonly peers: number;
  /** Port of the first peer, the others following; 0 finds a free range. Default 8080. */
  readonly basePort?: number;
  /**
   * Worker threads hosting the peers, in all processes together (each has at least one).
   * Default: the number of cores.
   */
  readonly threads?: number;
  /**
   * Child processes to spread the peers over, each with its own open-file limit. Default: 1 when
   * the mesh fits in this process's open files, else as few as it fits in (process-pool.ts).
   */
  readonly processes?: number;
  /** Gossip period of every peer. Default 2 s. */
  readonly periodMs?: number;
  /** How long to keep the mesh running and measure its messages once it formed. Default 0. */
  readonly durationMs?: number;
  /** Give up waiting for the full mesh after this long from launch. Default 30 s. */
  readonly timeoutMs?: number;
  /** Aborting stops every peer and returns what was measured, as `interrupted`. */
  readonly signal?: AbortSignal;
  /** Peer limits (tests shorten some). */
  readonly limits?: Partial<PeerLimits>;
  /** Whether peers prove each other's addresses (default true; false measures their cost). */
  readonly proveAddresses?: boolean;
  /** The open-file limit to check against; read from the process when not given. */
  readonly openFileLimit?: number | null;
  /** A partial overlay instead of the full mesh (`--overlay hyparview`). */
  readonly overlay?: OverlaySettings;
  /** Messages a second across the network, each from a random peer (`--rate`), instead of --period. */
  readonly rate?: number;
  /**
   * The module hosting each peer (PeerPool's `filename`; default a Peer) and where each joins
   * through once all listen (default `chainBootstrap`): benchmarks run a stand-in that only opens
   * the sockets of a mesh, to measure its floor with this same run, window and mesh check.
   */
  readonly host?: {
    readonly filename: string;
    readonly joins: (ports: readonly number[]) => ReadonlyArray<readonly string[]>;
  };
  /** Faults and link shapes to carry out once the mesh formed (`scenario/`), from `seed`. */
  readonly scenario?: Scenario;
  /**
   * Seed of the run's choices: gossip phases, the faults' schedule and peers, link delays, the
   * overlay's cores, bootstrap and `--rate` senders. Random (and reported) when not given.
   */
  readonly seed?: number;
  /**
   * Once the mesh formed, keep running (and measuring messages) until the signal aborts, instead
   * of for `durationMs`; that abort then ends the run as `mesh`. For the live view (`--ui`).
   */
  readonly hold?: boolean;
  /** Every event of every peer (peer index, event), as it arrives: for metrics and the live view. */
  readonly observe?: (peer: number, event: PeerEvent) => void;
  /** Bytes moved by peer i's sockets, reported by its thread about once a second (for metrics). */
  readonly observeBytes?: (peer: number, bytesIn: number, bytesOut: number) => void;
  /** Records the measured window's messages and links for `--out` (`trace.ts`). */
  readonly trace?: EmulationTrace;
  /** Called once the peers are spawned, with the handle that reads and steers the running network. */
  readonly onLaunch?: (run: LiveRun) => void;
}

/** The running network, for a live view: what it is now, and the faults it can be dealt. */
export interface LiveRun {
  readonly addresses: readonly string[];
  /** The document `--json` prints, as if the run were stopped now. */
  snapshot(): EmulationResult;
  /** Ends peer i: `stop` says goodbye, `kill` just closes its sockets; no failure of the run. */
  end(peer: number, how: 'kill' | 'stop'): void;
  /** Starts a stopped peer i again on its port, joining through a running peer. */
  restart(peer: number): void;
  /** Breaks the link between peers i and j as a network failure would (both reconnect). */
  breakLink(peer: number, other: number): void;
  /** Splits the running peers into these groups (peer indices); traffic between groups is held. */
  partition(groups: number[][]): void;
  /** Ends the partition: held traffic flows again. */
  heal(): void;
}

export type EmulationPhase = 'starting' | 'forming' | 'running' | 'stopping';

/** Where the run is; reported whenever a count or the phase changes. */
export interface EmulationProgress {
  readonly phase: EmulationPhase;
  readonly peers: number;
  readonly listening: number;
  readonly links: number;
  readonly expectedLinks: number;
  /** Through an overlay: its components at the last formation check (null before the first). */
  readonly components?: number | null;
  /** Gossip messages sent, and deliveries of them received, since the mesh formed (--duration). */
  readonly messages: number;
  readonly deliveries: number;
  readonly elapsedMs: number;
}

/** The run was refused before any peer started: bad options, or more peers than files allow. */
export class EmulationSetupError extends Error {
  override readonly name = 'EmulationSetupError';
}

export const DEFAULTS = {
  basePort: PEER_DEFAULTS.port,
  periodMs: PEER_DEFAULTS.periodMs,
  durationMs: 0,
  timeoutMs: 30_000,
} as const;

/**
 * After --duration the run drains: it waits for the window's messages to arrive (they were all
 * sent by then) for as long as deliveries keep coming. It stops once every delivery is in, or
 * after DRAIN_QUIET_MS without a single new one (on loopback a delivery takes milliseconds even
 * at 100 peers, so 2 s of silence means nothing more is on its way), and after DRAIN_MAX_MS at
 * most. A fixed 2 s drain counted late deliveries as missing: an overlay of 2,000 peers on two
 * threads delivered its last copies 20 s after they were sent (p99), all of them in the end.
 */
const DRAIN_QUIET_MS = 2_000;
/** A saturated overlay of 2,000 peers drained in 10-20 s (see the README); a run stays bounded. */
const DRAIN_MAX_MS = 60_000;
/** How long to wait for the peers' traffic counters after the drain. */
const COUNTERS_MS = 2_000;

/**
 * Why a free-looking port may not bind: inside the kernel's range for outgoing connections, a
 * recent outgoing connection that used it as its local port holds it in TIME-WAIT for a minute
 * (seen after a test run: 41708 held by a connection to 32244), and a listener cannot bind over that.
 */
function whyInUse(port: number | undefined): string {
  const [low, high] = ephemeralPortRange();
  if (port === undefined || port < low || port > high) return '';
  return ` (it lies in the kernel's range for outgoing connections, ${low}-${high}: a recent outgoing connection may hold it for a minute; choose --base-port below ${low}, or 0)`;
}

/**
 * Timeouts of a full mesh spread over processes: there a few threads carry 60-70 peers each with
 * about 200 links apiece, and the peers' event loops fall seconds behind, so the defaults (a proof
 * within 5 s, a link dead after 3 silent periods) close live links by the thousand and the mesh
 * never settles: 200 peers, defaults: 17,162 of 19,900 links at 59 s, then churning between
 * 15,200 and 18,556 (21,123 HEARTBEAT_TIMEOUT, 15,943 PROOF_TIMEOUT closes); with these: all
 * 19,900 in 89 s (Nov 26, 2 cores). The emulator's peers share cores; a peer on its own host
 * keeps the defaults. Given `limits` take precedence.
 */
const SPREAD_MESH_LIMITS: Partial<PeerLimits> = {
  proofTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  heartbeatDeadAfterPeriods: 15,
};

/** With `--rate`, the peers' own gossip is put off this long: longer than any run measures. */
const RATE_SILENCE_MS = 3_600_000;

/**
 * One seed, separate streams: each use derives its own generator, so that turning on the overlay
 * or `--rate` does not change which peers the faults pick.
 */
const OVERLAY_STREAM = 0x6f766c79;
const BOOTSTRAP_STREAM = 0x626f6f74;
const RATE_STREAM = 0x72617465;

type WaitOutcome = 'done' | 'timeout' | 'aborted';

function resolveConfig(options: EmulationOptions): EmulationConfig & { limit: number | null } {
  const limit = options.openFileLimit ?? readOpenFileLimit();
  const config = {
    peers: options.peers,
    basePort: options.basePort ?? DEFAULTS.basePort,
    threads: options.threads ?? availableParallelism(),
    processes:
      options.processes ??
      (options.overlay === undefined ? (processesFor(options.peers, limit) ?? MAX_PROCESSES) : 1),
    limit,
    periodMs: options.periodMs ?? DEFAULTS.periodMs,
    durationMs: options.durationMs ?? DEFAULTS.durationMs,
    timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    overlay: options.overlay?.kind ?? 'full',
    rate: options.rate ?? null,
  };
  if (!Number.isSafeInteger(config.peers) || config.peers < 2) {
    throw new EmulationSetupError(`--peers must be a whole number >= 2, not ${config.peers}`);
  }
  if (!Number.isSafeInteger(config.threads) || config.threads < 1) {
    throw new EmulationSetupError(`--threads must be a whole number >= 1, not ${config.threads}`);
  }
  const { processes } = config;
  if (!Number.isSafeInteger(processes) || processes < 1 || processes > MAX_PROCESSES) {
    throw new EmulationSetupError(
      `--processes must be a whole number from 1 to ${MAX_PROCESSES}, not ${processes}`,
    );
  }
  if (processes > 1 && options.overlay !== undefined) {
    throw new EmulationSetupError(
      '--processes spreads a full mesh: an overlay runs in one process',
    );
  }
  if (config.basePort !== 0) {
    const problem = portRangeProblem(config.basePort, config.peers);
    if (problem !== null) throw new EmulationSetupError(problem);
  }
  const files =
    options.overlay === undefined
      ? openFileProblem(config.peers, limit, options.processes)
      : OverlayEmulation.fileProblem(config.peers, options.overlay, limit);
  if (files !== null) throw new EmulationSetupError(files);
  return config;
}

/**
 * Runs one emulated network: `peers` real peers in a pool of worker threads on consecutive
 * loopback ports, each joining through the one before it. Waits for the full mesh (or the
 * timeout, or the signal), keeps it running for `durationMs` measuring its gossip, stops every
 * peer and thread, and returns every figure. Throws EmulationSetupError when refused up front;
 * otherwise never rejects (a taken port or a dead thread is a `failed` result).
 */
export async function runEmulation(
  options: EmulationOptions,
  onProgress?: (progress: EmulationProgress) => void,
): Promise<EmulationResult> {
  const { limit: openFileLimit, ...requested } = resolveConfig(options);
  const n = requested.peers;
  const seed = options.seed ?? randomInt(2 ** 32);
  const timeline = resolveTimeline(options.scenario ?? EMPTY_SCENARIO, { peers: n, seed });
  // Peers the faults add get the ports after the first n.
  const total = timeline.totalPeers;
  const basePort =
    requested.basePort === 0 ? await findFreePortRange(total, LOOPBACK) : requested.basePort;
  const processes = Math.min(requested.processes, n);
  // --threads counts every process's threads; each process hosts at least one, and no more
  // than it has peers.
  const threadsEach = Math.min(Math.ceil(requested.threads / processes), Math.ceil(n / processes));
  const threads = threadsEach * processes;
  const config: EmulationConfig = { ...requested, basePort, threads, processes };
  const ports = peerPorts(basePort, total);
  const addresses = ports.map((port) => formatHostPort({ host: LOOPBACK, port }));
  const rng = createRng(seed);
  // Peers started at one instant would all gossip at one instant, a burst no real network
  // sees: each starts at its own phase of the period, as if started independently (seeded).
  const phases = ports.map(() => rng.next() * config.periodMs);

  const mesh = new MeshState(addresses, n);
  const log = new MessageLog();
  const listenedAt: Array<number | undefined> = ports.map(() => undefined);
  const errors: Array<string | undefined> = ports.map(() => undefined);
  let listening = 0;
  let failures = 0;
  /** Peers that listened or failed to: startup is over when all have. */
  let accounted = 0;
  const account = (i: number): void => {
    if (listenedAt[i] === undefined && errors[i] === undefined) accounted++;
  };
  let lastLinkAt = 0;
  let meshAt: number | undefined;
  let frozen = false;
  let phase: EmulationPhase = 'starting';

  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const check of [...waiters]) check();
  };
  const overlay =
    options.overlay === undefined
      ? undefined
      : new OverlayEmulation(n, options.overlay, seed ^ OVERLAY_STREAM, wake);
  const report = (): void =>
    onProgress?.({
      phase,
      peers: n,
      listening,
      links: mesh.mutualLinks,
      expectedLinks: mesh.expectedLinks,
      ...(overlay === undefined ? {} : { components: overlay.components }),
      messages: log.messages,
      deliveries: log.deliveries,
      elapsedMs: now() - launchedAt,
    });
  const enter = (next: EmulationPhase): void => {
    phase = next;
    report();
  };

  // Every event also goes to `options.observe`, through the fault hooks (which see them all,
  // even a peer's last ones after a fault ended it).
  const onEvent = (i: number, event: PeerEvent): void => {
    overlay?.onEvent(i, event);
    switch (event.type) {
      case 'listening':
        if (listenedAt[i] !== undefined) break; // a restart
        account(i);
        listenedAt[i] = event.at;
        listening++;
        report();
        break;
      case 'connected':
      case 'disconnected':
        if (frozen) return;
        lastLinkAt = Math.max(lastLinkAt, event.at);
        if (mesh.apply(i, event)) {
          if (meshAt === undefined && mesh.complete) meshAt = lastLinkAt;
          report();
        }
        break;
      case 'stopped':
        if (!frozen && mesh.clear(i)) report();
        break;
      case 'message-sent':
        // Through an overlay a message is meant for the whole network; in the full mesh,
        // deliveries are expected from the peers that run (the sender may still count links to
        // peers a fault ended: it learns of it only when the link breaks).
        {
          const receivers =
            overlay?.receivers(running(), event.text) ??
            Math.min(event.peers, mesh.liveReceivers(i));
          log.onSent(event.text, event.at, receivers);
          options.trace?.sent(event.text, event.at, receivers);
        }
        if (phase === 'running') report();
        break;
      case 'message-received':
        log.onReceived(event.text, event.at);
        options.trace?.received(event.text, event.at);
        if (phase === 'running') report();
        break;
      case 'counters':
        break;
      default:
        return;
    }
    wake();
  };
  const onEnd = (i: number, outcome: PeerOutcome): void => {
    const port = ports[i];
    let error: string | undefined;
    if (outcome.outcome === 'listen-failed') {
      error =
        outcome.code === 'EADDRINUSE'
          ? `port ${port} is already in use${whyInUse(port)}`
          : outcome.message;
    } else if (outcome.outcome === 'crashed') {
      error = `the peer on port ${port} died with its thread: ${outcome.message}`;
    } else if (!frozen && !faults.leaving.has(i)) {
      error = `the peer on port ${port} stopped on its own`;
    }
    if (error === undefined) return;
    account(i);
    errors[i] = error;
    failures++;
    wake();
  };

  /** Resolves when `check()` holds (re-checked on every event), at `deadline`, or on abort. */
  const waitFor = (check: () => boolean, deadline: number): Promise<WaitOutcome> =>
    new Promise((resolve) => {
      const signal = options.signal;
      const finish = (outcome: WaitOutcome): void => {
        clearTimeout(timer);
        waiters.delete(test);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const test = (): void => {
        if (check()) finish('done');
      };
      const onAbort = (): void => finish('aborted');
      const timer =
        deadline === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(() => finish('timeout'), Math.max(0, deadline - now()));
      waiters.add(test);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) finish('aborted');
      else test();
    });
  const failed = (): boolean => failures > 0;
  /** Peers running now (started, not ended by a fault, not failed). */
  const running = (): number[] => mesh.live.filter((i) => errors[i] === undefined);

  const launchedAt = now();
  const deadline = launchedAt + config.timeoutMs;
  const poolOptions = {
    threads: threadsEach,
    peersPerThread: Math.ceil(Math.ceil(total / processes) / threadsEach),
    ...(options.host === undefined ? {} : { filename: options.host.filename }),
    meterBytes: options.observeBytes !== undefined,
  };
  const pool: PeerHost =
    processes === 1 ? new PeerPool(poolOptions) : new ProcessPool({ ...poolOptions, processes });
  const openFiles = new OpenFilesPeak(() => pool.pids);
  enter('starting');
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
  }).map((o, i) => ({
    ...o,
    firstGossipMs: ownGossipMs ?? phases[i] ?? 0,
    ...overlay?.peerOptions(i),
  }));
  const faults: FaultHooks = faultHooks({
    timeline,
    pool,
    mesh,
    ports,
    addresses,
    peerOptions,
    onEvent,
    onEnd,
    wake,
    ...(options.observe === undefined ? {} : { observe: options.observe }),
    ...(options.observeBytes === undefined ? {} : { observeBytes: options.observeBytes }),
    live: options.onLaunch !== undefined,
    now,
  });
  const handles = ports.slice(0, n).map((_, i) => faults.spawn(i));

  let windowStart: number | undefined;
  let windowEnd: number | undefined;
  /** How long the drain after the window took (0 until it ran). */
  let drainMs = 0;
  let socketsFormed: number | null = null;
  let socketsEnd: number | null = null;
  /** The threads' counts, taken once the mesh formed (at the end when it did not). */
  let traffic: { counts: TrafficCounts; links: number } | undefined;
  // The live view's faults are the scenario's, carried out and listed by the same runner: a kill or
  // stop the run expects, a restart that joins through a running peer, a link broken as the
  // network would, partitions held by the peers' shaping.
  options.onLaunch?.({
    addresses,
    snapshot: () => snapshot(failed() ? 'failed' : meshAt === undefined ? 'interrupted' : 'mesh'),
    end: (i, how) => {
      if (frozen || faults.leaving.has(i) || !mesh.live.includes(i)) return;
      faults.runner?.applyNow({ kind: how, at: 0, peers: [i] });
    },
    restart: (i) => {
      if (frozen || !faults.leaving.has(i)) return;
      const group = faults.network?.groupOf(i) ?? 0;
      faults.runner?.applyNow({ kind: 'restart', at: 0, peers: [i], groups: [group] });
    },
    breakLink: (i, j) => {
      const other = addresses[j];
      if (frozen || other === undefined) return;
      faults.send(i, { type: 'break-link', peer: other });
      faults.runner?.record({ kind: 'cut', count: 1, ports: [ports[i] ?? 0, ports[j] ?? 0] });
    },
    partition: (groups) => {
      if (!frozen) faults.runner?.applyNow({ kind: 'partition', at: 0, groups });
    },
    heal: () => {
      if (!frozen) faults.runner?.applyNow({ kind: 'heal', at: 0 });
    },
  });

  let status: EmulationStatus;
  let stopRate = (): void => {};
  let outcome = await waitFor(() => accounted >= n, deadline);
  if (outcome === 'done' && !failed()) {
    enter('forming');
    const joins =
      options.host?.joins(ports) ??
      (overlay === undefined
        ? chainBootstrap(ports)
        : randomBootstrap(ports, createRng(seed ^ BOOTSTRAP_STREAM))
      ).map((a) => (a === undefined ? [] : [a]));
    const join = (i: number, address: string): void => handles[i]?.send({ type: 'join', address });
    if (overlay === undefined) {
      joins.forEach((addresses, i) => {
        for (const a of addresses) join(i, a);
      });
    } else {
      const linked = (i: number): boolean => mesh.neighbours(i).length > 0 || i === 0;
      const stopped = (): boolean =>
        failed() || now() > deadline || options.signal?.aborted === true;
      await sendJoinsInWaves(joins, join, linked, waitFor, stopped);
    }
    const formed = (): boolean => {
      const done = overlay === undefined ? mesh.complete : overlay.formed(mesh, now());
      if (done) meshAt ??= lastLinkAt;
      return done;
    };
    outcome = await waitFor(() => formed() || failed(), deadline);
    if (outcome === 'done' && overlay !== undefined) overlay.onFormed(rssBefore, basePort);
  }
  if (outcome === 'done' && mesh.complete) {
    openFiles.sample();
    socketsFormed = countSockets(basePort, basePort + n - 1);
    traffic = { counts: await reportAll(handles), links: mesh.mutualLinks };
  }
  const holding = options.hold === true && config.durationMs === 0;
  if (outcome === 'done' && !failed() && (config.durationMs > 0 || holding)) {
    enter('running');
    if (overlay !== undefined) {
      await settle(() => mesh.mutualLinks, waitFor, failed);
      await overlay.warmUp(faults.send, running(), waitFor, now() + WARM_UP_MS);
      const counted = deadline + config.durationMs;
      await overlay.counters('before', faults.send, running(), waitFor, counted);
    }
    windowStart = now();
    log.open(windowStart);
    options.trace?.open(windowStart, () => mesh.liveAdjacency());
    if (config.rate !== null) {
      stopRate = startRate(
        config.rate,
        createRng(seed ^ RATE_STREAM),
        n,
        (i) => errors[i] === undefined,
        (i) => faults.send(i, { type: 'broadcast' }),
      );
    }
    faults.runner?.start(windowStart);
    outcome = await waitFor(
      failed,
      holding ? Number.POSITIVE_INFINITY : windowStart + config.durationMs,
    );
    faults.runner?.stop();
    windowEnd = now();
    log.close(windowEnd);
    stopRate();
    // Held until Ctrl-C: that is how such a run ends, not an interruption.
    if (holding && outcome === 'aborted') outcome = 'done';
    else if (outcome === 'timeout') {
      // The duration is over: stop sending, then drain. Every peer's report comes after the
      // events it emitted before it (and after its pause), so once all are in, every message of
      // the window is known and no more are coming: then wait for their deliveries.
      // Every running peer, those the faults started included.
      const current = mesh.live.flatMap((i) => faults.handle(i) ?? []);
      for (const handle of current) handle.send({ type: 'pause-gossip' });
      await reportAll(current);
      outcome = await drain(windowEnd);
      drainMs = now() - windowEnd;
    }
    if (outcome === 'done' && overlay !== undefined) {
      await overlay.counters('after', faults.send, running(), waitFor, now() + COUNTERS_MS);
    }
  }
  if (outcome === 'aborted') status = 'interrupted';
  else if (failed()) status = 'failed';
  else if (outcome === 'timeout') status = 'timeout';
  else status = 'mesh';

  options.trace?.close(now(), () => mesh.liveAdjacency());
  // What the matrix shows is the network as it was when stopping began.
  frozen = true;
  if (windowStart !== undefined && windowEnd === undefined) {
    windowEnd = now();
    log.close(windowEnd);
  }
  socketsEnd = countSockets(basePort, basePort + n - 1);
  if (traffic === undefined)
    traffic = { counts: await reportAll(handles), links: mesh.mutualLinks };
  enter('stopping');
  stopRate();
  overlay?.dispose();
  openFiles.stop();
  await pool.destroy();

  return snapshot(status);

  /**
   * Waits while the window's deliveries still arrive: until all are in, or a whole
   * DRAIN_QUIET_MS passed without a new one, or DRAIN_MAX_MS after `from`.
   */
  async function drain(from: number): Promise<WaitOutcome> {
    const limit = from + DRAIN_MAX_MS;
    for (;;) {
      const before = log.deliveries;
      const outcome = await waitFor(
        () => log.complete || failed(),
        Math.min(now() + DRAIN_QUIET_MS, limit),
      );
      if (outcome !== 'timeout') return outcome;
      if (log.deliveries === before || now() >= limit) return 'done';
    }
  }

  /** The document `--json` prints, from the network as it is now (frozen once stopping began). */
  function snapshot(status: EmulationStatus): EmulationResult {
    const neighbours = ports.map((_, i) => mesh.neighbours(i).flatMap((j) => ports[j] ?? []));
    // Links are counted among the peers running now (all of them without faults).
    const live = mesh.live;
    const livePorts = live.map((i) => ports[i] ?? 0);
    const liveNeighbours = live.map((i) => neighbours[i] ?? []);
    const peers: PeerReport[] = ports.map((port, i) => {
      const at = listenedAt[i];
      return {
        port,
        address: addresses[i] ?? '',
        listenedMs: at === undefined ? null : at - launchedAt,
        neighbours: neighbours[i] ?? [],
        foreign: mesh.foreign(i),
        error: errors[i] ?? null,
      };
    });
    // The network's own peers: those the faults started later do not count here.
    const listenTimes = listenedAt.slice(0, n).filter((at) => at !== undefined);
    const firstListen = Math.min(...listenTimes);
    const lastListen = Math.max(...listenTimes);
    const allListened = listenTimes.length >= n;
    return {
      status,
      config,
      launchedAt,
      elapsedMs: now() - launchedAt,
      allListeningMs: allListened ? lastListen - launchedAt : null,
      mesh:
        meshAt === undefined || !allListened
          ? null
          : {
              fromLaunchMs: meshAt - launchedAt,
              fromFirstStartMs: meshAt - firstListen,
              fromLastStartMs: meshAt - lastListen,
            },
      links: countLinks(livePorts, liveNeighbours),
      sockets: { formed: socketsFormed, end: socketsEnd },
      connections: connectionCounts(traffic),
      openFiles: {
        limit: openFileLimit === Number.POSITIVE_INFINITY ? null : openFileLimit,
        peak: openFiles.peaks().length === 0 ? null : Math.max(...openFiles.peaks()),
        perProcess: openFiles.peaks(),
      },
      // An overlay is meant to miss most pairs: listing them would be N^2/2 entries.
      missingLinks: overlay === undefined ? missingLinks(livePorts, liveNeighbours) : [],
      messages: {
        windowMs: windowStart === undefined ? 0 : (windowEnd ?? now()) - windowStart,
        drainMs,
        sent: log.messages,
        expected: log.expected,
        received: log.deliveries,
      },
      latencyMs: latencyStats(log.latency()),
      peers,
      overlay:
        overlay?.report(
          mesh,
          meshAt === undefined || !allListened ? null : meshAt - lastListen,
          (text) => log.inWindow(text),
        ) ?? null,
      failures: errors.filter((e) => e !== undefined),
      seed,
      faults: faults.runner?.applied ?? [],
    };
  }
}

/** Zeros (and no link) until counted: a live snapshot taken while the mesh forms. */
function connectionCounts(
  counted: { counts: TrafficCounts; links: number } | undefined,
): ConnectionCounts {
  const traffic = counted?.counts ?? { accepted: 0, dialed: 0, peerListBytes: 0 };
  const links = counted?.links ?? 0;
  return {
    opened: traffic.accepted,
    attempted: traffic.dialed,
    perLink: links === 0 ? null : traffic.accepted / links,
    peerListBytes: traffic.peerListBytes,
    peerListBytesPerLink: links === 0 ? null : traffic.peerListBytes / links,
    links,
  };
}
