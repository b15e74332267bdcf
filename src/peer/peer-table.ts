import type { Connection, RemoteIdentity } from './connection.js';
import type { Direction } from './events.js';

/** One live link: the single connection kept to one remote peer. */
export interface Link {
  readonly key: string;
  /** Identified only because an outbound connection stayed silent: perhaps one of ours, slow. */
  readonly presumedLegacy: boolean;
  readonly address: string;
  connection: Connection;
  /** Every address this peer was reached or announced under; none of them is dialed again. */
  readonly aliases: Set<string>;
  /**
   * When the address was proven, as a step of the table's proof sequence: we dialed it ourselves,
   * or its claimant passed the dial-back. Undefined while unproven: the address is then neither
   * passed on nor redialed.
   */
  provenSeq: number | undefined;
  /** Up to which step of the proof sequence this peer has been told our proven links. */
  toldSeq: number;
}

/** A link as shown to observers. */
export interface LinkView {
  readonly peer: string;
  readonly nodeId?: string;
  readonly direction: Direction;
}

/**
 * Of two connections to one peer, the one both ends keep: the one dialed by the smaller node id.
 * A peer of the original keeps the one it dialed, so we do too. Two connections dialed the same
 * way (a reconnect racing its stale predecessor) keep the newer, `candidate`.
 */
export function preferredConnection(
  current: Connection,
  candidate: Connection,
  ownId: string,
): Connection {
  if (current.direction === candidate.direction) return candidate;
  const remoteId = candidate.identity?.nodeId;
  const inbound = current.direction === 'inbound' ? current : candidate;
  const outbound = inbound === current ? candidate : current;
  if (remoteId === undefined) return inbound;
  return remoteId < ownId ? inbound : outbound;
}

/**
 * Whether this end closes a dropped duplicate now. The peer with the smaller id closes it, and only
 * once it holds the kept one, so the other end never sees its live link close; the larger end (or
 * the end facing a peer of the original, which closes it itself) just stops using it.
 */
export function closesDuplicate(dropped: Connection, kept: Connection, ownId: string): boolean {
  const remoteId = dropped.identity?.nodeId;
  return kept.direction === dropped.direction || (remoteId !== undefined && ownId < remoteId);
}

/**
 * The peer table: one link per remote peer, keyed by node id (or `addr:` + address for a peer of
 * the original), findable by every address it is known under, and the order in which the links'
 * addresses were proven, so that each peer can be told exactly what is new to it.
 */
export class PeerTable {
  readonly #links = new Map<string, Link>();
  /** address -> link key, for every alias of every link */
  readonly #byAddress = new Map<string, string>();
  #provenSeq = 0;

  get size(): number {
    return this.#links.size;
  }

  /** The current step of the proof sequence. */
  get provenSeq(): number {
    return this.#provenSeq;
  }

  values(): IterableIterator<Link> {
    return this.#links.values();
  }

  get(key: string): Link | undefined {
    return this.#links.get(key);
  }

  /** The key of the link known under `address`, if any. */
  keyOf(address: string): string | undefined {
    return this.#byAddress.get(address);
  }

  /** The link known under `address` (any of its aliases), if any. */
  at(address: string): Link | undefined {
    const key = this.#byAddress.get(address);
    return key === undefined ? undefined : this.#links.get(key);
  }

  add(
    connection: Connection,
    identity: RemoteIdentity,
    presumedLegacy: boolean,
    toldSeq: number,
  ): Link {
    const link: Link = {
      key: identity.key,
      presumedLegacy,
      address: identity.address,
      connection,
      aliases: new Set([identity.address]),
      provenSeq: undefined,
      toldSeq,
    };
    this.#links.set(link.key, link);
    this.#byAddress.set(link.address, link.key);
    return link;
  }

  /** Files another address the link's peer is known under. */
  alias(link: Link, address: string): void {
    link.aliases.add(address);
    this.#byAddress.set(address, link.key);
  }

  remove(link: Link): void {
    this.#links.delete(link.key);
    // An alias may have moved on to another link since (a restarted peer, a new node id).
    for (const alias of link.aliases) {
      if (this.#byAddress.get(alias) === link.key) this.#byAddress.delete(alias);
    }
  }

  /** Addresses we vouch for: only proven ones are ever passed on. */
  provenAddresses(include: (link: Link) => boolean = () => true): string[] {
    const addresses: string[] = [];
    for (const link of this.#links.values()) {
      if (link.provenSeq !== undefined && include(link)) addresses.push(link.address);
    }
    return addresses;
  }

  /**
   * Marks the link's address proven and returns the proven addresses its peer has not been told
   * yet (those proven since it was last told), which the caller sends it.
   */
  prove(link: Link): string[] {
    link.provenSeq = ++this.#provenSeq;
    const told = link.toldSeq;
    link.toldSeq = this.#provenSeq;
    return this.provenAddresses((l) => l !== link && (l.provenSeq ?? 0) > told);
  }

  /** The view: the address of every linked peer, sorted. */
  addresses(): string[] {
    return [...this.#links.values()].map((l) => l.address).sort();
  }

  views(): LinkView[] {
    return [...this.#links.values()].map((l) => ({
      peer: l.address,
      direction: l.connection.direction,
      ...(l.connection.identity?.nodeId === undefined
        ? {}
        : { nodeId: l.connection.identity.nodeId }),
    }));
  }
}
