/**
 * Link arbitration, free of I/O: which of the connections to one remote node is the link, and
 * what becomes of every other one. The driver (`src/peer/`) owns the sockets; it asks `arbitrate`
 * each time a connection is identified, and carries out the answer. Every connection that is not
 * the link is retired here, never forgotten: the loser of a tie-break, a duplicate of a reconnect,
 * a second candidate. That rule is what keeps exactly one TCP connection per linked pair.
 *
 * Issue 11 (deciding who dials by node id) plugs in here too: `preferredDirection` is the one
 * statement of which connection both ends keep.
 */

/** Who dialed a connection: `outbound` when this peer did, `inbound` when the remote one did. */
export type Direction = 'inbound' | 'outbound';

/** Who is at the other end, once its first frame (or the legacy grace period) told us. */
export interface RemoteIdentity {
  /** The link key: the node id, or `addr:` + address for peers of the original. */
  readonly key: string;
  /** The address the peer is reachable at: the one we dialed, or the one it announced. */
  readonly address: string;
  readonly nodeId?: string;
  readonly features: ReadonlySet<string>;
  /** For an inbound claim: the node id of a peer linked to both that may vouch for it. */
  readonly via?: string;
}

/** What arbitration needs to know of a connection (the driver's `Connection` is one). */
export interface LinkConnection {
  /** Unique among this peer's connections, for the life of the peer. */
  readonly id: number;
  readonly direction: Direction;
  readonly identity: RemoteIdentity | undefined;
  /** Closing or closed: it carries nothing more. */
  readonly closed: boolean;
}

const LEGACY_PREFIX = 'addr:';

/** The link key of a remote: its node id, or its address for a peer of the original. */
export function linkKey(address: string, nodeId: string | undefined): string {
  return nodeId ?? `${LEGACY_PREFIX}${address}`;
}

/** Whether a link key names a peer of the original (no node id). */
export function isLegacyKey(key: string): boolean {
  return key.startsWith(LEGACY_PREFIX);
}

/**
 * Of two connections between us and the node `remoteId`, the direction both ends keep: the one
 * dialed by the smaller node id. A peer of the original (no node id) keeps the one it dialed,
 * since it registered that one first (it orphans the other without answering on it).
 */
export function preferredDirection(ownId: string, remoteId: string | undefined): Direction {
  if (remoteId === undefined) return 'inbound';
  return remoteId < ownId ? 'inbound' : 'outbound';
}

/**
 * When a retired connection is closed. `now`: at once, because the other end cannot be using it
 * as its link (we are the smaller node id and hold the kept one; it is a stale connection of the
 * same direction; the remote is a peer of the original, which orphaned it). `later`: the other end
 * may still be switching to the kept one (it closes the loser itself once it holds the kept one,
 * within a round trip); we close it after a grace period that bounds a non-link's life.
 */
export type Retire = 'now' | 'later';

function retireTiming(dropped: LinkConnection, kept: LinkConnection, ownId: string): Retire {
  const remoteId = dropped.identity?.nodeId ?? kept.identity?.nodeId;
  if (dropped.direction === kept.direction || remoteId === undefined) return 'now';
  return ownId < remoteId ? 'now' : 'later';
}

/** What to do with a newly identified connection to a node that already has a link. */
export type Arbitration =
  /** Already the link: nothing to do. */
  | { readonly kind: 'same' }
  /** The link stays where it is; the newcomer is retired. */
  | { readonly kind: 'keep-existing'; readonly retire: Retire }
  /** The link moves to the newcomer; the old connection is retired. */
  | { readonly kind: 'switch'; readonly retire: Retire }
  /**
   * The tie-break prefers the newcomer, an inbound claim, over a live proven link: it must prove
   * the address first (a node id is public, so an impostor could copy it). It stays a candidate.
   */
  | { readonly kind: 'prove-first' }
  /** A candidate is already under proof for this link: the newcomer is retired at once. */
  | { readonly kind: 'refuse' };

/** The link's side of arbitration. */
export interface LinkState<C extends LinkConnection> {
  readonly connection: C;
  /** The link's address is proven (we dialed it, or its claim passed the dial-back). */
  readonly proven: boolean;
  /** An inbound connection waits for its proof to take this link over. */
  readonly hasCandidate: boolean;
}

/** Decides between a link's connection and a newly identified one to the same node. */
export function arbitrate<C extends LinkConnection>(
  link: LinkState<C>,
  incoming: C,
  ownId: string,
): Arbitration {
  const current = link.connection;
  if (current === incoming) return { kind: 'same' };
  // A link whose connection is already going carries nothing more: the newcomer takes over.
  if (current.closed) return { kind: 'switch', retire: 'now' };
  const remoteId = incoming.identity?.nodeId;
  // Same direction: a reconnect racing its stale predecessor; the newer one is live.
  const incomingWins =
    current.direction === incoming.direction ||
    incoming.direction === preferredDirection(ownId, remoteId);
  if (!incomingWins)
    return { kind: 'keep-existing', retire: retireTiming(incoming, current, ownId) };
  if (incoming.direction === 'inbound' && link.proven) {
    return link.hasCandidate ? { kind: 'refuse' } : { kind: 'prove-first' };
  }
  return { kind: 'switch', retire: retireTiming(current, incoming, ownId) };
}

/** When a candidate that passed its proof (or a closed link's candidate) takes the link over. */
export function retireAfterCandidate<C extends LinkConnection>(
  dropped: C,
  kept: C,
  ownId: string,
): Retire {
  return retireTiming(dropped, kept, ownId);
}

/**
 * Whether a link that closed is dialed again: only one that broke (a reset, a read error, the
 * remote closing without goodbye), never one closed on purpose by either side (a goodbye, a
 * violation, a duplicate), and only at a proven address (an unproven one may be anyone's).
 */
export function redialAfterClose(closedLocally: boolean, proven: boolean): boolean {
  return !closedLocally && proven;
}
