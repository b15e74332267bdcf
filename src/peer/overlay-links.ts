import type { Socket } from 'node:net';
import type { NodeRef } from '../core/machine.js';
import { type Reason, reason } from '../core/reasons.js';
import type { Message } from '../protocol/messages.js';
import { Connection } from './connection.js';
import { reasonFields } from './events.js';
import { closeAll, keptConnection } from './overlay-arbitration.js';
import { OverlayDials } from './overlay-dials.js';
import { OverlayHandshake } from './overlay-handshake.js';
import type { OverlayLinksOptions } from './overlay-links-options.js';
import { Outbox } from './overlay-outbox.js';
import { Takeovers } from './overlay-takeover.js';

export type { OverlayLinksOptions } from './overlay-links-options.js';

/**
 * How long a dropped duplicate is still read: the other end switches once the kept connection's
 * handshake completes at its side, a round trip and a proof after ours (milliseconds on loopback).
 */
export const DUPLICATE_GRACE_MS = 1_000;

/**
 * The connections of an overlay peer: at most one per node id, whoever dialed. It dials what the
 * core wants to reach, accepts and identifies inbound connections (the dialer announces itself
 * with `public_address`, the acceptor proves the claimed address by dialing back, then replies
 * `known_peers` with its own id), settles simultaneous dials (the connection dialed by the smaller
 * node id is kept, the other destroyed at both ends), and turns all of it into `peer-up`,
 * `peer-down`, `dial-failed` and `message` inputs of the core.
 */
export class OverlayLinks<M> {
  readonly #options: OverlayLinksOptions<M>;
  readonly #connections = new Set<Connection>();
  /** Node id -> the one connection kept to it. */
  readonly #links = new Map<string, Connection>();
  readonly #outbox = new Outbox<M>();
  /** Connections identified (inbound: proven): their frames go to the core. */
  readonly #ready = new WeakSet<Connection>();
  /** Duplicates retired on purpose: the node is still linked, so no peer-down. */
  readonly #retired = new WeakSet<Connection>();
  readonly #takeovers = new Takeovers(this.#connections, this.#retired);
  /** Links the core asked to close: their peer-down comes when they have closed. */
  readonly #closing = new WeakSet<Connection>();
  /** Addresses to send the core's `join` through once linked. */
  readonly #joins = new Set<string>();
  readonly #handshake: OverlayHandshake;
  readonly #dials: OverlayDials;
  #stopped = false;

  constructor(options: OverlayLinksOptions<M>) {
    this.#options = options;
    const { limits } = options;
    this.#handshake = new OverlayHandshake({
      self: options.self,
      limits,
      proveAddresses: options.proveAddresses,
      feature: options.feature,
      emit: (event) => options.emit(event),
      track: (socket, direction, remote) => this.#track(socket, direction, remote),
      connections: () => this.#connections,
      identified: (connection) => this.#identified(connection),
    });
    this.#dials = new OverlayDials({
      port: options.port,
      advertisedHost: options.advertisedHost,
      limits,
      selfAliases: this.#handshake.selfAliases,
      attempt: (address) =>
        this.#linkedAt(address) ? Promise.resolve({ ok: true }) : this.#handshake.attempt(address),
      emit: (event) => options.emit(event),
      gaveUp: (address, reason) => this.#giveUp(address, reason),
    });
  }

  get size(): number {
    return this.#links.size;
  }

  addresses(): string[] {
    return [...this.#links.values()].map((c) => c.identity?.address ?? c.remote).sort();
  }

  // ---- what the core asks ----------------------------------------------------------------------

  send(to: NodeRef, message: M): void {
    const connection = this.#links.get(to.id);
    if (connection !== undefined) {
      connection.send(this.#options.encode(message));
      return;
    }
    this.#outbox.add(to, message);
    this.dial(to.address);
  }

  dial(address: string, bootstrap = false): void {
    if (!this.#stopped) this.#dials.want(address, bootstrap);
  }

  join(address: string): void {
    this.#joins.add(address);
    this.dial(address, true);
  }

  /** The core dropped the link to `peer` (its active view changed), for `why`. */
  disconnect(peer: string, why: string): void {
    if (this.#outbox.closeAfter(peer, why)) return;
    const connection = this.#links.get(peer);
    if (connection === undefined) return;
    // No longer the link (a new one may come up meanwhile); its peer-down comes once it closed.
    this.#links.delete(peer);
    this.#closing.add(connection);
    const closing = reason('OVERLAY_VIEW_CHANGE', why);
    connection.close(closing);
    this.#disconnected(connection, closing);
  }

  /**
   * `localPort>remotePort` of every socket open now, to tell its connections apart in the
   * kernel's table (a local port alone is not enough: the kernel reuses an ephemeral port for
   * connections to different listeners).
   */
  socketEnds(): string[] {
    return [...this.#connections].flatMap(({ socket }) =>
      socket.localPort === undefined ? [] : [`${socket.localPort}>${socket.remotePort}`],
    );
  }

  direction(id: string): 'inbound' | 'outbound' | undefined {
    return this.#links.get(id)?.direction;
  }

  breakLink(address: string): boolean {
    for (const connection of this.#links.values()) {
      if (connection.identity?.address === address) {
        connection.socket.destroy(new Error('link broken on purpose'));
        return true;
      }
    }
    return false;
  }

  accept(socket: Socket): void {
    this.#handshake.accept(socket);
  }

  /** A connection is identified: for our dial, frames queued for another node here fail. */
  #identified(connection: Connection): void {
    const nodeId = connection.identity?.nodeId;
    this.#ready.add(connection);
    const address = connection.remote;
    if (connection.direction === 'outbound' && this.#outbox.dropAt(address, nodeId) > 0) {
      this.#options.input({ kind: 'dial-failed', address, reason: 'another node answers there' });
    }
    this.#up(connection);
  }

  /** Tells the core a dial it asked for failed, and drops what was queued for that address. */
  #giveUp(address: string, why: Reason): void {
    this.#outbox.dropAt(address);
    this.#joins.delete(address);
    this.#options.input({ kind: 'dial-failed', address, reason: why.message });
  }

  // ---- links -----------------------------------------------------------------------------------

  /** An identified connection (inbound: proven) is up: the link, or a duplicate to settle. */
  #up(connection: Connection): void {
    const identity = connection.identity;
    if (identity?.nodeId === undefined || this.#stopped) return;
    const id = identity.nodeId;
    const existing = this.#links.get(id);
    if (existing !== undefined && existing !== connection) {
      const keep = keptConnection(existing, connection, this.#options.self.id);
      const drop = keep === existing ? connection : existing;
      this.#retired.add(drop);
      // Both ends pick the same one. The other end may still send on the dropped one until it
      // learns of the kept one: it is read (not written) a moment longer, then destroyed.
      drop.setDeadline(DUPLICATE_GRACE_MS, reason('DUPLICATE', 'duplicate connection'));
      this.#links.set(id, keep);
      return;
    }
    this.#links.set(id, connection);
    if (this.#takeovers.takeOver(id)) {
      // The connection the other end kept: the same link for the core, on another socket.
      this.#flush(id, connection);
      return;
    }
    const ref: NodeRef = { id, address: identity.address };
    if (this.#options.reportLinks) {
      this.#options.emit({
        type: 'connected',
        peer: identity.address,
        nodeId: id,
        direction: connection.direction,
      });
    }
    this.#options.input({ kind: 'peer-up', peer: ref, direction: connection.direction });
    const joined = this.#joins.delete(connection.remote) || this.#joins.delete(identity.address);
    if (joined && connection.direction === 'outbound') {
      this.#options.input({ kind: 'join', via: ref });
    }
    this.#flush(id, connection);
  }

  #flush(id: string, connection: Connection): void {
    const queue = this.#outbox.take(id);
    if (queue === undefined) return;
    for (const message of queue.messages) connection.send(this.#options.encode(message));
    if (queue.closeAfter !== undefined) this.disconnect(id, queue.closeAfter);
  }

  #linkedAt(address: string): boolean {
    for (const c of this.#links.values()) if (c.identity?.address === address) return true;
    return false;
  }

  #disconnected(connection: Connection, why: Reason): void {
    if (!this.#options.reportLinks || this.#stopped) return;
    this.#options.emit({
      type: 'disconnected',
      peer: connection.identity?.address ?? connection.remote,
      ...reasonFields(why),
      reconnecting: false,
    });
  }

  // ---- connections -----------------------------------------------------------------------------

  #track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection {
    const connection = new Connection(
      socket,
      direction,
      {
        message: (c, m) => this.#onMessage(c, m),
        invalid: (c, why) => {
          if (c.identity === undefined && c.direction === 'inbound') {
            this.#options.emit({ type: 'rejected', remote: c.remote, ...reasonFields(why) });
          }
          c.destroy(why);
        },
        close: (c, why) => this.#onClose(c, why),
      },
      remote,
      this.#options.shaping,
    );
    this.#connections.add(connection);
    return connection;
  }

  #onMessage(connection: Connection, message: Message): void {
    if (this.#stopped) return;
    if (message.type === 'address_proof') {
      this.#handshake.confirm(message.nonce, connection);
      return;
    }
    if (message.type === 'goodbye') {
      connection.close(reason('GOODBYE', 'the peer said goodbye'));
      return;
    }
    const id = connection.identity?.nodeId;
    // A duplicate still delivers what was sent on it before the other end switched.
    const linked = id !== undefined && this.#ready.has(connection) && this.#links.has(id);
    if (!linked) {
      this.#handshake.message(connection, message);
      return;
    }
    const decoded = this.#options.decode(message);
    if (decoded === undefined) {
      const why = `sent ${message.type} on an overlay link`;
      connection.destroy(reason('PROTOCOL_VIOLATION', why, 'NOT_OVERLAY'));
      return;
    }
    this.#options.input({
      kind: 'message',
      from: { id, address: connection.identity?.address ?? connection.remote },
      message: decoded,
    });
  }

  #onClose(connection: Connection, reason: Reason): void {
    this.#connections.delete(connection);
    const wasDial = this.#handshake.closed(connection, reason);
    const id = connection.identity?.nodeId;
    if (!wasDial && id !== undefined && this.#closing.has(connection)) {
      // The core closed it; it hears of the close unless another connection to the node is up.
      if (!this.#links.has(id)) this.#down(id, reason);
    } else if (!wasDial && id !== undefined && this.#links.get(id) === connection) {
      this.#links.delete(id);
      this.#disconnected(connection, reason);
      const address = connection.identity?.address ?? connection.remote;
      if (!this.#takeovers.wait(id, address, reason)) this.#down(id, reason);
    }
    // A link waiting for a takeover whose last candidate just failed is down after all.
    for (const [waiting, why] of this.#takeovers.failed((id) => this.#links.has(id))) {
      this.#down(waiting, why);
    }
  }

  #down(id: string, why: Reason): void {
    this.#takeovers.forget(id);
    if (!this.#stopped) this.#options.input({ kind: 'peer-down', peer: id, reason: why.message });
  }

  /** Closes every connection: with goodbyes and a flush when `graceful`, at once otherwise. */
  async stop(graceful: boolean): Promise<void> {
    this.#stopped = true;
    this.#dials.stop();
    this.#handshake.stop();
    await closeAll(this.#connections, graceful, this.#options.limits.stopGraceMs);
  }
}
