import { connect } from 'node:net';
import { reason } from '../core/reasons.js';
import { formatHostPort, type HostPort, parseHostPort } from '../protocol/address.js';
import type { Connection } from './connection.js';
import type { PeerContext } from './context.js';
import type { DialOutcome } from './dialer.js';
import { isSelfAddress } from './self.js';

const STOPPING = reason('STOPPING', 'stopping');

/** The dialing side: which addresses to dial, one attempt, and when an attempt is settled. */
export class Outbound {
  /** Outbound dials waiting for their connection to be identified. */
  readonly #pending = new Map<Connection, (outcome: DialOutcome) => void>();
  /** Addresses that turned out to be this peer under another name. */
  readonly #selfAliases = new Set<string>();
  /**
   * Addresses whose peer said goodbye: a peer list (perhaps one held during a proof, so older
   * than the goodbye) does not make us dial them again; linking them again clears this.
   */
  readonly #departed = new Set<string>();
  /**
   * For an address heard of in a peer list: the node id of the peer that listed it, named in our
   * `public_address` (Feature.relayProof) so the peer there may prove our claim through it.
   */
  readonly #vias = new Map<string, string>();

  constructor(private readonly ctx: PeerContext) {}

  /** Dials an address heard of (from `--connect` or a trusted peer list) unless it is us or linked. */
  learn(address: string, bootstrap = false, via?: string): void {
    const { ctx } = this;
    if (!ctx.running()) return;
    // Fast path: peer lists arrive normalized and mostly name peers we already have or are dialing.
    if (ctx.table.at(address) !== undefined || ctx.dialer.busy(address)) return;
    if (via !== undefined) bounded(this.#vias, ctx.options.limits.maxQueuedDials).set(address, via);
    if (!bootstrap && this.#departed.has(address)) return;
    const parsed = parseHostPort(address);
    if (!parsed.ok) return;
    const normalized = formatHostPort(parsed.value);
    if (this.isSelf(parsed.value, normalized)) {
      // A `--connect` that names this peer is a user mistake: say so (once) instead of ignoring it.
      if (bootstrap) {
        ctx.emit({
          type: 'dial-failed',
          peer: address,
          reason: 'that address is this peer',
          code: 'SELF',
        });
      }
      return;
    }
    if (ctx.table.at(normalized) !== undefined) return;
    const limits = ctx.options.limits;
    ctx.dialer.want(normalized, bootstrap ? limits.bootstrapBackoff : limits.dialBackoff);
  }

  isSelf(hostPort: HostPort, normalized: string): boolean {
    return (
      normalized === this.ctx.advertised() ||
      this.#selfAliases.has(normalized) ||
      isSelfAddress(hostPort, this.ctx.port(), this.ctx.options.advertisedHost)
    );
  }

  /** The peer at `address` left on purpose (its goodbye). */
  departed(address: string): void {
    // Bounded like the dial queue: the oldest departure is forgotten first.
    bounded(this.#departed, this.ctx.options.limits.maxQueuedDials).add(address);
  }

  /** The peer at `address` is linked (again). */
  returned(address: string): void {
    this.#departed.delete(address);
    this.#vias.delete(address);
  }

  addSelfAlias(address: string): void {
    this.#selfAliases.add(address);
  }

  /** One dial attempt; settles when the remote is identified or the attempt fails. */
  dial(address: string): Promise<DialOutcome> {
    const { ctx } = this;
    if (!ctx.running()) return Promise.resolve({ ok: false, reason: STOPPING, retry: false });
    if (ctx.table.at(address) !== undefined) return Promise.resolve({ ok: true });
    const parsed = parseHostPort(address);
    if (!parsed.ok) {
      return Promise.resolve({
        ok: false,
        reason: reason('BAD_ADDRESS', parsed.error),
        retry: false,
      });
    }
    return new Promise((resolve) => {
      const { host, port } = parsed.value;
      const socket = connect({ host, port });
      const connection = ctx.track(socket, 'outbound', address);
      this.#pending.set(connection, resolve);
      const limits = ctx.options.limits;
      connection.setDeadline(
        limits.connectTimeoutMs,
        reason('CONNECT_TIMEOUT', `no answer within ${limits.connectTimeoutMs} ms`),
      );
      socket.once('connect', () => {
        const via = this.#vias.get(address);
        connection.send({
          type: 'public_address',
          address: ctx.advertised(),
          ...(via === undefined ? {} : { via }),
          ...ctx.identity(),
        });
        // A peer of the original replies only when it knows other peers: silence means "connected".
        connection.setDeadline(limits.legacyReplyGraceMs, undefined, () =>
          ctx.arbiter.identify(connection, { address, features: new Set() }, true),
        );
      });
    });
  }

  /** Settles the dial of `connection`, if it is one waiting; true when it was. */
  settle(connection: Connection, outcome: DialOutcome): boolean {
    const resolve = this.#pending.get(connection);
    if (resolve === undefined) return false;
    this.#pending.delete(connection);
    resolve(outcome);
    return true;
  }
}

/** `collection`, with its oldest entry forgotten when it holds `max` already. */
function bounded<C extends Set<string> | Map<string, unknown>>(collection: C, max: number): C {
  if (collection.size >= max) {
    const oldest = collection.keys().next();
    if (!oldest.done) collection.delete(oldest.value);
  }
  return collection;
}
