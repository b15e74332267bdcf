import type { BackoffPolicy } from './backoff.js';

/** The time and count limits of one peer. Tests shorten some of them; the CLI uses the defaults. */
export interface PeerLimits {
  /** An inbound connection must send `public_address` within this, as with the original (1-2 s). */
  readonly handshakeTimeoutMs: number;
  /**
   * An outbound connection to a peer of the original gets no reply when the peer knows nobody
   * else; after this long without a frame we take it to be such a peer and count it connected.
   */
  readonly legacyReplyGraceMs: number;
  /** A TCP connect that has not completed by then is a failed dial. */
  readonly connectTimeoutMs: number;
  /** Inbound connections still handshaking; more are refused at once (a flood of silent sockets). */
  readonly maxPendingHandshakes: number;
  /**
   * The same, from one remote IP: one host cannot take every handshake slot. Generous, since an
   * emulated mesh has every peer on 127.0.0.1 and a joining peer dials everyone at once.
   */
  readonly maxPendingHandshakesPerIp: number;
  /** Dials running at once: a long peer list cannot make us open thousands of sockets. */
  readonly maxConcurrentDials: number;
  /** Addresses waiting to be dialed; a hostile 10,000-entry list is cut here. */
  readonly maxQueuedDials: number;
  /** The `--connect` peer may simply not be up yet: keep trying, slowly, until it is. */
  readonly bootstrapBackoff: BackoffPolicy;
  /** Addresses learned from other peers: a few tries, then give up. */
  readonly dialBackoff: BackoffPolicy;
  /**
   * A link that broke (reset, read error, closed without goodbye) is dialed again: quickly at
   * first, since a cut link usually comes back at once, then backing off to at most 5 s between
   * tries, and given up after 10 tries (about half a minute) when the peer is really gone.
   */
  readonly reconnectBackoff: BackoffPolicy;
  /** A duplicate link the other side should close; we close it ourselves after this. */
  readonly supersededGraceMs: number;
  /** A claimed address not proven by then is not believed: the claimant's link is closed. */
  readonly proofTimeoutMs: number;
  /** Dial-back probes at once: each is a socket we open because a remote asked us to. */
  readonly maxConcurrentProofs: number;
  /** Claims waiting for a probe; beyond it a claim fails at once (unproven addresses stay bounded). */
  readonly maxQueuedProofs: number;
  /** How long `stop()` lets sockets flush their goodbye before destroying them. */
  readonly stopGraceMs: number;
}

export const DEFAULT_LIMITS: PeerLimits = {
  handshakeTimeoutMs: 2_000,
  legacyReplyGraceMs: 3_000,
  connectTimeoutMs: 3_000,
  maxPendingHandshakes: 512,
  maxPendingHandshakesPerIp: 256,
  maxConcurrentDials: 64,
  maxQueuedDials: 1_024,
  bootstrapBackoff: { baseMs: 100, maxMs: 5_000, maxAttempts: Number.POSITIVE_INFINITY },
  dialBackoff: { baseMs: 100, maxMs: 5_000, maxAttempts: 6 },
  reconnectBackoff: { baseMs: 50, maxMs: 5_000, maxAttempts: 10 },
  supersededGraceMs: 5_000,
  proofTimeoutMs: 5_000,
  maxConcurrentProofs: 32,
  maxQueuedProofs: 256,
  stopGraceMs: 500,
};
