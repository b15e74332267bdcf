import { randomBytes } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { type LinkView, PeerTable } from '../core/peer-table.js';
import { reason } from '../core/reasons.js';
import { Feature, type Identity } from '../protocol/messages.js';
import type { LinkShape } from '../scenario/model.js';
import { Arbiter } from './arbiter.js';
import { now } from './clock.js';
import { Connection } from './connection.js';
import type { PeerContext } from './context.js';
import { Dialer } from './dialer.js';
import { Emitter, type PeerEvent, type PeerEventInit, reasonFields } from './events.js';
import { randomGossipText } from './gossip.js';
import { Heartbeat } from './heartbeat.js';
import { Inbound } from './inbound.js';
import { ListenError, type Listening, listenAsPeer } from './listen.js';
import { MeshDriver } from './mesh-driver.js';
import { type PeerOptions, type ResolvedPeerOptions, resolveOptions } from './options.js';
import { Outbound } from './outbound.js';
import { AddressProver } from './prover.js';
import { LinkShaping } from './shaping.js';

export type { LinkView, PeerOptions };
export { ListenError };

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const FEATURES = [
  Feature.exchange,
  Feature.goodbye,
  Feature.proof,
  Feature.heartbeat,
  Feature.inlineProof,
  Feature.introduce,
  Feature.relayProof,
];
const STOPPING = reason('STOPPING', 'this peer is stopping');

/**
 * One gossip peer: the TCP driver of the full-mesh core (`core/mesh-exchange.ts`). It listens,
 * joins through its `--connect` peer, links every peer it hears of (one TCP connection per remote
 * peer, whoever dialed: `core/links.ts` decides which), gossips every period, and reports
 * everything through `events`. Its parts: `inbound.ts` (accepting, the handshake, every message),
 * `outbound.ts` (dialing), `arbiter.ts` (links, proofs, reconnects); this file binds them to the
 * listening socket, the core's timers and the lifecycle.
 *
 * It knows nothing of consoles, processes or worker threads: hosts subscribe to `events`.
 */
export class Peer {
  readonly events = new Emitter<PeerEvent>();
  readonly nodeId: string;
  readonly #options: ResolvedPeerOptions;
  readonly #ctx: PeerContext;
  readonly #shaping: LinkShaping | undefined;
  readonly #heartbeat: Heartbeat;
  #server: Server | undefined;
  #advertised = '';
  #port = 0;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: PeerOptions = {}) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.nodeId = options.nodeId ?? randomBytes(16).toString('hex');
    this.#shaping = options.shaping === undefined ? undefined : new LinkShaping(options.shaping);
    const { limits } = resolved;
    const table = new PeerTable<Connection>();
    const features = resolved.relayProofs
      ? FEATURES
      : FEATURES.filter((f) => f !== Feature.relayProof);
    const identity = (): Identity => ({ nodeId: this.nodeId, features });
    const emit = (event: PeerEventInit) => this.#emit(event);
    const running = () => this.#state === 'running';
    // The parts call each other through the context; they are made right after it.
    let inbound: Inbound | undefined;
    let outbound: Outbound | undefined;
    let arbiter: Arbiter | undefined;
    const made = <T>(part: T | undefined): T => {
      if (part === undefined) throw new Error('peer parts used before they were made');
      return part;
    };
    const ctx: PeerContext = {
      nodeId: this.nodeId,
      options: resolved,
      table,
      connections: new Set<Connection>(),
      running,
      advertised: () => this.#advertised,
      port: () => this.#port,
      identity,
      emit,
      track: (socket, direction, remote) => this.#track(socket, direction, remote),
      reject: (connection, why) => {
        emit({ type: 'rejected', remote: connection.remote, ...reasonFields(why) });
        connection.destroy(why);
      },
      mesh: new MeshDriver(resolved, {
        table,
        running,
        emit,
        learn: (address, via) => made(outbound).learn(address, false, via),
        advertised: () => this.#advertised,
      }),
      dialer: new Dialer({
        attempt: (address) => made(outbound).dial(address),
        failed: (peer, why, retryInMs) =>
          emit({
            type: 'dial-failed',
            peer,
            ...reasonFields(why),
            ...(retryInMs === undefined ? {} : { retryInMs }),
          }),
        maxConcurrent: limits.maxConcurrentDials,
        maxQueued: limits.maxQueuedDials,
      }),
      prover: new AddressProver({
        hello: () => ({ address: this.#advertised, ...identity() }),
        timeoutMs: limits.proofTimeoutMs,
        legacyGraceMs: limits.legacyReplyGraceMs,
        maxConcurrent: limits.maxConcurrentProofs,
        maxQueued: limits.maxQueuedProofs,
        channelFallbackMs: limits.proofChannelFallbackMs,
        via: (claim) => made(arbiter).proofChannel(claim),
      }),
      get inbound() {
        return made(inbound);
      },
      get outbound() {
        return made(outbound);
      },
      get arbiter() {
        return made(arbiter);
      },
    };
    inbound = new Inbound(ctx);
    outbound = new Outbound(ctx);
    arbiter = new Arbiter(ctx);
    this.#ctx = ctx;
    this.#heartbeat = new Heartbeat(
      resolved.periodMs,
      function* () {
        for (const link of ctx.table.values()) yield link.connection;
      },
      limits.heartbeatDeadAfterPeriods,
    );
  }

  /** The address we announce to peers (`--address` and the listening port). */
  get advertised(): string {
    return this.#advertised;
  }

  get port(): number {
    return this.#port;
  }

  /** This peer's view: the address of every peer it has a link to, sorted. */
  get peers(): string[] {
    return this.#ctx.table.addresses();
  }

  get links(): LinkView[] {
    return this.#ctx.table.views();
  }

  /** Binds the port, then starts joining and gossiping. Rejects with ListenError. */
  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(new Error(`peer already ${this.#state}`));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { bindHost, port, advertisedHost, connect } = this.#options;
    let listening: Listening;
    try {
      listening = await listenAsPeer(
        bindHost,
        port,
        advertisedHost,
        (socket) => this.#ctx.inbound.accept(socket),
        (message) => this.#emit({ type: 'error', message }),
      );
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    this.#server = listening.server;
    this.#port = listening.port;
    this.#advertised = listening.advertised;
    this.#state = 'running';
    this.#emit({
      type: 'listening',
      bound: listening.bound,
      advertised: this.#advertised,
      nodeId: this.nodeId,
    });
    this.#ctx.mesh.start();
    this.#heartbeat.start();
    if (connect !== undefined) this.#ctx.outbound.learn(connect, true);
  }

  /** Sends one gossip text to every linked peer now (the timer sends one every period). */
  gossip(text = randomGossipText()): void {
    if (this.#state !== 'running') return;
    this.#ctx.mesh.broadcast(text);
  }

  /**
   * Stops the periodic gossip for good (links, peer lists and replies go on): a measured window
   * can end with nothing more sent, then count the deliveries of what was.
   */
  pauseGossip(): void {
    this.#ctx.mesh.pauseGossip();
  }

  /** Joins the network through `address`, as `--connect` does at start (retried until it answers). */
  join(address: string): void {
    this.#ctx.outbound.learn(address, true);
  }

  /**
   * Breaks the link to `peer` as a network failure would: the socket is destroyed with no goodbye,
   * so both ends see a broken link and reconnect. For tests and for the emulator's fault injection.
   * Returns false when there is no such link.
   */
  breakLink(peer: string): boolean {
    const link = this.#ctx.table.at(peer);
    if (link === undefined) return false;
    link.connection.socket.destroy(new Error('link broken on purpose'));
    return true;
  }

  /**
   * Dies as a killed process would: every socket destroyed, no goodbye (the emulator's `kill`).
   * Its peers see broken links and try to reconnect.
   */
  kill(): Promise<void> {
    this.#goodbye = false;
    return this.stop();
  }

  /** Emulated network changed: a new link shape, or a partition healed (see shaping.ts). */
  reshape(shape?: LinkShape | null): void {
    this.#shaping?.update(shape);
  }

  #goodbye = true;

  /** Says goodbye to the peers that understand it, closes every socket and timer. Idempotent. */
  async stop(): Promise<void> {
    // A stop that arrives while the port is being bound waits for the bind, then undoes it.
    if (this.#state === 'starting') await this.#starting?.catch(() => undefined);
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#state === 'stopped') return;
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    this.#heartbeat.stop();
    const { connections, dialer, prover, mesh } = this.#ctx;
    mesh.stop();
    dialer.stop();
    prover.stop();
    const closed = [...connections].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const connection of connections) {
      if (!this.#goodbye) {
        connection.destroy(STOPPING);
        continue;
      }
      const saysGoodbye = connection.identity?.features.has(Feature.goodbye) === true;
      if (saysGoodbye) connection.send({ type: 'goodbye' });
      // A connection we dialed waits for the other end to close first (it does on our goodbye, or
      // at once when it stops too): the end that closes first keeps the socket in TIME-WAIT for a
      // minute, and ours sits on a port of the kernel's range for outgoing connections, which a
      // peer started next may want to listen on. Both closing at once left both ends there: one run
      // of 20 peers, 136 sockets on such ports. The accepting end's is on its listening port,
      // which it can bind again.
      if (!saysGoodbye || connection.direction === 'inbound') connection.close(STOPPING);
    }
    const grace = setTimeout(() => {
      for (const connection of connections) connection.destroy(STOPPING);
    }, this.#options.limits.stopGraceMs);
    await Promise.all(closed);
    clearTimeout(grace);
    await new Promise<void>((resolve) =>
      this.#server?.listening ? this.#server.close(() => resolve()) : resolve(),
    );
    this.#state = 'stopped';
    if (wasRunning) this.#emit({ type: 'stopped' });
  }

  #emit(event: PeerEventInit): void {
    this.events.emit({ ...event, at: now() } as PeerEvent);
  }

  #track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection {
    const ctx = this.#ctx;
    const connection = new Connection(
      socket,
      direction,
      {
        message: (c, m) => ctx.inbound.message(c, m),
        // A linked peer's violation is reported by its 'disconnected' event (with this reason), a
        // dial's by its 'dial-failed'; an inbound stranger's would go unreported without this.
        invalid: (c, why) =>
          c.direction === 'inbound' && c.identity === undefined
            ? ctx.reject(c, why)
            : c.destroy(why),
        close: (c, why) => {
          ctx.connections.delete(c);
          ctx.inbound.endHandshake(c);
          if (ctx.outbound.settle(c, { ok: false, reason: why, retry: true })) return;
          ctx.arbiter.closed(c, why);
        },
      },
      remote,
      this.#shaping,
    );
    ctx.connections.add(connection);
    return connection;
  }
}
