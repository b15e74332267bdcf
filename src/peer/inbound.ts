import type { Socket } from 'node:net';
import { linkKey } from '../core/links.js';
import { reason, type ViolationCode } from '../core/reasons.js';
import { parseHostPort } from '../protocol/address.js';
import type { Message } from '../protocol/messages.js';
import { now } from './clock.js';
import type { Connection } from './connection.js';
import type { PeerContext } from './context.js';
import { HandshakeGate } from './handshake-gate.js';
import { answerProbe, echoNonce } from './probe-answer.js';
import { ProofRelay } from './proof-relay.js';

type PublicAddress = Extract<Message, { type: 'public_address' }>;

const violation = (detail: ViolationCode, message: string) =>
  reason('PROTOCOL_VIOLATION', message, detail);

/**
 * The accepting side and every message that arrives: handshake slots, the `public_address`
 * handshake (a join or a dial-back probe), and the dispatch of each message to the part that
 * handles it. Nothing from a connection is acted on before it is identified.
 */
export class Inbound {
  /** Inbound connections that have not announced themselves yet. */
  readonly #handshaking = new Set<Connection>();
  readonly #gate: HandshakeGate;
  readonly #relay: ProofRelay;

  constructor(private readonly ctx: PeerContext) {
    this.#relay = new ProofRelay(ctx);
    const limits = ctx.options.limits;
    this.#gate = new HandshakeGate(limits.maxPendingHandshakes, limits.maxPendingHandshakesPerIp);
  }

  accept(socket: Socket): void {
    const { ctx } = this;
    if (!ctx.running()) {
      socket.destroy();
      return;
    }
    const ip = socket.remoteAddress ?? '';
    if (!this.#gate.admit(ip)) {
      socket.destroy();
      const refused = this.#gate.refusalsToReport(now());
      if (refused > 0) {
        ctx.emit({
          type: 'rejected',
          remote: ip,
          reason: `refused ${refused} connection${refused === 1 ? '' : 's'}: too many still handshaking`,
          code: 'HANDSHAKE_LIMIT',
        });
      }
      return;
    }
    const connection = ctx.track(socket, 'inbound');
    this.#handshaking.add(connection);
    const timeoutMs = ctx.options.limits.handshakeTimeoutMs;
    const why = reason('HANDSHAKE_TIMEOUT', `no public_address within ${timeoutMs} ms`);
    // Reported like any other refused connection (a silent timeout left no trace).
    connection.setDeadline(timeoutMs, why, () => ctx.reject(connection, why));
  }

  /** The connection announced itself, or left: it no longer counts against the handshake limits. */
  endHandshake(connection: Connection): void {
    if (this.#handshaking.delete(connection))
      this.#gate.release(connection.socket.remoteAddress ?? '');
  }

  message(connection: Connection, message: Message): void {
    const { ctx } = this;
    if (!ctx.running()) return;
    const identity = connection.identity;
    const stranger = identity === undefined && connection.direction === 'inbound';
    switch (message.type) {
      case 'public_address':
        if (connection.direction === 'outbound') {
          ctx.reject(
            connection,
            violation('ADDRESS_TO_DIALER', 'sent public_address to its dialer'),
          );
        } else if (identity === undefined) {
          this.#publicAddress(connection, message);
        } else if (message.address !== identity.address) {
          ctx.reject(
            connection,
            violation('RECLAIM', `re-claimed another address (${message.address})`),
          );
        } else if (message.probe !== undefined) {
          // Its prober dialed us anyway and proves our claim over this link (Feature.inlineProof).
          const probe = {
            nonce: message.probe,
            proberId: identity.nodeId,
            proberAddress: identity.address,
          };
          echoNonce(probe, ctx.connections, connection);
        }
        return;
      case 'known_peers':
        if (stranger) {
          ctx.reject(
            connection,
            violation('BEFORE_HANDSHAKE', 'sent known_peers before public_address'),
          );
          return;
        }
        if (identity === undefined) {
          ctx.arbiter.identify(connection, {
            address: connection.remote,
            ...(message.nodeId === undefined ? {} : { nodeId: message.nodeId }),
            features: new Set(message.features),
          });
        } else if (message.nodeId !== undefined && identity.nodeId === undefined) {
          ctx.arbiter.upgrade(identity.key, message.nodeId, new Set(message.features));
        }
        ctx.arbiter.peerList(connection, message.peers);
        return;
      case 'random_message':
        if (stranger) {
          ctx.reject(
            connection,
            violation('BEFORE_HANDSHAKE', 'sent random_message before public_address'),
          );
          return;
        }
        // Only a peer of the original sends gossip before replying.
        if (identity === undefined) {
          ctx.arbiter.identify(connection, { address: connection.remote, features: new Set() });
        }
        this.#gossip(connection, message.text);
        return;
      case 'address_proof':
        ctx.prover.confirm(message.nonce, connection);
        return;
      case 'relay_probe':
      case 'relayed_probe':
      case 'introduce':
      case 'introduced':
        if (stranger) {
          ctx.reject(
            connection,
            violation('BEFORE_HANDSHAKE', `sent ${message.type} before public_address`),
          );
        } else if (message.type === 'relay_probe') {
          this.#relay.relay(connection, message);
        } else if (message.type === 'relayed_probe') {
          this.#relay.relayed(connection, message);
        } else {
          this.#fromLink(connection, message);
        }
        return;
      case 'goodbye':
        if (identity !== undefined) ctx.arbiter.forgetAliases(identity.key);
        connection.close(reason('GOODBYE', 'the peer said goodbye'));
        return;
    }
  }

  /** Gossip from a linked node: a trusted link's goes through the core; a link still under proof is shown as it arrives. */
  #gossip(connection: Connection, text: string): void {
    const link = this.ctx.table.of(connection);
    if (link === undefined) return;
    if (link.proven) this.ctx.mesh.message(link.connection, { type: 'random_message', text });
    else this.ctx.emit({ type: 'message-received', peer: link.address, text });
  }

  /**
   * A request for the core (`introduce`) from a link: acted on once the link is trusted. A
   * newcomer asks right after our handshake reply, while its own claim is still under proof here.
   */
  #fromLink(connection: Connection, message: Message): void {
    const link = this.ctx.table.of(connection);
    if (link?.connection !== connection) return;
    this.ctx.arbiter.whenProven(link, () => this.ctx.mesh.message(link.connection, message));
  }

  #publicAddress(connection: Connection, message: PublicAddress): void {
    const { ctx } = this;
    this.endHandshake(connection);
    connection.clearDeadline();
    if (message.probe !== undefined) {
      const probe = {
        nonce: message.probe,
        proberId: message.nodeId,
        proberAddress: message.address,
      };
      answerProbe(connection, probe, ctx.identity(), ctx.connections);
      return;
    }
    const parsed = parseHostPort(message.address);
    if (
      message.nodeId === undefined &&
      parsed.ok &&
      ctx.outbound.isSelf(parsed.value, message.address)
    ) {
      ctx.reject(
        connection,
        reason('OWN_ADDRESS', `claimed this peer's own address (${message.address})`),
      );
      return;
    }
    let holder = ctx.table.keyOf(message.address);
    if (
      holder !== undefined &&
      message.nodeId !== undefined &&
      ctx.table.get(holder)?.presumedLegacy
    ) {
      ctx.arbiter.upgrade(holder, message.nodeId, new Set(message.features));
      holder = ctx.table.keyOf(message.address);
    }
    const key = linkKey(message.address, message.nodeId);
    if (holder !== undefined && holder !== key) {
      ctx.arbiter.challenge(holder);
      ctx.reject(
        connection,
        reason('ADDRESS_TAKEN', `claimed the address of a linked peer (${message.address})`),
      );
      return;
    }
    // The original replies with the peers it knows except the newcomer, and only when there are
    // some; peers of ours always get a reply, since it carries our node id. A second connection
    // of a node already linked gets the whole list too: the list we sent over the first may be
    // dropped at the other end (it trusts lists only on its link or on connections it dialed).
    const peers = ctx.mesh.core.reply(key, message.address);
    if (message.nodeId !== undefined || peers.length > 0)
      connection.send({ type: 'known_peers', peers, ...ctx.identity() });
    ctx.arbiter.identify(connection, {
      address: message.address,
      ...(message.nodeId === undefined ? {} : { nodeId: message.nodeId }),
      features: new Set(message.features),
      ...(message.via === undefined ? {} : { via: message.via }),
    });
  }
}
