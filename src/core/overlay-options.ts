/**
 * Every setting of the HyParView + Plumtree overlay, with its default and the reason for it: the
 * one home of these numbers. Paper values are from Leitao, Pereira, Rodrigues: HyParView (DSN 2007,
 * p. 9) and Plumtree (SRDS 2007, p. 12); "iroh" marks a value taken from iroh-gossip's `proto`.
 */
export interface OverlayOptions {
  // ---- HyParView membership ----
  /** Open links kept (the active view). */
  readonly activeViewSize: number;
  /** Known addresses kept as candidates for the active view (the passive view). */
  readonly passiveViewSize: number;
  /** Hops of a newcomer's forward-join walk (ARWL). */
  readonly activeWalkLength: number;
  /** Hop count at which a forward-join walk leaves the newcomer in a passive view (PRWL). */
  readonly passiveWalkLength: number;
  /** Hops of a shuffle walk before it is answered. */
  readonly shuffleWalkLength: number;
  /** Active-view entries sent in a shuffle (ka). */
  readonly shuffleActiveCount: number;
  /** Passive-view entries sent in a shuffle (kp). */
  readonly shufflePassiveCount: number;
  /** Period of the shuffle that keeps the passive view fresh. */
  readonly shuffleIntervalMs: number;
  /** Neighbor requests of ours in flight at most (refills and forward-join walk ends). */
  readonly pendingNeighborMax: number;
  /** A neighbor request not answered this long counts as failed. */
  readonly neighborTimeoutMs: number;
  /** A join left with an empty active view is sent again after this long. */
  readonly joinRetryMs: number;
  /**
   * A node with fewer neighbors than this asks candidates with high priority (which may not be
   * refused) and asks again every `joinRetryMs` until it has them.
   */
  readonly lonelyBelow: number;
  /**
   * A node with fewer neighbors than this (and at least `lonelyBelow`) asks passive candidates
   * with low priority every `joinRetryMs`, and shuffles early when it knows no candidate.
   */
  readonly refillBelow: number;
  /** A connection that neither joined nor became a neighbor is closed after this long. */
  readonly strangerIdleMs: number;
  /** First wait before a view that is not full asks again after a refusal; doubles per refusal... */
  readonly refillBackoffMs: number;
  /** ...up to this long (then the shuffle's own refill comes about as often). */
  readonly refillBackoffMaxMs: number;
  /** Longest wait between two tries of a node with fewer than `lonelyBelow` neighbors. */
  readonly lonelyRetryMaxMs: number;
  /** Former neighbors and contacts remembered to rejoin through when the passive view runs dry. */
  readonly rejoinMemory: number;
  /** Dials (sends to unconnected peers) the membership may start at once... */
  readonly dialBurst: number;
  /** ...and the time in which one more dial is allowed. */
  readonly dialRefillMs: number;

  // ---- Plumtree dissemination ----
  /** Delay that batches lazy-push ids (IHAVE) to one neighbor into one frame. */
  readonly ihaveDelayMs: number;
  /** Ids queued for one lazy neighbor; more are dropped until the next batch leaves. */
  readonly ihaveQueueMax: number;
  /** Wait for an eager copy after an IHAVE before asking for it with GRAFT. */
  readonly graftTimeoutMs: number;
  /** Wait after a GRAFT before asking the next peer that announced the message. */
  readonly graftRetryMs: number;
  /** Both waits grow past their base while GRAFTs are answered late (`RepairTiming`), to this. */
  readonly repairWaitMaxMs: number;
  /** Hops by which an announced copy must beat the eager one to rewire the tree (0: never). */
  readonly optimizationThreshold: number;
  /** How long a delivered id is remembered, so that a late copy counts as a duplicate. */
  readonly seenRetentionMs: number;
  /** Ids remembered at most; the oldest go first. */
  readonly seenCacheMax: number;
  /** How long a payload is kept to answer GRAFTs. */
  readonly payloadRetentionMs: number;
  /** Payloads kept at most; the oldest go first. */
  readonly payloadCacheMax: number;
  /** Announced-but-missing ids tracked at most. */
  readonly missingMax: number;
  /** Missing ids one neighbor may have us track at once. */
  readonly missingPerPeerMax: number;
  /** Timed-out GRAFTs a peer sends at once... */
  readonly graftBurst: number;
  /** ...and the time in which one more may go (the others wait, their announcers kept). */
  readonly graftRefillMs: number;
  /** GRAFT requests for a payload answered from one neighbor at once... */
  readonly graftAnswerBurst: number;
  /** ...and the time in which one more is answered. */
  readonly graftAnswerRefillMs: number;
}

export const DEFAULT_OVERLAY_OPTIONS: OverlayOptions = {
  // Paper: 5 links keep a random graph of 10,000 nodes connected after 80 % fail, at log-scale
  // degree; each link is a socket, so this is also what sets the emulator's file budget.
  activeViewSize: 5,
  // Paper: 30 (k + c with c = 6 times the active view) candidates to promote when links drop.
  passiveViewSize: 30,
  // Paper: ARWL 6, PRWL 3.
  activeWalkLength: 6,
  passiveWalkLength: 3,
  // Paper: shuffles walk as far as joins, with ka = 3 active and kp = 4 passive entries.
  shuffleWalkLength: 6,
  shuffleActiveCount: 3,
  shufflePassiveCount: 4,
  // Half of iroh's 60 s guess: emulations run tens of seconds, and each shuffle costs one
  // short-lived connection (the reply), so every 30 s is 67 connections a second at N = 2,000.
  shuffleIntervalMs: 30_000,
  // A whole refill of the active view plus as many walk ends: more in flight would only ask for
  // links the active view has no room for.
  pendingNeighborMax: 10,
  // iroh: a dial and a round trip on a slow network; each dead candidate holds a refill slot
  // this long, so it also bounds how fast a failed request is replaced when no dial error comes.
  neighborTimeoutMs: 3_000,
  // Long enough for a join's three-message handshake on a loaded host, short enough to heal well
  // inside the 5 s target if the contact dropped us.
  joinRetryMs: 2_000,
  // The paper asks with high priority only from an empty view (1). With 2, a pair of peers that
  // hold only each other (seen after bursts of joins) breaks up at once: every low request of
  // theirs is refused by full peers, so before they waited for a shuffle.
  lonelyBelow: 2,
  // Active views used to be refilled only after a failure or a 30 s shuffle: peers that joined in
  // a burst kept 1-3 links and the graph stayed a long thin tree (diameter 14 at N = 200, hops p50
  // 9). Refilling up to one below the view size heals that within seconds; the last slot is left
  // to failures and shuffles, as every full neighbor refuses a low request (a dial each time).
  refillBelow: 4,
  // A join or neighbor request follows its connection at once; a connection idle this long is not
  // going to become a link, and holding it costs a file.
  strangerIdleMs: 5_000,
  // A refused request means the candidate's view is full; asking the next one at once made peers
  // with 4 of 5 links send ~10 refused requests a second each (simulator, N = 10,000: > 15 min of
  // wall time). 1 s, doubling, with jitter: a view one short is no emergency (lonelyBelow is).
  refillBackoffMs: 1_000,
  // The shuffle period: past it, the shuffle's refill (with fresh candidates) comes first anyway.
  refillBackoffMaxMs: 30_000,
  // A node without neighbors retries its join every joinRetryMs at first, doubling to 8 s: a
  // partition that lasts is not hammered, one that heals is rejoined within 8 s.
  lonelyRetryMaxMs: 8_000,
  // Two active views' worth: a node whose passive view was emptied by failures still knows whom
  // it was linked to; entries are tried once each and dropped when their dial fails.
  rejoinMemory: 10,
  // One refill of a whole active view (5) plus walk ends from three concurrent joins, then 4 a
  // second: a hostile neighbor flooding forward joins or shuffles gets at most that many dials.
  dialBurst: 8,
  dialRefillMs: 250,
  // iroh: 5 ms. Over TCP an IHAVE is a frame like a payload, and at 5 ms every lazy link carried
  // one each way per message: two thirds of all frames (N = 1,000, 10 messages/s: 4,600 frames a
  // message, workers saturated, latency p50 1.9 s). At 50 ms the eager copy has reached both ends
  // of most lazy links before either batch leaves, so only the first end announces (the second
  // knows the first holds it), and an IHAVE no longer races a loaded eager path into a GRAFT.
  ihaveDelayMs: 50,
  // At 10 messages a second one batch holds one id; 256 only bites under a flood.
  ihaveQueueMax: 256,
  // iroh: 80 ms first, 40 ms (about a round trip) between later GRAFTs. Over TCP with 1,000 peers
  // on 2 threads a hop took 100 ms under load: at 80 ms most GRAFTs raced an eager copy still on
  // its way, each costing a payload and a PRUNE more, which loaded the threads further (21,000
  // GRAFTs and 46,000 PRUNEs for 49 messages). 250 ms leaves a loaded hop its time; a repair after
  // a failure comes that much later, well inside the 5 s healing target.
  graftTimeoutMs: 250,
  graftRetryMs: 100,
  // The waits above are for a quiet network; under load (2,000 peers on two threads, a hop about a
  // second) a GRAFT took seconds to be answered. 2 s gives a loaded tree's copy a round trip of
  // time, and a broken branch is still repaired within the 5 s healing target.
  repairWaitMaxMs: 2_000,
  // Paper (p. 12) and iroh: 7.
  optimizationThreshold: 7,
  // iroh: 90 s for ids, so that no late copy is delivered twice.
  seenRetentionMs: 90_000,
  // 90 s at 45 messages a second network-wide: 4,096 ids of about 40 bytes, under 200 KB a peer.
  seenCacheMax: 4_096,
  // A GRAFT comes a few graft timeouts after an IHAVE, and an IHAVE as late as the slowest
  // delivery: 10 s was too short for 2,000 peers on two threads (latency p99 17-23 s), where
  // 2,900 GRAFTs for 99 messages found their payload gone and some peers never got theirs.
  payloadRetentionMs: 30_000,
  // 30 s at 17 messages a second (more only shortens the retention); payloads are at most 256
  // characters.
  payloadCacheMax: 512,
  // One graft round per missing id: under a flood of fake ids this caps both memory and the
  // timers, and legitimate traffic (a few ids in flight) never comes near it.
  missingMax: 1_024,
  // A quarter of the table, so one hostile neighbor cannot crowd out the others' announcements.
  missingPerPeerMax: 256,
  // A GRAFT costs a payload, and when the tree's copy was only late a duplicate and a PRUNE too;
  // under load late copies set off GRAFTs that loaded the threads further (N = 1,000 over TCP:
  // 15,000 GRAFTs in 5 s, latency p50 1.5 s; with 4 at once then 2 a second, p50 0.64 s and
  // payload sends per delivery 1.36 instead of 1.6, but the simulator's 20 % crash then missed
  // live peers). A repair needs one GRAFT per broken branch (the link turns eager for what
  // follows); 16 at once then 10 a second heals the simulator's crash and churn tests.
  graftBurst: 16,
  graftRefillMs: 100,
  // A neighbor that healed asks for what it missed in a burst, then at most 50 a second.
  graftAnswerBurst: 32,
  graftAnswerRefillMs: 20,
};

/** The defaults with `overrides` applied, checked for values the protocol cannot run with. */
export function resolveOverlayOptions(overrides: Partial<OverlayOptions> = {}): OverlayOptions {
  const options: OverlayOptions = { ...DEFAULT_OVERLAY_OPTIONS, ...overrides };
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`overlay option ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (options.activeViewSize < 1)
    throw new RangeError('overlay option activeViewSize must be >= 1');
  if (options.passiveWalkLength > options.activeWalkLength) {
    throw new RangeError('overlay option passiveWalkLength must not exceed activeWalkLength');
  }
  return options;
}
