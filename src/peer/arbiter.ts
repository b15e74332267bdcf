import {
  arbitrate,
  type LinkState,
  linkKey,
  type RemoteIdentity,
  type Retire,
  redialAfterClose,
  retireAfterCandidate,
} from '../core/links.js';
import type { Link } from '../core/peer-table.js';
import { type Reason, reason } from '../core/reasons.js';
import { Feature } from '../protocol/messages.js';
import { type Connection, LEGACY_FRAME_GAP_MS } from './connection.js';
import type { PeerContext } from './context.js';
import { reasonFields } from './events.js';
import { ProofChannels } from './proof-channels.js';
import type { Claim, ProofChannel } from './prover.js';

const DUPLICATE = reason('DUPLICATE', 'duplicate link');
const ALREADY_LINKED = reason('DUPLICATE', 'already linked to that node');

/**
 * The driver's side of link arbitration and proofs: it carries out what `core/links.ts` decides
 * (which connection is the link; every other one is retired, at once or after a grace period),
 * proves inbound claims (by dial-back, over a link we dialed, or through a relay: `ProofChannels`),
 * challenges a relay-vouched link whose address another node claims, holds an unproven claimant's
 * peer lists until its proof, and decides after a close whether to redial.
 */
export class Arbiter {
  /** Inbound connections waiting for their proof before they may take a link over, by link key. */
  readonly #candidates = new Map<string, Connection>();
  /** Addresses from the lists of an unproven link, by link key: acted on once it is proven. */
  readonly #held = new Map<string, Set<string>>();
  readonly #channels: ProofChannels;
  /** Vouched links being proven again by our own dial-back (`challenge`). */
  readonly #challenged = new WeakSet<Link<Connection>>();

  constructor(private readonly ctx: PeerContext) {
    this.#channels = new ProofChannels(ctx);
  }

  /** The remote of `connection` is now known: link it, or settle a duplicate or a self-dial. */
  identify(
    connection: Connection,
    remote: { address: string; nodeId?: string; features: ReadonlySet<string>; via?: string },
    presumedLegacy = false,
    silent = false,
  ): void {
    const { ctx } = this;
    connection.clearDeadline();
    const identity: RemoteIdentity = { key: linkKey(remote.address, remote.nodeId), ...remote };
    connection.identity = identity;
    // Paced while taken for a peer of the original; a late reply with a node id (`upgrade`) ends it.
    connection.pace(remote.nodeId === undefined ? LEGACY_FRAME_GAP_MS : 0);
    if (remote.nodeId === ctx.nodeId) {
      this.#reachedItself(connection, remote.address);
      return;
    }
    ctx.outbound.settle(connection, { ok: true });
    const existing = ctx.table.get(identity.key);
    if (existing === undefined) {
      this.#link(connection, identity, presumedLegacy, silent);
      return;
    }
    ctx.table.alias(existing, remote.address);
    ctx.dialer.forget(remote.address);
    const state: LinkState<Connection> = {
      connection: existing.connection,
      proven: existing.proven,
      hasCandidate: this.#candidates.has(existing.key),
    };
    const decision = arbitrate(state, connection, ctx.nodeId);
    switch (decision.kind) {
      case 'same':
        return;
      case 'keep-existing':
        this.#retire(connection, decision.retire, DUPLICATE);
        return;
      case 'refuse':
        this.#retire(connection, 'now', ALREADY_LINKED);
        return;
      case 'prove-first':
        this.#proveCandidate(existing, connection);
        return;
      case 'switch':
        this.#switch(existing, connection, decision.retire);
        return;
    }
  }

  /** How a claim's nonce may reach it without a probe connection (see `ProofChannels`). */
  proofChannel(claim: Claim): ProofChannel | undefined {
    return this.#channels.channel(claim);
  }

  /** Runs `then` once `link` is proven (at once if it is); never if it goes first. */
  whenProven(link: Link<Connection>, then: () => void): void {
    this.#channels.whenProven(link, then);
  }

  /**
   * Another node claims the address of the link of `key`: if only a relay vouched for that link,
   * we prove it again by our own dial-back (once), and close it if that fails. So a relay that
   * vouched for a squatter cannot keep the real peer at that address out.
   */
  challenge(key: string): void {
    const link = this.ctx.table.get(key);
    if (link === undefined || !link.vouched || this.#challenged.has(link)) return;
    this.#challenged.add(link);
    const { connection } = link;
    void this.#proof(link.address, connection, false).then((outcome) => {
      this.#challenged.delete(link);
      if (outcome.ok) link.vouched = false;
      else if (link.connection === connection && this.ctx.running())
        connection.close(this.#unproven(link.address, outcome.reason));
    });
  }

  /** Whether a peer list that arrived on `connection` may be acted on now, held, or dropped. */
  peerList(connection: Connection, peers: readonly string[]): void {
    const link = this.ctx.table.of(connection);
    if (link === undefined) return;
    if (link.proven) {
      // Trusted: the link itself, or a connection we dialed to the same node. A candidate's list
      // (an inbound claim not proven yet) is dropped: the proven link tells us the same.
      if (link.connection === connection || connection.direction === 'outbound') {
        this.ctx.mesh.message(link.connection, { type: 'known_peers', peers });
      }
      return;
    }
    if (link.connection !== connection) return;
    // Unproven: held until the proof, dropped if it fails; bounded to one full list.
    const held = this.#held.get(link.key) ?? new Set<string>();
    for (const address of peers) {
      if (held.size >= this.ctx.options.limits.maxHeldAddresses) break;
      held.add(address);
    }
    this.#held.set(link.key, held);
  }

  /**
   * A link taken for a peer of the original turned out to be one of ours (its reply came after the
   * grace period): file it under its node id, merging it with a link already there, without
   * telling observers anything, since the same peer stays connected at the same address.
   */
  upgrade(key: string, nodeId: string, features: ReadonlySet<string>): void {
    const link = this.ctx.table.get(key);
    if (link === undefined || !link.presumedLegacy) return;
    this.ctx.table.remove(link);
    if (link.proven) this.ctx.mesh.peerDown(key, reason('DUPLICATE', 'renamed'));
    this.identify(link.connection, { address: link.address, nodeId, features }, false, true);
  }

  /** A connection closed: forget it; a link that broke (not closed on purpose) is redialed. */
  closed(connection: Connection, why: Reason): void {
    const { ctx } = this;
    const link = ctx.table.of(connection);
    if (link === undefined || link.connection !== connection) return;
    const candidate = this.#candidates.get(link.key);
    if (candidate !== undefined && !candidate.closed && ctx.running()) {
      // The other end kept its own connection (our candidate): carry on over it, silently.
      link.connection = candidate;
      return;
    }
    ctx.table.remove(link);
    this.#held.delete(link.key);
    if (link.proven) ctx.mesh.peerDown(link.key, why);
    if (!ctx.running()) return;
    // Whichever end gets through first keeps the link; an address only a relay vouched for is
    // left to its claimant to redial (it dialed us), or any listener could have us redial anything.
    const reconnecting = redialAfterClose(connection.closedLocally, link.proven && !link.vouched);
    ctx.emit({
      type: 'disconnected',
      peer: link.address,
      ...reasonFields(why),
      reconnecting,
    });
    if (reconnecting) ctx.dialer.want(link.address, ctx.options.limits.reconnectBackoff);
  }

  /** Every alias of the link of `key` stops being dialed (its peer said goodbye). */
  forgetAliases(key: string): void {
    const link = this.ctx.table.get(key);
    if (link === undefined) return;
    for (const alias of link.aliases) {
      this.ctx.dialer.forget(alias);
      this.ctx.outbound.departed(alias);
    }
  }

  #reachedItself(connection: Connection, address: string): void {
    const self = reason('SELF', 'connected to itself');
    if (connection.direction === 'outbound') {
      // We reached ourselves under another name: remember it, never dial it again.
      this.ctx.outbound.addSelfAlias(address);
      this.ctx.outbound.settle(connection, {
        ok: false,
        reason: reason('SELF', 'that address is this peer'),
        retry: false,
      });
      connection.close(self);
    } else {
      // Our own dialing side closes it; bound its life in case the claim was not really ours.
      connection.setDeadline(this.ctx.options.limits.handshakeTimeoutMs, self);
    }
  }

  /** A connection that is not the link: closed now, or after a grace period if the other end may still use it. */
  #retire(connection: Connection, when: Retire, why: Reason): void {
    if (when === 'now') connection.close(why);
    else connection.setDeadline(this.ctx.options.limits.supersededGraceMs, why);
  }

  /** Makes `keep` the link's connection and retires the one it replaces. */
  #switch(link: Link<Connection>, keep: Connection, retire: Retire): void {
    const drop = link.connection;
    if (drop === keep) return;
    link.connection = keep;
    this.#retire(drop, retire, DUPLICATE);
    // A connection we dialed proves the address by itself.
    if (keep.direction === 'outbound') {
      link.vouched = false;
      if (!link.proven) this.#proven(link);
    }
  }

  #link(
    connection: Connection,
    identity: RemoteIdentity,
    presumedLegacy: boolean,
    silent: boolean,
  ): void {
    const { ctx } = this;
    const link = ctx.table.add(connection, identity, presumedLegacy);
    ctx.dialer.forget(link.address);
    ctx.outbound.returned(link.address);
    if (!silent) {
      ctx.emit({
        type: 'connected',
        peer: link.address,
        direction: connection.direction,
        ...(identity.nodeId === undefined ? {} : { nodeId: identity.nodeId }),
      });
    }
    if (connection.direction === 'outbound' || !ctx.options.proveAddresses) this.#proven(link);
    else this.#prove(link);
  }

  /** Dials back the address an inbound peer claimed; closes its link if the proof fails. */
  #prove(link: Link<Connection>): void {
    const { connection } = link;
    void this.#proof(link.address, connection, true).then((outcome) => {
      if (!this.ctx.running() || this.ctx.table.get(link.key) !== link || link.proven) return;
      if (outcome.ok) {
        link.vouched = outcome.by === 'relay';
        this.#proven(link);
        this.ctx.emit({
          type: 'address-proven',
          peer: link.address,
          ms: outcome.ms,
          by: outcome.by,
        });
      } else if (link.connection === connection) {
        this.#held.delete(link.key);
        connection.close(this.#unproven(link.address, outcome.reason));
      }
    });
  }

  /**
   * Two connections to one node, ours and one claimed inbound that the tie-break prefers: the
   * claim is proven (by the dial-back) before the link moves to it. If the remote closes our
   * connection meanwhile, as the node with the smaller id does once it holds its own, the
   * candidate takes over at once (`closed`), still subject to its proof.
   */
  #proveCandidate(link: Link<Connection>, candidate: Connection): void {
    this.#candidates.set(link.key, candidate);
    void this.#proof(link.address, candidate, false).then((outcome) => {
      if (this.#candidates.get(link.key) === candidate) this.#candidates.delete(link.key);
      if (!outcome.ok) {
        candidate.close(this.#unproven(link.address, outcome.reason));
        return;
      }
      const current = this.ctx.table.get(link.key);
      if (!this.ctx.running() || current === undefined || candidate.closed) return;
      this.#switch(
        current,
        candidate,
        retireAfterCandidate(current.connection, candidate, this.ctx.nodeId),
      );
    });
  }

  #proof(address: string, connection: Connection, relayable: boolean) {
    const identity = connection.identity;
    return this.ctx.prover.prove({
      address,
      connection,
      relayable,
      ...(identity?.nodeId === undefined ? {} : { nodeId: identity.nodeId }),
      answersProbes: identity?.features.has(Feature.proof) ?? false,
    });
  }

  #unproven(address: string, why: Reason): Reason {
    return { ...why, message: `could not prove it is reachable at ${address}: ${why.message}` };
  }

  /**
   * The link's address is proven: the full-mesh core takes the peer (and tells it the proven peers
   * it was not told yet), and the lists it sent while unproven are acted on now.
   */
  #proven(link: Link<Connection>): void {
    link.proven = true;
    this.ctx.mesh.peerUp(link.connection);
    this.#channels.proven(link);
    const held = this.#held.get(link.key);
    this.#held.delete(link.key);
    if (held !== undefined && held.size > 0) {
      this.ctx.mesh.message(link.connection, { type: 'known_peers', peers: [...held] });
    }
  }
}
