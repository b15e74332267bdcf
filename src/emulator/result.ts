import type { AppliedFault } from './faults.js';
import type { LatencyStats } from './latency.js';
import type { OverlayReport } from './overlay-result.js';

/**
 * Everything one emulation run measured, as plain data: what the CLI renders (as tables or as
 * JSON) and what benchmarks read. Times are milliseconds; absent figures are null, so the JSON
 * document always has every field.
 */

/** `mesh`: every pair of peers linked. `timeout`: --timeout ran out first. `failed`: a peer could
 * not listen or its thread died. `interrupted`: stopped by the caller (Ctrl-C). */
export type EmulationStatus = 'mesh' | 'timeout' | 'failed' | 'interrupted';

export interface EmulationConfig {
  readonly peers: number;
  readonly basePort: number;
  /** Worker threads hosting the peers, in all processes together. */
  readonly threads: number;
  /**
   * Processes hosting the peers: 1 (this one), or child processes, each with its own open-file
   * limit, when a full mesh needs more files than one process may hold (or --processes says so).
   */
  readonly processes: number;
  readonly periodMs: number;
  readonly durationMs: number;
  /** Infinity (null in JSON) when nothing times out: `--ui` without `--timeout`. */
  readonly timeoutMs: number;
  /** `full` (the original's full mesh) or the partial overlay's kind, e.g. `hyparview`. */
  readonly overlay: string;
  /** Messages a second sent across the whole network by the emulator (--rate); null: --period. */
  readonly rate: number | null;
}

/** One peer as the run left it. */
export interface PeerReport {
  readonly port: number;
  /** The address it advertised (or would have). */
  readonly address: string;
  /** When it started listening, after launch; null if it never did. */
  readonly listenedMs: number | null;
  /** Ports of the emulated peers it reported linked, ascending. */
  readonly neighbours: readonly number[];
  /** Addresses it reported linked that are no emulated peer's. */
  readonly foreign: readonly string[];
  /** Why it is not running: could not listen, or its thread died. */
  readonly error: string | null;
}

export interface MeshTimes {
  /** From the launch of the run (pool start included). */
  readonly fromLaunchMs: number;
  /** From the moment the first peer listened. */
  readonly fromFirstStartMs: number;
  /** From the moment the last peer listened. */
  readonly fromLastStartMs: number;
}

export interface LinkCounts {
  /** Pairs of peers that both report the link. */
  readonly formed: number;
  /** Pairs in a full mesh: n(n-1)/2. */
  readonly expected: number;
  /** Pairs where only one side reports the link. */
  readonly oneSided: number;
}

/**
 * Established TCP connections accepted on the peers' ports, from the kernel's table (what `ss`
 * counts: one per connection, whoever dialed), beside the links the peers report. Null where it
 * was not counted (the mesh never formed) or cannot be (no /proc/net/tcp).
 */
export interface SocketCounts {
  /** Right after the full mesh formed (duplicates and probes may still be closing). */
  readonly formed: number | null;
  /** When stopping began. */
  readonly end: number | null;
}

/**
 * What forming the mesh cost in connections and peer lists, up to the full mesh (up to the end
 * when it did not form), counted by each worker thread's `net` diagnostics channels.
 */
export interface ConnectionCounts {
  /** TCP connections opened (each accepted by a peer): dials, losing duplicates, proof probes. */
  readonly opened: number;
  /** Connection attempts, refused ones included. */
  readonly attempted: number;
  /** `opened` per link formed; null when no link formed. */
  readonly perLink: number | null;
  /** Bytes of `known_peers` frames (headers included) received by the peers. */
  readonly peerListBytes: number;
  /** `peerListBytes` per link formed; null when no link formed. */
  readonly peerListBytesPerLink: number | null;
  /** Links formed when counted. */
  readonly links: number;
}

/** Open files of the processes hosting the peers, each under its own limit. */
export interface OpenFileCounts {
  /** The open-file limit of each process (`ulimit -n`); null when unknown. */
  readonly limit: number | null;
  /** The most any one process held at once (the largest of `perProcess`); null where unread. */
  readonly peak: number | null;
  /** Each hosting process's peak, sampled every 250 ms while the run lasted. */
  readonly perProcess: readonly number[];
}

export interface MessageCounts {
  /** How long messages were measured (--duration, as run). */
  readonly windowMs: number;
  /**
   * How long the run then waited for the window's deliveries: until all were in, or no new one
   * came for 2 s (at most 60 s). 0 without a window.
   */
  readonly drainMs: number;
  /** Gossip messages sent during the window. */
  readonly sent: number;
  /** Deliveries those messages should make: the links each was sent on, summed. */
  readonly expected: number;
  /** Deliveries of those messages that were reported received. */
  readonly received: number;
}

export interface EmulationResult {
  readonly status: EmulationStatus;
  readonly config: EmulationConfig;
  /** Epoch milliseconds on the clock shared by every thread. */
  readonly launchedAt: number;
  readonly elapsedMs: number;
  /** From launch until the last peer listened; null if some never did. */
  readonly allListeningMs: number | null;
  /** Null unless the full mesh formed. */
  readonly mesh: MeshTimes | null;
  readonly links: LinkCounts;
  readonly sockets: SocketCounts;
  readonly connections: ConnectionCounts;
  readonly openFiles: OpenFileCounts;
  /** Port pairs [lower, higher] without a link both sides report, ascending. */
  readonly missingLinks: ReadonlyArray<readonly [number, number]>;
  readonly messages: MessageCounts;
  /** Over every (message, receiver) pair of the window; null when there was none. */
  readonly latencyMs: LatencyStats | null;
  readonly peers: readonly PeerReport[];
  /** The overlay's shape and message figures; null for a full mesh. */
  readonly overlay: OverlayReport | null;
  /** One line per problem (a taken port, a dead thread), for people. */
  readonly failures: readonly string[];
  /** Seed of the run's choices (gossip phases, the faults' schedule and peers, link delays). */
  readonly seed: number;
  /** The faults carried out, in order: the timeline's during the measured window (`--kill`, `--scenario`, ...), and those dealt from the live view (`live`). */
  readonly faults: readonly AppliedFault[];
}
