import { randomBytes } from 'node:crypto';
import type { Server } from 'node:net';
import type { CoreInput, CoreOutput, NodeRef } from '../core/machine.js';
import { createRng } from '../core/rng.js';
import type { Message } from '../protocol/messages.js';
import type { LinkShape } from '../scenario/model.js';
import { now } from './clock.js';
import { Emitter, type PeerEvent, type PeerEventInit } from './events.js';
import { randomGossipText } from './gossip.js';
import { DEFAULT_LIMITS, type PeerLimits } from './limits.js';
import { ListenError, type Listening, listenAsPeer } from './listen.js';
import { PEER_DEFAULTS } from './options.js';
import { OverlayLinks } from './overlay-links.js';
import type { OverlayProtocol, OverlaySettings } from './overlay-protocol.js';
import { overlayProtocol } from './overlay-protocols.js';
import type { PeerOptions } from './peer.js';
import { LinkShaping } from './shaping.js';

/** A peer of the overlay: the options of any peer, plus which overlay and its sizes. */
export interface OverlayPeerOptions extends PeerOptions {
  readonly overlay: OverlaySettings;
}

export { ListenError };

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One peer of a partial overlay (HyParView + Plumtree): the thin driver that binds an I/O-free
 * protocol core (`src/core/`) to `node:net` and timers. The core decides whom to link with and
 * what to send; `OverlayLinks` turns its outputs into connections (one per node id, inbound claims
 * proven first) and connections back into its inputs. Everything observable goes out on `events`,
 * the same stream a full-mesh `Peer` has.
 */
export class OverlayPeer<M = unknown, E = unknown> {
  readonly events = new Emitter<PeerEvent>();
  readonly nodeId: string;
  readonly #options: OverlayPeerOptions;
  readonly #limits: PeerLimits;
  readonly #protocol: OverlayProtocol<M, E>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Link shaping and partitions between this peer and its sockets (emulate's faults), if any. */
  readonly #shaping: LinkShaping | undefined;
  #links: OverlayLinks<M> | undefined;
  #core: ReturnType<OverlayProtocol<M, E>['createCore']> | undefined;
  #server: Server | undefined;
  #gossipTimer: NodeJS.Timeout | undefined;
  #advertised = '';
  #port = 0;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #payloadSends = 0;
  readonly #inputs: CoreInput<M>[] = [];
  #feeding = false;
  #deliveries = 0;
  /** Joins asked for before the peer listened: sent once it does. */
  readonly #joinsWhileStarting: string[] = [];

  constructor(options: OverlayPeerOptions, protocol?: OverlayProtocol<M, E>) {
    this.#options = options;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.nodeId = options.nodeId ?? randomBytes(16).toString('hex');
    this.#protocol = protocol ?? (overlayProtocol(options.overlay) as OverlayProtocol<M, E>);
    this.#shaping = options.shaping === undefined ? undefined : new LinkShaping(options.shaping);
  }

  /** Emulated network changed: a new link shape, or a partition healed (see shaping.ts). */
  reshape(shape?: LinkShape | null): void {
    this.#shaping?.update(shape);
  }

  get advertised(): string {
    return this.#advertised;
  }

  get port(): number {
    return this.#port;
  }

  /** Addresses of the peers this one holds a link to, sorted. */
  get peers(): string[] {
    return this.#links?.addresses() ?? [];
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new Error(`peer already ${this.#state}`));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const bindHost = this.#options.bindHost ?? '0.0.0.0';
    let listening: Listening;
    try {
      listening = await listenAsPeer(
        bindHost,
        this.#options.port ?? 8080,
        this.#options.advertisedHost ?? '127.0.0.1',
        (socket) => this.#links?.accept(socket),
        (message) => this.#emit({ type: 'error', message }),
      );
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    this.#server = listening.server;
    this.#port = listening.port;
    this.#advertised = listening.advertised;
    const self: NodeRef = { id: this.nodeId, address: this.#advertised };
    const seed = this.#options.overlay.seed ?? randomBytes(4).readUInt32BE(0);
    this.#core = this.#protocol.createCore(self, { now, rng: createRng(seed) });
    this.#links = new OverlayLinks<M>({
      self,
      port: this.#port,
      advertisedHost: this.#options.advertisedHost ?? '127.0.0.1',
      limits: this.#limits,
      proveAddresses: this.#options.proveAddresses !== false,
      feature: this.#protocol.feature,
      reportLinks: !this.#protocol.reportsLinks,
      encode: (m) => this.#protocol.encode(m),
      decode: (m: Message) => this.#protocol.decode(m),
      emit: (event) => this.#emit(event),
      input: (input) => this.#feed(input),
      ...(this.#shaping === undefined ? {} : { shaping: this.#shaping }),
    });
    this.#state = 'running';
    this.#emit({
      type: 'listening',
      bound: listening.bound,
      advertised: this.#advertised,
      nodeId: this.nodeId,
    });
    const period = this.#options.periodMs ?? PEER_DEFAULTS.periodMs;
    // A period of 0 or Infinity: no gossip of its own (the emulator's --rate sends it instead).
    if (period > 0 && Number.isFinite(period)) {
      this.#gossipTimer = setTimeout(() => {
        this.#gossipTimer = setInterval(() => this.gossip(), period);
        this.gossip();
      }, this.#options.firstGossipMs ?? period);
    }
    if (this.#options.connect !== undefined) this.join(this.#options.connect);
    for (const address of this.#joinsWhileStarting.splice(0)) this.join(address);
  }

  /** Stops the periodic gossip (the end of a measured window); links and relaying go on. */
  pauseGossip(): void {
    clearTimeout(this.#gossipTimer);
    this.#gossipTimer = undefined;
  }

  /** Sends one gossip text to the whole network through the overlay. */
  gossip(text = randomGossipText()): void {
    if (this.#state !== 'running') return;
    const id = randomBytes(8).toString('hex');
    this.#emit({ type: 'message-sent', text, id, peers: this.#links?.size ?? 0 });
    this.#feed({ kind: 'broadcast', id, payload: text });
  }

  /**
   * Joins the overlay through the peer at `address` (retried until it answers). Asked before the
   * peer listens (a host's command can overtake the start), the join waits for it.
   */
  join(address: string): void {
    if (this.#state === 'running') this.#links?.join(address);
    else if (this.#state === 'new' || this.#state === 'starting')
      this.#joinsWhileStarting.push(address);
  }

  /** Breaks the link to `peer` as a network failure would (tests, fault injection). */
  breakLink(peer: string): boolean {
    return this.#links?.breakLink(peer) ?? false;
  }

  /** `localPort>remotePort` of every connection open now (for kernel-side checks). */
  socketEnds(): Set<string> {
    return new Set(this.#links?.socketEnds() ?? []);
  }

  /** Reports the totals since start as a `counters` event. */
  reportCounters(): void {
    this.#emit({
      type: 'counters',
      payloadSends: this.#payloadSends,
      deliveries: this.#deliveries,
      links: this.#links?.size ?? 0,
    });
  }

  /**
   * Stops. `graceful` (the default) says goodbye and lets sockets flush; otherwise every socket is
   * destroyed at once, as a crash would leave them (the emulator's and the tests' kill).
   */
  async stop(graceful = true): Promise<void> {
    if (this.#state === 'starting') await this.#starting?.catch(() => undefined);
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#state === 'stopped' || this.#state === 'new') return;
    this.#stopping = this.#stop(graceful);
    return this.#stopping;
  }

  async #stop(graceful: boolean): Promise<void> {
    // A graceful leave tells the neighbors first (HyParView's disconnect), so they refill at once.
    if (graceful && this.#core !== undefined && this.#protocol.leave !== undefined) {
      for (const output of this.#protocol.leave(this.#core)) this.#apply(output);
    }
    this.#state = 'stopping';
    clearTimeout(this.#gossipTimer);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#links?.stop(graceful);
    await new Promise<void>((resolve) =>
      this.#server?.listening ? this.#server.close(() => resolve()) : resolve(),
    );
    this.#state = 'stopped';
    this.#emit({ type: 'stopped' });
  }

  #emit(event: PeerEventInit): void {
    if (event.type === 'message-received') this.#deliveries++;
    this.events.emit({ ...event, at: now() } as PeerEvent);
  }

  /**
   * Hands one input to the core and carries out what it asks, in order. Inputs that arise while
   * outputs are carried out (a dial that fails at once) wait until the current ones are done, so
   * the core sees its inputs one at a time, in the order they happened.
   */
  #feed(input: CoreInput<M>): void {
    this.#inputs.push(input);
    if (this.#feeding) return;
    this.#feeding = true;
    try {
      for (let next = this.#inputs.shift(); next !== undefined; next = this.#inputs.shift()) {
        this.#handle(next);
      }
    } finally {
      this.#feeding = false;
    }
  }

  #handle(input: CoreInput<M>): void {
    if (this.#state !== 'running' || this.#core === undefined) return;
    let outputs: CoreOutput<M, E>[];
    try {
      outputs = this.#core.handle(input);
    } catch (error) {
      // A bug in the core must cost this input, not the thread and every peer on it.
      this.#emit({
        type: 'error',
        message: `overlay core failed on ${input.kind}: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    for (const output of outputs) this.#apply(output);
  }

  #apply(output: CoreOutput<M, E>): void {
    const links = this.#links;
    if (links === undefined || this.#state !== 'running') return;
    switch (output.kind) {
      case 'send':
        if (this.#protocol.isPayload(output.message)) this.#payloadSends++;
        links.send(output.to, output.message);
        return;
      case 'dial':
        links.dial(output.address);
        return;
      case 'disconnect':
        links.disconnect(output.peer, output.reason);
        return;
      case 'set-timer': {
        clearTimeout(this.#timers.get(output.key));
        const key = output.key;
        this.#timers.set(
          key,
          setTimeout(() => {
            this.#timers.delete(key);
            this.#feed({ kind: 'timer', key });
          }, output.afterMs),
        );
        return;
      }
      case 'cancel-timer':
        clearTimeout(this.#timers.get(output.key));
        this.#timers.delete(output.key);
        return;
      case 'event': {
        const event = this.#protocol.event(output.event, (id) => links.direction(id));
        if (event !== undefined) this.#emit(event);
        return;
      }
    }
  }
}

/** For hosts holding either kind of peer. */
export function isOverlayOptions(options: PeerOptions): options is OverlayPeerOptions {
  return (options as Partial<OverlayPeerOptions>).overlay !== undefined;
}
