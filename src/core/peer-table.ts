import type { Direction, LinkConnection, RemoteIdentity } from './links.js';

/** One live link: the single connection kept to one remote peer. */
export interface Link<C extends LinkConnection = LinkConnection> {
  readonly key: string;
  /** Identified only because an outbound connection stayed silent: perhaps one of ours, slow. */
  readonly presumedLegacy: boolean;
  readonly address: string;
  connection: C;
  /** Every address this peer was reached or announced under; none of them is dialed again. */
  readonly aliases: Set<string>;
  /**
   * The address is proven: we dialed it ourselves, or its claimant passed the dial-back. Until
   * then it is neither passed on, nor redialed, nor is its peer list acted on.
   */
  proven: boolean;
  /**
   * Proven only on a relay's word (a peer linked to both passed our nonce), not by us: not
   * redialed after a break, not trusted as a relay in turn, and proven again by our own dial-back
   * when another node claims its address.
   */
  vouched: boolean;
}

/** A link as shown to observers. */
export interface LinkView {
  readonly peer: string;
  readonly nodeId?: string;
  readonly direction: Direction;
}

/**
 * The peer table: one link per remote peer, keyed by node id (or `addr:` + address for a peer of
 * the original), findable by every address it is known under.
 */
export class PeerTable<C extends LinkConnection> {
  readonly #links = new Map<string, Link<C>>();
  /** address -> link key, for every alias of every link */
  readonly #byAddress = new Map<string, string>();

  get size(): number {
    return this.#links.size;
  }

  values(): IterableIterator<Link<C>> {
    return this.#links.values();
  }

  get(key: string): Link<C> | undefined {
    return this.#links.get(key);
  }

  /**
   * The link of the node `connection` was identified as, whichever connection it holds now (a
   * duplicate or a candidate finds the link too: compare `link.connection` to tell).
   */
  of(connection: C): Link<C> | undefined {
    const key = connection.identity?.key;
    return key === undefined ? undefined : this.#links.get(key);
  }

  /** The key of the link known under `address`, if any. */
  keyOf(address: string): string | undefined {
    return this.#byAddress.get(address);
  }

  /** The link known under `address` (any of its aliases), if any. */
  at(address: string): Link<C> | undefined {
    const key = this.#byAddress.get(address);
    return key === undefined ? undefined : this.#links.get(key);
  }

  add(connection: C, identity: RemoteIdentity, presumedLegacy: boolean): Link<C> {
    const link: Link<C> = {
      key: identity.key,
      presumedLegacy,
      address: identity.address,
      connection,
      aliases: new Set([identity.address]),
      proven: false,
      vouched: false,
    };
    this.#links.set(link.key, link);
    this.#byAddress.set(link.address, link.key);
    return link;
  }

  /** Files another address the link's peer is known under. */
  alias(link: Link<C>, address: string): void {
    link.aliases.add(address);
    this.#byAddress.set(address, link.key);
  }

  remove(link: Link<C>): void {
    this.#links.delete(link.key);
    // An alias may have moved on to another link since (a restarted peer, a new node id).
    for (const alias of link.aliases) {
      if (this.#byAddress.get(alias) === link.key) this.#byAddress.delete(alias);
    }
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
