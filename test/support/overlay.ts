import type { TestContext } from 'node:test';
import { createRng } from '../../src/core/rng.js';
import { findFreePortRange, randomBootstrap } from '../../src/emulator/bootstrap.js';
import type { PeerEvent } from '../../src/peer/events.js';
import { OverlayPeer, type OverlayPeerOptions } from '../../src/peer/overlay-peer.js';
import { componentsOf, symmetric } from '../../src/report/graph.js';
import type { Endpoint } from './kernel.js';
import { until } from './wait.js';

/** Overlay test peers: loopback only, no gossip of their own (tests send what they count). */
export const TEST_OVERLAY: OverlayPeerOptions = {
  bindHost: '127.0.0.1',
  periodMs: 0,
  overlay: { kind: 'hyparview' },
};

/**
 * `n` overlay peers on consecutive free ports (so the kernel's connections between them can be
 * counted by port), each with a seeded core; stopped (at once) after the test. Not joined yet.
 */
export async function startOverlay(
  t: TestContext,
  n: number,
  options: Partial<OverlayPeerOptions> = {},
): Promise<OverlayNet> {
  const base = await findFreePortRange(n);
  const peers: OverlayPeer[] = [];
  t.after(() => Promise.all(peers.map((p) => p.stop(false))));
  for (let i = 0; i < n; i++) {
    const peer = new OverlayPeer({
      ...TEST_OVERLAY,
      ...options,
      port: base + i,
      overlay: { ...TEST_OVERLAY.overlay, ...options.overlay, seed: 1_000 + i },
    });
    await peer.start();
    peers.push(peer);
  }
  return new OverlayNet(peers, base);
}

/** The overlay as its peers report it: links from their `connected` / `disconnected` events. */
export class OverlayNet {
  readonly #views: Array<Set<string>>;
  readonly #index: Map<string, number>;
  readonly #received = new Map<string, Set<number>>();
  readonly stopped = new Set<number>();
  /** When a peer last reported a link up or down (performance.now()). */
  lastLinkChange = performance.now();

  constructor(
    readonly peers: readonly OverlayPeer[],
    readonly basePort: number,
  ) {
    this.#views = peers.map(() => new Set());
    this.#index = new Map(peers.map((p, i) => [p.advertised, i]));
    peers.forEach((peer, i) => {
      peer.events.subscribe((e) => this.#onEvent(i, e));
    });
  }

  #onEvent(i: number, event: PeerEvent): void {
    if (event.type === 'connected') this.#views[i]?.add(event.peer);
    if (event.type === 'disconnected') this.#views[i]?.delete(event.peer);
    if (event.type === 'connected' || event.type === 'disconnected') {
      this.lastLinkChange = performance.now();
    }
    if (event.type === 'message-received') {
      const who = this.#received.get(event.text) ?? new Set();
      who.add(i);
      this.#received.set(event.text, who);
    }
  }

  get live(): OverlayPeer[] {
    return this.peers.filter((_, i) => !this.stopped.has(i));
  }

  /** Each peer joins through the one before it, as the emulator's chain bootstrap. */
  joinChain(): void {
    this.peers.forEach((p, i) => {
      const previous = this.peers[i - 1];
      if (previous !== undefined) p.join(previous.advertised);
    });
  }

  /** Peer i joins through a peer before it, drawn with a seeded generator. */
  joinRandom(seed = 1): void {
    const ports = this.peers.map((p) => p.port);
    randomBootstrap(ports, createRng(seed)).forEach((address, i) => {
      if (address !== undefined) this.peers[i]?.join(address);
    });
  }

  /** Links both ends report, among the live peers, as an adjacency list over live indices. */
  adjacency(): number[][] {
    const live = this.peers.map((_, i) => i).filter((i) => !this.stopped.has(i));
    const position = new Map(live.map((i, k) => [i, k]));
    return live.map((i) =>
      [...(this.#views[i] ?? [])].flatMap((address) => {
        const j = this.#index.get(address);
        const k = j === undefined ? undefined : position.get(j);
        const mutual = j !== undefined && this.#views[j]?.has(this.peers[i]?.advertised ?? '');
        return k === undefined || !mutual ? [] : [k];
      }),
    );
  }

  /** Mutual links among the live peers, as `a|b` address pairs (sorted). */
  linkPairs(): string[] {
    const live = this.live;
    const pairs = new Set<string>();
    this.adjacency().forEach((neighbours, k) => {
      for (const j of neighbours) {
        const [a, b] = [live[k]?.advertised ?? '', live[j]?.advertised ?? ''].sort();
        pairs.add(`${a}|${b}`);
      }
    });
    return [...pairs];
  }

  /** The live peers as the kernel-side pair counter sees them. */
  endpoints(): Endpoint[] {
    return this.live.map((peer) => {
      const ends = peer.socketEnds();
      return {
        name: peer.advertised,
        port: peer.port,
        owns: (e) =>
          ends.has(`${e.localPort}>${e.remotePort}`) && e.remoteAddress.startsWith('127.'),
      };
    });
  }

  /** Mutual links among the live peers. */
  links(): number {
    return symmetric(this.adjacency()).reduce((sum, n) => sum + n.length, 0) / 2;
  }

  /** One component over the live peers, none without a link. */
  connected(): boolean {
    const graph = symmetric(this.adjacency());
    return graph.every((n) => n.length > 0) && new Set(componentsOf(graph)).size === 1;
  }

  waitConnected(what: string, timeoutMs = 60_000): Promise<void> {
    return until(this.live, () => this.connected(), what, timeoutMs);
  }

  /** Live peers other than the sender that delivered `text`. */
  reach(text: string, sender: number): number {
    const who = this.#received.get(text) ?? new Set();
    return [...who].filter((i) => i !== sender && !this.stopped.has(i)).length;
  }

  /** Sends `text` from peer `sender` and waits until every other live peer delivered it. */
  async broadcastToAll(sender: number, text: string, timeoutMs = 30_000): Promise<void> {
    this.peers[sender]?.gossip(text);
    const others = this.live.length - 1;
    await until(
      this.live,
      () => this.reach(text, sender) === others,
      `${text} delivered to all ${others}`,
      timeoutMs,
    );
  }

  /** Stops peers at once, as crashes would (no goodbye, no disconnect). */
  async kill(indices: readonly number[]): Promise<void> {
    for (const i of indices) this.stopped.add(i);
    await Promise.all(indices.map((i) => this.peers[i]?.stop(false)));
  }
}
