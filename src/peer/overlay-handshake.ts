import { connect, type Socket } from 'node:net';
import type { NodeRef } from '../core/machine.js';
import { type Reason, reason } from '../core/reasons.js';
import { parseHostPort } from '../protocol/address.js';
import { Feature, type Identity, type Message } from '../protocol/messages.js';
import type { Connection } from './connection.js';
import type { DialOutcome } from './dialer.js';
import { type PeerEventInit, reasonFields } from './events.js';
import { HandshakeGate } from './handshake-gate.js';
import type { PeerLimits } from './limits.js';
import { refusal } from './overlay-refusal.js';
import { answerProbe } from './probe-answer.js';
import { AddressProver } from './prover.js';

const STOPPING = reason('STOPPING', 'stopping');
const CONNECTED_TO_ITSELF = reason('SELF', 'connected to itself');

export interface HandshakeOptions {
  readonly self: NodeRef;
  readonly limits: PeerLimits;
  readonly proveAddresses: boolean;
  /** The overlay's feature: a remote not announcing it is refused. */
  readonly feature: string;
  emit(event: PeerEventInit): void;
  /** Wraps a socket into a tracked connection (the owner routes its frames and its close). */
  track(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): Connection;
  /** Every connection open now (a probe's nonce goes back over ours to the prober). */
  connections(): Iterable<Connection>;
  /** The connection is identified (an inbound one proven): a link, or a duplicate of one. */
  identified(connection: Connection): void;
}

/**
 * How a connection becomes a link of the overlay. The dialer sends `public_address` (its address,
 * node id and features); the acceptor proves the claimed address with a dial-back probe (the
 * existing `AddressProver`), and only then replies `known_peers` with its own id and features, so
 * that no overlay frame flows before both ends are identified and the address is proven. A remote
 * without the overlay's feature (the original, a full-mesh peer of ours) is refused, with a
 * goodbye when it understands one so that it does not retry.
 */
export class OverlayHandshake {
  readonly #options: HandshakeOptions;
  readonly #gate: HandshakeGate;
  readonly #prover: AddressProver;
  /** Inbound connections that have not announced themselves yet. */
  readonly #handshaking = new Set<Connection>();
  /** Our dials waiting for the acceptor's reply. */
  readonly #dials = new Map<Connection, (outcome: DialOutcome) => void>();
  /** Addresses that turned out to be this peer. */
  readonly selfAliases = new Set<string>();
  #stopped = false;

  constructor(options: HandshakeOptions) {
    this.#options = options;
    const { limits } = options;
    this.#gate = new HandshakeGate(limits.maxPendingHandshakes, limits.maxPendingHandshakesPerIp);
    this.#prover = new AddressProver({
      hello: () => ({ address: options.self.address, ...this.identity() }),
      timeoutMs: limits.proofTimeoutMs,
      legacyGraceMs: limits.legacyReplyGraceMs,
      maxConcurrent: limits.maxConcurrentProofs,
      maxQueued: limits.maxQueuedProofs,
      channelFallbackMs: limits.proofChannelFallbackMs,
    });
  }

  identity(): Identity {
    return {
      nodeId: this.#options.self.id,
      features: [Feature.goodbye, Feature.proof, this.#options.feature],
    };
  }

  accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    if (this.#stopped || !this.#gate.admit(ip)) {
      socket.destroy();
      return;
    }
    const connection = this.#options.track(socket, 'inbound');
    this.#handshaking.add(connection);
    const { handshakeTimeoutMs } = this.#options.limits;
    const why = reason('HANDSHAKE_TIMEOUT', `no public_address within ${handshakeTimeoutMs} ms`);
    connection.setDeadline(handshakeTimeoutMs, why, () => this.#reject(connection, why));
  }

  /** One dial: settles once the acceptor has replied (and so proven our address), or failed. */
  attempt(address: string): Promise<DialOutcome> {
    if (this.#stopped) return Promise.resolve({ ok: false, reason: STOPPING, retry: false });
    const parsed = parseHostPort(address);
    if (!parsed.ok) {
      return Promise.resolve({
        ok: false,
        reason: reason('BAD_ADDRESS', parsed.error),
        retry: false,
      });
    }
    const { connectTimeoutMs, proofTimeoutMs } = this.#options.limits;
    return new Promise((resolve) => {
      const socket = connect({ host: parsed.value.host, port: parsed.value.port });
      const connection = this.#options.track(socket, 'outbound', address);
      this.#dials.set(connection, resolve);
      // The acceptor replies once it has proven our address: allow for the proof.
      const wait = connectTimeoutMs + proofTimeoutMs;
      connection.setDeadline(wait, reason('HANDSHAKE_TIMEOUT', `no answer within ${wait} ms`));
      socket.once('connect', () =>
        connection.send({
          type: 'public_address',
          address: this.#options.self.address,
          ...this.identity(),
        }),
      );
    });
  }

  /** A frame on a connection that is not (yet) a link. */
  message(connection: Connection, message: Message): void {
    if (this.#stopped) return;
    if (connection.direction === 'inbound' && connection.identity === undefined) {
      if (message.type === 'public_address') this.#onPublicAddress(connection, message);
      else {
        const why = `sent ${message.type} before public_address`;
        this.#reject(connection, reason('PROTOCOL_VIOLATION', why, 'BEFORE_HANDSHAKE'));
      }
    } else if (connection.direction === 'outbound' && this.#dials.has(connection)) {
      if (message.type === 'known_peers') {
        this.#onReply(connection, message);
      } else {
        // Only a peer of the original speaks before replying.
        const why = refusal(undefined, new Set(), this.#options.feature) as Reason;
        this.#settle(connection, { ok: false, reason: why, retry: false });
        this.#refuse(connection, why, new Set());
      }
    }
    // Anything else arrives on a connection being proven or retired: not the core's.
  }

  confirm(nonce: string, from: Connection): void {
    this.#prover.confirm(nonce, from);
  }

  /** The connection closed: ends its handshake; true when it was one of our dials. */
  closed(connection: Connection, why: Reason): boolean {
    if (this.#handshaking.delete(connection)) {
      this.#gate.release(connection.socket.remoteAddress ?? '');
    }
    if (!this.#dials.has(connection)) return false;
    this.#settle(connection, { ok: false, reason: why, retry: true });
    return true;
  }

  stop(): void {
    this.#stopped = true;
    this.#prover.stop();
    for (const resolve of this.#dials.values()) {
      resolve({ ok: false, reason: STOPPING, retry: false });
    }
    this.#dials.clear();
  }

  #onPublicAddress(
    connection: Connection,
    message: Extract<Message, { type: 'public_address' }>,
  ): void {
    this.#endHandshake(connection);
    connection.clearDeadline();
    if (message.probe !== undefined) {
      const probe = {
        nonce: message.probe,
        proberId: message.nodeId,
        proberAddress: message.address,
      };
      answerProbe(connection, probe, this.identity(), this.#options.connections());
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
      connection.close(CONNECTED_TO_ITSELF);
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
            reason(
              outcome.reason.code,
              `could not prove it is reachable at ${message.address}: ${outcome.reason.message}`,
              outcome.reason.detail,
            ),
          );
        }
      });
  }

  /** The inbound claim is proven: tell the dialer who we are; the connection is identified. */
  #acceptProven(connection: Connection): void {
    connection.send({ type: 'known_peers', peers: [], ...this.identity() });
    this.#options.identified(connection);
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
    connection.identity = { key: nodeId, address: connection.remote, nodeId, features };
    if (nodeId === this.#options.self.id) {
      this.selfAliases.add(connection.remote);
      this.#settle(connection, {
        ok: false,
        reason: reason('SELF', 'that address is this peer'),
        retry: false,
      });
      connection.close(CONNECTED_TO_ITSELF);
      return;
    }
    this.#settle(connection, { ok: true });
    this.#options.identified(connection);
  }

  #settle(connection: Connection, outcome: DialOutcome): void {
    const resolve = this.#dials.get(connection);
    this.#dials.delete(connection);
    resolve?.(outcome);
  }

  #endHandshake(connection: Connection): void {
    if (this.#handshaking.delete(connection)) {
      this.#gate.release(connection.socket.remoteAddress ?? '');
    }
  }

  #reject(connection: Connection, why: Reason): void {
    this.#options.emit({ type: 'rejected', remote: connection.remote, ...reasonFields(why) });
    connection.destroy(why);
  }

  /** Refuses a peer of another protocol: a goodbye if it understands one, so it does not retry. */
  #refuse(connection: Connection, why: Reason, features: ReadonlySet<string>): void {
    this.#options.emit({ type: 'rejected', remote: connection.remote, ...reasonFields(why) });
    if (features.has(Feature.goodbye)) connection.send({ type: 'goodbye' });
    connection.close(why);
  }
}
