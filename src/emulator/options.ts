import type { PeerEvent } from '../peer/events.js';
import type { PeerLimits } from '../peer/limits.js';
import { PEER_DEFAULTS } from '../peer/options.js';
import type { OverlaySettings } from '../peer/overlay-protocol.js';
import type { Scenario } from '../scenario/model.js';
import type { EmulationResult } from './result.js';
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
  /** Whether peers take a proof through a peer linked to both (default true; see PeerOptions). */
  readonly relayProofs?: boolean;
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
