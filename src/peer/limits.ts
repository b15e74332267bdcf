import type { BackoffPolicy } from '../core/backoff.js';
import { DEAD_AFTER_PERIODS } from '../core/liveness.js';
import type { BucketPolicy } from '../core/token-bucket.js';

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
  /**
   * A retired connection the other side should close (we hold the larger node id, so the smaller
   * closes it once it holds the kept one, within a round trip); we close it ourselves after this.
   * It bounds the life of every non-link connection that is not a probe, a candidate or still
   * handshaking (those have their own deadlines): one TCP connection per pair within about 1 s.
   */
  readonly supersededGraceMs: number;
  /**
   * What the peer lists of one remote can make us dial: a token per address that is not linked
   * yet. Burst 256: the largest full mesh one process holds is 119 peers, and a remote can name at
   * most the rest of the network, so a mesh twice that size still forms at full speed; refill 1 a
   * second, about one newcomer a second a remote could honestly tell us of. Bitcoin's address
   * relay: burst 1,000, 0.1 a second. A hostile list of 1,000 costs 256 dials, then one a second.
   */
  readonly addressBudget: BucketPolicy;
  /**
   * Addresses from the lists of one unproven claimant, held until its proof (then acted on) or
   * its failure (then dropped): one full list.
   */
  readonly maxHeldAddresses: number;
  /** A claimed address not proven by then is not believed: the claimant's link is closed. */
  readonly proofTimeoutMs: number;
  /**
   * After asking the peer that listed a smaller address to introduce us (`introduce`), how long
   * we wait for that peer's dial before dialing it ourselves; 0 dials at once (both may dial).
   * The introduction takes two hops on links already open: milliseconds on loopback.
   */
  readonly introductionWaitMs: number;
  /**
   * Introductions one remote may ask of us, and that one remote may make us follow: each costs a
   * frame or a dial. A full mesh of N asks up to N - 1 of one peer at once; burst 1,024 keeps
   * meshes of a thousand at full speed. Separate from `addressBudget`: charged to it, meshes of
   * 300 ran dry and waited the 3 s of `introductionWaitMs` (review, simulator, Nov 26).
   */
  readonly introductionBudget: BucketPolicy;
  /**
   * A proof's nonce sent over a connection we dialed to the claimant, or through a relay, that
   * brought no echo within this long gets a probe connection too (either echo proves). The echo
   * takes milliseconds on loopback and a few hundred on a loaded emulator. Without it, a nonce
   * the other end dropped (a connection it was retiring) waited out the whole proof timeout: in
   * meshes of 100, 1,317 links closed for PROOF_TIMEOUT in one run that took 17 s to form (7.9 s
   * for the same seed without inline proofs). Relayed nonces that a relay held back until its own
   * proof of the claimant, at 1 s: 99 probes (the bootstrap claims) for 4,950 links in 8 of 8
   * meshes of 100; 3 s changed nothing.
   */
  readonly proofChannelFallbackMs: number;
  /** Dial-back probes at once: each is a socket we open because a remote asked us to. */
  readonly maxConcurrentProofs: number;
  /** Claims waiting for a probe; beyond it a claim fails at once (unproven addresses stay bounded). */
  readonly maxQueuedProofs: number;
  /** How long `stop()` lets sockets flush their goodbye before destroying them. */
  readonly stopGraceMs: number;
  /** Silent gossip periods before a link is declared dead (the `heartbeat` extension). */
  readonly heartbeatDeadAfterPeriods: number;
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
  supersededGraceMs: 1_000,
  addressBudget: { burst: 256, refillPerSecond: 1, maxBuckets: 1_024 },
  maxHeldAddresses: 1_000,
  proofTimeoutMs: 5_000,
  introductionWaitMs: 3_000,
  introductionBudget: { burst: 1_024, refillPerSecond: 16, maxBuckets: 1_024 },
  proofChannelFallbackMs: 1_000,
  maxConcurrentProofs: 32,
  maxQueuedProofs: 256,
  stopGraceMs: 500,
  heartbeatDeadAfterPeriods: DEAD_AFTER_PERIODS,
};
