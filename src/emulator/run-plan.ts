import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createRng } from '../core/rng.js';
import { formatHostPort } from '../protocol/address.js';
import { EMPTY_SCENARIO } from '../scenario/model.js';
import { resolveTimeline, type Timeline } from '../scenario/timeline.js';
import { findFreePortRange, LOOPBACK, peerPorts, portRangeProblem } from './bootstrap.js';
import { DEFAULTS, type EmulationOptions, EmulationSetupError } from './options.js';
import { OverlayEmulation } from './overlay-emulation.js';
import { MAX_PROCESSES, openFileProblem, processesFor, readOpenFileLimit } from './resources.js';
import type { EmulationConfig } from './result.js';

/**
 * One seed, separate streams: each use derives its own generator, so that turning on the overlay
 * or `--rate` does not change which peers the faults pick.
 */
export const OVERLAY_STREAM = 0x6f766c79;
export const BOOTSTRAP_STREAM = 0x626f6f74;
export const RATE_STREAM = 0x72617465;

/** What a run is set to do, settled before any peer starts. */
export interface RunPlan {
  readonly config: EmulationConfig;
  /** The open-file limit the run was checked against (infinite when unlimited). */
  readonly openFileLimit: number | null;
  /** The network's own peers; the faults may add more after them (`ports` has them all). */
  readonly n: number;
  readonly seed: number;
  readonly timeline: Timeline;
  readonly processes: number;
  /** Worker threads in each process. */
  readonly threadsEach: number;
  readonly ports: readonly number[];
  readonly addresses: readonly string[];
  /** Each peer's first gossip, within the period. */
  readonly phases: readonly number[];
}

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
 * Resolves the options into a plan (finding a free port range when asked for port 0). Throws
 * EmulationSetupError when the run is refused up front.
 */
export async function planRun(options: EmulationOptions): Promise<RunPlan> {
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
  return {
    config,
    openFileLimit,
    n,
    seed,
    timeline,
    processes,
    threadsEach,
    ports,
    addresses,
    phases,
  };
}
