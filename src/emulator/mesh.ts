import type { PeerEvent } from '../peer/events.js';
import type { LinkCounts } from './result.js';

/**
 * Who is linked to whom, built only from the peers' own 'connected' and 'disconnected' events,
 * each keyed by the address the reporting peer gives. Pure bookkeeping: no I/O, no clock.
 */
export class MeshState {
  readonly #addresses: readonly string[];
  readonly #index: ReadonlyMap<string, number>;
  /** Per peer: address -> how many of its links carry it (a peer may briefly hold two). */
  readonly #views: Map<string, number>[];
  /** Peers running: the first `live` of `addresses` unless faults start and end others. */
  readonly #live: Set<number>;
  #mutual = 0;

  /** `addresses[i]` is the address peer i advertises; the first `live` (default all) run. */
  constructor(addresses: readonly string[], live = addresses.length) {
    this.#addresses = addresses;
    this.#index = new Map(addresses.map((a, i) => [a, i]));
    this.#views = addresses.map(() => new Map());
    this.#live = new Set(Array.from({ length: live }, (_, i) => i));
  }

  /** Peers running, whose links count. */
  get size(): number {
    return this.#live.size;
  }

  /** Indices of the running peers, ascending. */
  get live(): number[] {
    return [...this.#live].sort((a, b) => a - b);
  }

  /** Peer `i` starts (again): it reports links from nothing. */
  started(i: number): void {
    this.ended(i);
    this.#live.add(i);
  }

  /** Peer `i` ended (a fault): its links are gone with it, whatever the others report yet. */
  ended(i: number): void {
    const view = this.#views[i];
    if (view === undefined) return;
    for (const address of view.keys()) if (this.#reportedBy(address, i)) this.#mutual--;
    view.clear();
    this.#live.delete(i);
  }

  /** Pairs linked in both directions. */
  get mutualLinks(): number {
    return this.#mutual;
  }

  get expectedLinks(): number {
    return (this.size * (this.size - 1)) / 2;
  }

  get complete(): boolean {
    return this.#mutual === this.expectedLinks;
  }

  /** Applies one event reported by peer `reporter`; true when its links changed. */
  apply(reporter: number, event: PeerEvent): boolean {
    const view = this.#views[reporter];
    if (view === undefined) return false;
    if (event.type === 'connected') {
      const count = view.get(event.peer) ?? 0;
      view.set(event.peer, count + 1);
      if (count === 0 && this.#reportedBy(event.peer, reporter)) this.#mutual++;
      return count === 0;
    }
    if (event.type === 'disconnected') {
      const count = view.get(event.peer);
      if (count === undefined) return false;
      if (count > 1) {
        view.set(event.peer, count - 1);
        return false;
      }
      view.delete(event.peer);
      if (this.#reportedBy(event.peer, reporter)) this.#mutual--;
      return true;
    }
    return false;
  }

  /**
   * Forgets every link peer `reporter` reported: a peer that stops says nothing of the links it
   * closes, yet holds none. True when its links changed.
   */
  clear(reporter: number): boolean {
    const view = this.#views[reporter];
    if (view === undefined || view.size === 0) return false;
    for (const address of view.keys()) {
      if (this.#reportedBy(address, reporter)) this.#mutual--;
    }
    view.clear();
    return true;
  }

  /** Whether the peer at `address` reports a link to peer `other`. */
  #reportedBy(address: string, other: number): boolean {
    const index = this.#index.get(address);
    const otherAddress = this.#addresses[other];
    if (index === undefined || index === other || otherAddress === undefined) return false;
    return this.#views[index]?.has(otherAddress) ?? false;
  }

  /** Indices of the emulated peers that peer `i` reports linked, ascending. */
  neighbours(i: number): number[] {
    const result: number[] = [];
    for (const address of this.#views[i]?.keys() ?? []) {
      const index = this.#index.get(address);
      if (index !== undefined && index !== i) result.push(index);
    }
    return result.sort((a, b) => a - b);
  }

  /**
   * How many of peer `i`'s links lead to a peer that runs: its emulated neighbours the emulator
   * has not seen end, plus its links outside the emulation. A peer that was killed is still in
   * its senders' views until they notice (a reset, or the heartbeat), and what they send it then
   * is no delivery the network could make.
   */
  liveReceivers(i: number): number {
    let count = 0;
    for (const address of this.#views[i]?.keys() ?? []) {
      const index = this.#index.get(address);
      if (index === undefined || (index !== i && this.#live.has(index))) count++;
    }
    return count;
  }

  /**
   * The running peers' links as an adjacency list by position in `live` (links to peers that
   * ended dropped): the graph the overlay figures are about. Indexing by peer index up to `size`
   * instead counted peers a fault ended as lone components and left out those it started.
   */
  liveAdjacency(): number[][] {
    const live = this.live;
    const position = new Map(live.map((i, k) => [i, k]));
    return live.map((i) => this.neighbours(i).flatMap((j) => position.get(j) ?? []));
  }

  /** Addresses peer `i` reports linked that are no emulated peer's. */
  foreign(i: number): string[] {
    return [...(this.#views[i]?.keys() ?? [])].filter((a) => !this.#index.has(a)).sort();
  }
}

/** Link counts of a network given each peer's neighbours (by index or by port; ids unique). */
export function countLinks(
  ids: readonly number[],
  neighbours: readonly (readonly number[])[],
): LinkCounts {
  const sets = neighbours.map((n) => new Set(n));
  let formed = 0;
  let oneSided = 0;
  ids.forEach((a, i) => {
    ids.forEach((b, j) => {
      if (j <= i) return;
      const ab = sets[i]?.has(b) ?? false;
      const ba = sets[j]?.has(a) ?? false;
      if (ab && ba) formed++;
      else if (ab || ba) oneSided++;
    });
  });
  return { formed, expected: (ids.length * (ids.length - 1)) / 2, oneSided };
}

/** Pairs [a, b] of `ids` (a before b) without a link both report. */
export function missingLinks(
  ids: readonly number[],
  neighbours: readonly (readonly number[])[],
): Array<[number, number]> {
  const sets = neighbours.map((n) => new Set(n));
  const missing: Array<[number, number]> = [];
  ids.forEach((a, i) => {
    ids.forEach((b, j) => {
      if (j > i && !(sets[i]?.has(b) && sets[j]?.has(a))) missing.push([a, b]);
    });
  });
  return missing;
}
