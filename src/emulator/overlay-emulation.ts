import { createRng, type Rng } from '../core/rng.js';
import type { HostCommand } from '../host/messages.js';
import type { PeerEvent } from '../peer/events.js';
import type { OverlaySettings } from '../peer/overlay-protocol.js';
import { componentsOf, percentile, summarizeGraph, symmetric } from '../report/graph.js';
import type { MeshState } from './mesh.js';
import { openFilesNow, overlayFileProblem, rssNow } from './overlay-resources.js';
import type { OverlayReport } from './overlay-result.js';
import { canReadTcpTable, countAcceptedConnections } from './sockets.js';

/** The active view the emulator budgets files for when the overlay's own default applies. */
const DEFAULT_ACTIVE_VIEW = 5;

type Wait = (check: () => boolean, deadline: number) => Promise<unknown>;
/** Sends a command to the running peer `i`. */
type Send = (i: number, command: HostCommand) => void;

/**
 * How often, at most, the emulator checks whether the overlay is one component: the check walks
 * the whole graph (a few milliseconds at 2,000 peers), and links change thousands of times while
 * it forms.
 */
export const FORMED_CHECK_INTERVAL_MS = 50;

/**
 * How often the formation check also counts this process's open files (for the peak): listing
 * /proc/self/fd with 10,000 entries every 50 ms took 2.5 s of the main thread's CPU while 1,000
 * peers formed, a third of a core the peers' threads needed.
 */
export const OPEN_FILES_SAMPLE_MS = 500;

interface Counters {
  readonly payloadSends: number;
  readonly deliveries: number;
}

/**
 * The overlay side of one emulation: whether the overlay has formed (one connected component
 * over the links the peers report, no peer without a link), the `--rate` sender, and what the
 * messages did (hops, reach, payload sends per delivery). The emulator feeds it every event.
 */
export class OverlayEmulation {
  readonly #rng: Rng;
  readonly #n: number;
  readonly #settings: OverlaySettings;
  readonly #wake: () => void;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #recheck: NodeJS.Timeout | undefined;
  #formed = false;
  #linkCount = 0;
  #components: number | null = null;
  #filesAt = Number.NEGATIVE_INFINITY;
  /**
   * Receipts by message text, and their hops. Each peer's events come over its own port, so a
   * receipt may arrive before its send: every receipt is kept, and only those of messages sent
   * during the window count in the end.
   */
  readonly #receipts = new Map<string, number[]>();
  /** Every message sent (the warm-up included): the log says which were in the window. */
  readonly #sentTexts = new Set<string>();
  /** Receivers of each message at its send (the peers running then, but its sender). */
  readonly #receivers = new Map<string, number>();
  /** The warm-up message's text once its sender reported it; '' while it is awaited. */
  #warmUp: string | undefined;
  readonly #before = new Map<number, Counters>();
  readonly #after = new Map<number, Counters>();
  #collecting: Map<number, Counters> | undefined;
  #peakFiles = 0;
  #atFormed: Pick<OverlayReport, 'memory' | 'sockets'> = { memory: null, sockets: null };

  constructor(n: number, settings: OverlaySettings, seed: number, wake: () => void) {
    this.#n = n;
    this.#settings = settings;
    this.#rng = createRng(seed);
    this.#wake = wake;
  }

  static fileProblem(
    peers: number,
    settings: OverlaySettings,
    limit: number | null,
  ): string | null {
    return overlayFileProblem(peers, settings.activeView ?? DEFAULT_ACTIVE_VIEW, limit);
  }

  /** What peer `i` adds to its options: the overlay, with a seed of its own drawn from the run's. */
  peerOptions(_i: number): { overlay: OverlaySettings } {
    return { overlay: { ...this.#settings, seed: this.#rng.int(4_294_967_296) } };
  }

  /**
   * Receivers the message `text` is meant for: every other peer running (`running` holds the
   * sender). Its reach is counted against them.
   */
  receivers(running: readonly number[], text?: string): number {
    const receivers = Math.max(0, running.length - 1);
    if (text !== undefined) this.#receivers.set(text, receivers);
    return receivers;
  }

  /** Whether the overlay is one component with every peer linked; checked at most every 50 ms. */
  formed(mesh: MeshState, now: number): boolean {
    if (this.#formed) return true;
    const since = now - this.#checkedAt;
    if (since < FORMED_CHECK_INTERVAL_MS) {
      // Nothing may happen after this event: look again once the interval is over.
      this.#recheck ??= setTimeout(() => {
        this.#recheck = undefined;
        this.#wake();
      }, FORMED_CHECK_INTERVAL_MS - since);
      return false;
    }
    this.#checkedAt = now;
    if (now - this.#filesAt >= OPEN_FILES_SAMPLE_MS) {
      this.#filesAt = now;
      this.#peakFiles = Math.max(this.#peakFiles, openFilesNow() ?? 0);
    }
    // Components only: the diameter's BFS runs are for the report, not for every check.
    const graph = symmetric(mesh.liveAdjacency());
    this.#linkCount = graph.reduce((sum, n) => sum + n.length, 0) / 2;
    const components = componentsOf(graph);
    this.#components = new Set(components).size;
    this.#formed = graph.every((n) => n.length > 0) && components.every((c) => c === 0);
    return this.#formed;
  }

  /** Components at the last formation check (null before it; 1 once formed). */
  get components(): number | null {
    return this.#formed ? 1 : this.#components;
  }

  onEvent(i: number, event: PeerEvent): void {
    if (event.type === 'message-sent') this.#sentTexts.add(event.text);
    if (event.type === 'message-sent' && this.#warmUp === '') this.#warmUp = event.text;
    if (event.type === 'message-received') {
      let hops = this.#receipts.get(event.text);
      if (hops === undefined) {
        hops = [];
        this.#receipts.set(event.text, hops);
      }
      hops.push(event.hops ?? 0);
    }
    if (event.type === 'counters' && this.#collecting !== undefined) {
      this.#collecting.set(i, { payloadSends: event.payloadSends, deliveries: event.deliveries });
    }
  }

  /**
   * Sends one message before the window and waits until every running peer has it. Every link of
   * a new overlay is eager (Plumtree), so the first message floods every link both ways and its
   * duplicates prune the links down to a tree. Measured from the first message on, 10 messages a
   * second over 1,000 peers all flooded at once (4,700 payloads each), the threads fell seconds
   * behind, and late copies set off GRAFTs that kept them there (payload sends per delivery 1.8,
   * latency p50 1.3 s). Plumtree's steady state, which the targets are about, starts after it.
   */
  async warmUp(
    send: Send,
    running: readonly number[],
    wait: Wait,
    deadline: number,
  ): Promise<void> {
    const sender = running[0];
    if (sender === undefined) return;
    this.#warmUp = '';
    send(sender, { type: 'broadcast' });
    const receivers = this.receivers(running);
    await wait(
      () =>
        this.#warmUp !== '' &&
        (this.#receipts.get(this.#warmUp as string)?.length ?? 0) >= receivers,
      deadline,
    );
  }

  /** Memory and sockets as they are when the overlay has just formed. */
  onFormed(rssBefore: number, basePort: number): void {
    const links = this.#linkCount;
    const rss = rssNow();
    this.#atFormed = {
      memory: rss === null ? null : { rssPerPeerBytes: Math.max(0, rss - rssBefore) / this.#n },
      sockets: canReadTcpTable()
        ? { connections: countAcceptedConnections(basePort, basePort + this.#n - 1), links }
        : null,
    };
  }

  /**
   * Asks every running peer for its counters and waits for their answers (or the deadline). Only
   * the peers running now are asked and awaited: counting every port of the run waited for peers
   * the faults had not started or had ended, until the deadline (24 s of a 40-peer run).
   */
  async counters(
    which: 'before' | 'after',
    send: Send,
    running: readonly number[],
    wait: Wait,
    deadline: number,
  ): Promise<void> {
    const collecting = which === 'before' ? this.#before : this.#after;
    this.#collecting = collecting;
    for (const i of running) send(i, { type: 'counters' });
    await wait(() => running.every((i) => collecting.has(i)), deadline);
    this.#collecting = undefined;
  }

  dispose(): void {
    clearTimeout(this.#recheck);
  }

  /** Every overlay figure of the run, from the links as they were when it stopped. */
  report(
    mesh: MeshState,
    formedMs: number | null,
    inWindow: (text: string) => boolean,
  ): OverlayReport {
    const graph = summarizeGraph(mesh.liveAdjacency());
    // The window is the message log's (by send time): a send reported after the window closed
    // still counts, as it does for delivery.
    const texts = [...this.#sentTexts].filter(inWindow);
    const hops = texts.flatMap((t) => this.#receipts.get(t) ?? []).sort((a, b) => a - b);
    // Each message's reach as a fraction of the peers running when it was sent.
    const reach = texts.map(
      (t) => (this.#receipts.get(t)?.length ?? 0) / (this.#receivers.get(t) ?? this.#n - 1),
    );
    let sends = 0;
    let deliveries = 0;
    for (const [i, after] of this.#after) {
      const before = this.#before.get(i) ?? { payloadSends: 0, deliveries: 0 };
      sends += after.payloadSends - before.payloadSends;
      deliveries += after.deliveries - before.deliveries;
    }
    return {
      kind: this.#settings.kind,
      activeView: this.#settings.activeView ?? null,
      passiveView: this.#settings.passiveView ?? null,
      formedMs,
      ...this.#atFormed,
      peakOpenFiles: this.#peakFiles,
      components: graph.components,
      largestComponent: graph.largestComponent,
      diameter: graph.diameter,
      diameterSamples: graph.diameterSamples,
      degree: graph.degree,
      hops:
        hops.length === 0
          ? null
          : { p50: percentile(hops, 0.5), p99: percentile(hops, 0.99), max: hops.at(-1) ?? 0 },
      reach:
        reach.length === 0
          ? null
          : {
              messages: reach.length,
              complete: reach.filter((r) => r >= 1).length,
              min: Math.min(...reach),
              mean: reach.reduce((a, b) => a + b, 0) / reach.length,
            },
      payloadSendsPerDelivery: deliveries === 0 ? null : sends / deliveries,
    };
  }
}
