import { connect, type Socket } from 'node:net';
import type { CoreInput, NodeRef } from '../core/machine.js';
import { formatHostPort, parseHostPort } from '../protocol/address.js';
import { Feature, type Identity, type Message } from '../protocol/messages.js';
import { Connection, isLocalShortage } from './connection.js';
import { Dialer, type DialOutcome } from './dialer.js';
import type { PeerEventInit } from './events.js';
import { HandshakeGate } from './handshake-gate.js';
import type { PeerLimits } from './limits.js';
import { refusal } from './overlay-refusal.js';
import { AddressProver } from './prover.js';
import { isSelfAddress } from './self.js';

export interface OverlayLinksOptions<M> {
  readonly self: NodeRef;
  readonly port: number;
  readonly advertisedHost: string;
  readonly limits: PeerLimits;
  readonly proveAddresses: boolean;
  /** The overlay's feature: only peers announcing it are linked. */
  readonly feature: string;
  /** Emit `connected` / `disconnected` for every link (false: the core reports its links). */
  readonly reportLinks: boolean;
  encode(message: M): Message;
  decode(message: Message): M | undefined;
  emit(event: PeerEventInit): void;
  /** Where link changes and messages go: the protocol core. */
  input(input: CoreInput<M>): void;
}

/**
 * Frames queued for a peer being dialed. A core talks in bursts (a join, then a shuffle), and a
 * dial takes a round trip and a proof: 64 covers that; past it the core's frames are dropped, as
 * a lossy network would, rather than held without bound.
 */
export const MAX_QUEUED_FRAMES_PER_PEER = 64;

/** A dial the core asked for is tried once: retrying or giving up is the core's decision. */
const CORE_DIAL = { baseMs: 100, maxMs: 100, maxAttempts: 1 } as const;

interface Queue<M> {
  readonly address: string;
  readonly messages: M[];
  /** The core asked to close the link once what is queued has been sent. */
  closeAfter?: string;
}

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
  readonly #handshaking = new Set<Connection>();
  /** Node id -> the one connection kept to it. */
  readonly #links = new Map<string, Connection>();
  readonly #queues = new Map<string, Queue<M>>();
  readonly #dials = new Map<Connection, (outcome: DialOutcome) => void>();
  /** Duplicates retired on purpose: the node is still linked, so no peer-down. */
  readonly #retired = new WeakSet<Connection>();
  /** Links the core asked to close: their peer-down comes when they have closed. */
  readonly #closing = new WeakSet<Connection>();
  /** Addresses to send the core's `join` through once linked. */
  readonly #joins = new Set<string>();
  readonly #selfAliases = new Set<string>();
  readonly #gate: HandshakeGate;
  readonly #prover: AddressProver;
  readonly #dialer: Dialer;
  #stopped = false;

  constructor(options: OverlayLinksOptions<M>) {
    this.#options = options;
    const { limits } = options;
    this.#gate = new HandshakeGate(limits.maxPendingHandshakes, limits.maxPendingHandshakesPerIp);
    this.#prover = new AddressProver({
      hello: () => ({ address: options.self.address, ...this.#identity() }),
      timeoutMs: limits.proofTimeoutMs,
      legacyGraceMs: limits.legacyReplyGraceMs,
      maxConcurrent: limits.maxConcurrentProofs,
      maxQueued: limits.maxQueuedProofs,
    });
    this.#dialer = new Dialer({
      attempt: (address) => this.#attempt(address),
      failed: (address, reason, retryInMs) => this.#dialFailed(address, reason, retryInMs),
      maxConcurrent: limits.maxConcurrentDials,
      maxQueued: limits.maxQueuedDials,
    });
  }

  get size(): number {
    return this.#links.size;
  }

  addresses(): string[] {
    return [...this.#links.values()].map((c) => c.identity?.address ?? c.remote).sort();
  }

  ref(id: string): NodeRef | undefined {
    const address = this.#links.get(id)?.identity?.address;
    return address === undefined ? undefined : { id, address };
  }

  // ---- what the core asks ----------------------------------------------------------------------

  send(to: NodeRef, message: M): void {
    const connection = this.#links.get(to.id);
    if (connection !== undefined) {
      connection.send(this.#options.encode(message));
      return;
    }
    let queue = this.#queues.get(to.id);
    if (queue === undefined) {
      queue = { address: to.address, messages: [] };
      this.#queues.set(to.id, queue);
    }
    if (queue.messages.length < MAX_QUEUED_FRAMES_PER_PEER) queue.messages.push(message);
    this.dial(to.address);
  }

  dial(address: string, bootstrap = false): void {
    if (this.#stopped) return;
    const parsed = parseHostPort(address);
    if (!parsed.ok || this.#selfAliases.has(address)) {
      this.#giveUp(address, parsed.ok ? 'that address is this peer' : parsed.error);
      return;
    }
    if (isSelfAddress(parsed.value, this.#options.port, this.#options.advertisedHost)) {
      this.#giveUp(address, 'that address is this peer');
      return;
    }
    const normalized = formatHostPort(parsed.value);
    this.#dialer.want(
      normalized,
      bootstrap ? this.#options.limits.bootstrapBackoff : (CORE_DIAL as PeerLimits['dialBackoff']),
    );
    // The dialer drops wishes past its bound: the core must hear that this one failed.
    if (!this.#dialer.busy(normalized) && !this.#linkedAt(normalized)) {
      this.#giveUp(normalized, 'too many dials waiting');
    }
  }

  join(address: string): void {
    this.#joins.add(address);
    this.dial(address, true);
  }

  disconnect(peer: string, reason: string): void {
    const queue = this.#queues.get(peer);
    if (queue !== undefined) {
      queue.closeAfter = reason;
      return;
    }
    const connection = this.#links.get(peer);
    if (connection === undefined) return;
    // No longer the link (a new one may come up meanwhile); its peer-down comes once it closed.
    this.#links.delete(peer);
    this.#closing.add(connection);
    connection.close(reason);
    this.#disconnected(connection, reason);
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

  // ---- accepting -------------------------------------------------------------------------------

  accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    if (this.#stopped || !this.#gate.admit(ip)) {
      socket.destroy();
      return;
    }
    const connection = this.#track(socket, 'inbound');
    this.#handshaking.add(connection);
    const { handshakeTimeoutMs } = this.#options.limits;
    connection.setDeadline(handshakeTimeoutMs, `no public_address within ${handshakeTimeoutMs} ms`);
  }

  #onPublicAddress(
    connection: Connection,
    message: Extract<Message, { type: 'public_address' }>,
  ): void {
    this.#endHandshake(connection);
    connection.clearDeadline();
    if (message.probe !== undefined) {
      this.#answerProbe(connection, message.probe, message.nodeId, message.address);
      return;
    }
    const features = new Set(message.features);
    const refused = refusal(message.nodeId, features, this.#options.feature);
    if (refused !== undefined) {
      this.#refuse(connection, refused, features);
      return;
    }
    const nodeId = message.nodeId as string;
    connection.identity = { key: nodeId, address: message.address, nodeId, features };
    if (nodeId === this.#options.self.id) {
      connection.close('connected to itself');
      return;
    }
    if (!this.#options.proveAddresses) {
      this.#acceptProven(connection);
      return;
    }
    void this.#prover
      .prove({ address: message.address, connection, nodeId, answersProbes: true })
      .then((outcome) => {
        if (this.#stopped || connection.closed) return;
        if (outcome.ok) {
          this.#options.emit({ type: 'address-proven', peer: message.address, ms: outcome.ms });
          this.#acceptProven(connection);
        } else {
          this.#reject(
            connection,
            `could not prove it is reachable at ${message.address}: ${outcome.reason}`,
          );
        }
      });
  }

  /** The inbound claim is proven: tell the dialer who we are, and the link is up. */
  #acceptProven(connection: Connection): void {
    connection.send({ type: 'known_peers', peers: [], ...this.#identity() });
    this.#up(connection);
  }

  /** A dial-back probe of an address we claimed: reply with our id, send the nonce over our link. */
  #answerProbe(connection: Connection, nonce: string, proberId?: string, prober?: string): void {
    connection.send({ type: 'known_peers', peers: [], ...this.#identity() });
    connection.close('probe answered');
    for (const c of this.#connections) {
      const toProber =
        (proberId !== undefined && c.identity?.nodeId === proberId) ||
        (c.direction === 'outbound' && c.remote === prober);
      if (toProber && !c.socket.connecting) c.send({ type: 'address_proof', nonce });
    }
  }

  // ---- dialing ---------------------------------------------------------------------------------

  #attempt(address: string): Promise<DialOutcome> {
    if (this.#stopped) return Promise.resolve({ ok: false, reason: 'stopping', retry: false });
    if (this.#linkedAt(address)) return Promise.resolve({ ok: true });
    const parsed = parseHostPort(address);
    if (!parsed.ok) return Promise.resolve({ ok: false, reason: parsed.error, retry: false });
    const { connectTimeoutMs, proofTimeoutMs } = this.#options.limits;
    return new Promise((resolve) => {
      const socket = connect({ host: parsed.value.host, port: parsed.value.port });
      const connection = this.#track(socket, 'outbound', address);
      this.#dials.set(connection, resolve);
      // The acceptor replies once it has proven our address: allow for the proof.
      const wait = connectTimeoutMs + proofTimeoutMs;
      connection.setDeadline(wait, `no answer within ${wait} ms`);
      socket.once('connect', () =>
        connection.send({
          type: 'public_address',
          address: this.#options.self.address,
          ...this.#identity(),
        }),
      );
    });
  }

  /** The acceptor's reply to our dial: who it is. */
  #onReply(connection: Connection, message: Extract<Message, { type: 'known_peers' }>): void {
    connection.clearDeadline();
    const features = new Set(message.features);
    const refused = refusal(message.nodeId, features, this.#options.feature);
    if (refused !== undefined) {
      this.#settle(connection, { ok: false, reason: refused, retry: false });
      this.#refuse(connection, refused, features);
      return;
    }
    const nodeId = message.nodeId as string;
    const address = connection.remote;
    connection.identity = { key: nodeId, address, nodeId, features };
    if (nodeId === this.#options.self.id) {
      this.#selfAliases.add(address);
      this.#settle(connection, { ok: false, reason: 'that address is this peer', retry: false });
      connection.close('connected to itself');
      return;
    }
    this.#settle(connection, { ok: true });
    // Frames queued for another node at this address will not reach it.
    for (const [id, queue] of this.#queues) {
      if (queue.address === address && id !== nodeId) {
        this.#queues.delete(id);
        this.#options.input({ kind: 'dial-failed', address, reason: 'another node answers there' });
      }
    }
    this.#up(connection);
  }

  #settle(connection: Connection, outcome: DialOutcome): void {
    const resolve = this.#dials.get(connection);
    this.#dials.delete(connection);
    resolve?.(outcome);
  }

  #dialFailed(address: string, reason: string, retryInMs: number | undefined): void {
    this.#options.emit({
      type: 'dial-failed',
      peer: address,
      reason,
      ...(retryInMs === undefined ? {} : { retryInMs }),
    });
    if (retryInMs === undefined) this.#giveUp(address, reason);
  }

  /** Tells the core a dial it asked for failed, and drops what was queued for that address. */
  #giveUp(address: string, reason: string): void {
    for (const [id, queue] of this.#queues) {
      if (queue.address === address) this.#queues.delete(id);
    }
    this.#joins.delete(address);
    this.#options.input({ kind: 'dial-failed', address, reason });
  }

  // ---- links -----------------------------------------------------------------------------------

  /** An identified connection (inbound: proven) is up: the link, or a duplicate to settle. */
  #up(connection: Connection): void {
    const identity = connection.identity;
    if (identity?.nodeId === undefined || this.#stopped) return;
    const id = identity.nodeId;
    const existing = this.#links.get(id);
    if (existing !== undefined && existing !== connection) {
      const keep = this.#preferred(existing, connection);
      const drop = keep === existing ? connection : existing;
      this.#retired.add(drop);
      // Both ends pick the same one; the other is closed here, at once, not left to linger.
      drop.destroy('duplicate connection');
      this.#links.set(id, keep);
      return;
    }
    this.#links.set(id, connection);
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

  /** Of two connections to one node, the one dialed by the smaller node id (or the newer one). */
  #preferred(current: Connection, candidate: Connection): Connection {
    if (current.direction === candidate.direction) return candidate;
    const remoteId = candidate.identity?.nodeId ?? '';
    const outbound = current.direction === 'outbound' ? current : candidate;
    const inbound = outbound === current ? candidate : current;
    return this.#options.self.id < remoteId ? outbound : inbound;
  }

  #flush(id: string, connection: Connection): void {
    const queue = this.#queues.get(id);
    if (queue === undefined) return;
    this.#queues.delete(id);
    for (const message of queue.messages) connection.send(this.#options.encode(message));
    if (queue.closeAfter !== undefined) this.disconnect(id, queue.closeAfter);
  }

  #linkedAt(address: string): boolean {
    for (const c of this.#links.values()) if (c.identity?.address === address) return true;
    return false;
  }

  #disconnected(connection: Connection, reason: string): void {
    if (!this.#options.reportLinks || this.#stopped) return;
    this.#options.emit({
      type: 'disconnected',
      peer: connection.identity?.address ?? connection.remote,
      reason,
      reconnecting: false,
    });
  }

  // ---- connections -----------------------------------------------------------------------------

  #identity(): Identity {
    return {
      nodeId: this.#options.self.id,
      features: [Feature.goodbye, Feature.proof, this.#options.feature],
    };
  }

  #track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection {
    const connection = new Connection(
      socket,
      direction,
      {
        message: (c, m) => this.#onMessage(c, m),
        invalid: (c, reason) =>
          c.identity === undefined && c.direction === 'inbound'
            ? this.#reject(c, reason)
            : c.destroy(reason),
        close: (c, reason) => this.#onClose(c, reason),
      },
      remote,
    );
    this.#connections.add(connection);
    return connection;
  }

  #onMessage(connection: Connection, message: Message): void {
    if (this.#stopped) return;
    if (message.type === 'address_proof') {
      this.#prover.confirm(message.nonce, connection);
      return;
    }
    if (message.type === 'goodbye') {
      connection.close('the peer said goodbye');
      return;
    }
    const id = connection.identity?.nodeId;
    const linked = id !== undefined && this.#links.get(id) === connection;
    if (!linked) {
      if (connection.direction === 'inbound' && connection.identity === undefined) {
        if (message.type === 'public_address') this.#onPublicAddress(connection, message);
        else this.#reject(connection, `sent ${message.type} before public_address`);
      } else if (connection.direction === 'outbound' && this.#dials.has(connection)) {
        if (message.type === 'known_peers') this.#onReply(connection, message);
        else {
          const reason = refusal(undefined, new Set(), this.#options.feature) ?? message.type;
          this.#settle(connection, { ok: false, reason, retry: false });
          this.#refuse(connection, reason, new Set());
        }
      }
      // Anything else arrives on a connection being retired or proven: not the core's yet.
      return;
    }
    const decoded = this.#options.decode(message);
    if (decoded === undefined) {
      connection.destroy(`sent ${message.type} on an overlay link`);
      return;
    }
    this.#options.input({
      kind: 'message',
      from: { id, address: connection.identity?.address ?? connection.remote },
      message: decoded,
    });
  }

  #onClose(connection: Connection, reason: string): void {
    this.#connections.delete(connection);
    this.#endHandshake(connection);
    if (this.#dials.has(connection)) {
      this.#settle(connection, {
        ok: false,
        reason,
        retry: true,
        local: isLocalShortage(reason),
      });
      return;
    }
    const id = connection.identity?.nodeId;
    if (id !== undefined && this.#closing.has(connection)) {
      // The core closed it; it hears of the close unless another connection to the node is up.
      if (!this.#stopped && !this.#links.has(id)) {
        this.#options.input({ kind: 'peer-down', peer: id, reason });
      }
      return;
    }
    if (id === undefined || this.#retired.has(connection) || this.#links.get(id) !== connection) {
      return;
    }
    this.#links.delete(id);
    this.#disconnected(connection, reason);
    if (!this.#stopped) this.#options.input({ kind: 'peer-down', peer: id, reason });
  }

  #endHandshake(connection: Connection): void {
    if (this.#handshaking.delete(connection)) {
      this.#gate.release(connection.socket.remoteAddress ?? '');
    }
  }

  #reject(connection: Connection, reason: string): void {
    this.#options.emit({ type: 'rejected', remote: connection.remote, reason });
    connection.destroy(reason);
  }

  /** Refuses a peer of another protocol: a goodbye if it understands one, so it does not retry. */
  #refuse(connection: Connection, reason: string, features: ReadonlySet<string>): void {
    this.#options.emit({ type: 'rejected', remote: connection.remote, reason });
    if (features.has(Feature.goodbye)) connection.send({ type: 'goodbye' });
    connection.close(reason);
  }

  /** Closes every connection: with goodbyes and a flush when `graceful`, at once otherwise. */
  async stop(graceful: boolean): Promise<void> {
    this.#stopped = true;
    this.#dialer.stop();
    this.#prover.stop();
    for (const resolve of this.#dials.values())
      resolve({ ok: false, reason: 'stopping', retry: false });
    this.#dials.clear();
    const closed = [...this.#connections].map(
      (c) =>
        new Promise<void>((resolve) =>
          c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()),
        ),
    );
    for (const connection of this.#connections) {
      if (!graceful) {
        connection.destroy('this peer is stopping');
        continue;
      }
      if (connection.identity?.features.has(Feature.goodbye)) connection.send({ type: 'goodbye' });
      connection.close('this peer is stopping');
    }
    const grace = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy('this peer is stopping');
    }, this.#options.limits.stopGraceMs);
    await Promise.all(closed);
    clearTimeout(grace);
  }
}
