import { DEFAULT_LIMITS, type PeerLimits } from './limits.js';
import type { ShapingConfig } from './shaping.js';

/** How one peer is configured: the CLI's flags, the emulator's and the tests' settings. */
export interface PeerOptions {
  /** TCP port to listen on; 0 lets the system pick one. Default 8080, as the original. */
  readonly port?: number;
  /** Interface to bind; the original binds every IPv4 interface. */
  readonly bindHost?: string;
  /** Host sent to peers as ours (`--address`). */
  readonly advertisedHost?: string;
  /** `host:port` of the peer to join through (`--connect`). */
  readonly connect?: string;
  /** Gossip period in milliseconds. */
  readonly periodMs?: number;
  /**
   * Delay before the first gossip, then every period. Default: one period, as the original. Hosts
   * that start many peers at one instant spread them over the period, as peers started
   * independently would be.
   */
  readonly firstGossipMs?: number;
  /** Our node id: 32 random hex characters unless given. */
  readonly nodeId?: string;
  readonly limits?: Partial<PeerLimits>;
  /**
   * Prove the address each inbound peer claims before passing it on (default true). False trusts
   * every claim, as the original does: a knob for measuring what the proofs cost.
   */
  readonly proveAddresses?: boolean;
  /**
   * Take a claim as proven when a peer linked to both ends, itself proven, passes our nonce to the
   * claimant (default true: one connection per link). False proves every claim by our own dial-back
   * (a second connection per inbound link) and trusts no other peer's proof; such a peer does not
   * announce `relay-proof`, so its own claims are proven by dial-back too.
   */
  readonly relayProofs?: boolean;
  /** Link shaping and partitions between this peer and its sockets (emulate's faults). */
  readonly shaping?: ShapingConfig;
}

/** Every default of a peer, in one place: the CLI, the emulator and `Peer` read them here. */
export const PEER_DEFAULTS = {
  /** The original's `--port` default. */
  port: 8080,
  /** The original listens on every IPv4 interface. */
  bindHost: '0.0.0.0',
  /** The original's `--address` default. */
  advertisedHost: '127.0.0.1',
  /** The original's `--period` default, 2 s. */
  periodMs: 2_000,
  proveAddresses: true,
  relayProofs: true,
} as const;

/** The options with every default filled in. */
export interface ResolvedPeerOptions {
  readonly port: number;
  readonly bindHost: string;
  readonly advertisedHost: string;
  readonly connect: string | undefined;
  readonly periodMs: number;
  readonly firstGossipMs: number;
  readonly limits: PeerLimits;
  readonly proveAddresses: boolean;
  readonly relayProofs: boolean;
}

export function resolveOptions(options: PeerOptions): ResolvedPeerOptions {
  const periodMs = options.periodMs ?? PEER_DEFAULTS.periodMs;
  return {
    port: options.port ?? PEER_DEFAULTS.port,
    bindHost: options.bindHost ?? PEER_DEFAULTS.bindHost,
    advertisedHost: options.advertisedHost ?? PEER_DEFAULTS.advertisedHost,
    connect: options.connect,
    periodMs,
    firstGossipMs: options.firstGossipMs ?? periodMs,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    proveAddresses: options.proveAddresses ?? PEER_DEFAULTS.proveAddresses,
    relayProofs: options.relayProofs ?? PEER_DEFAULTS.relayProofs,
  };
}

export { DEFAULT_LIMITS, type PeerLimits };
