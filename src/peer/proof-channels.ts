import type { Link } from '../core/peer-table.js';
import { TokenBuckets } from '../core/token-bucket.js';
import { Feature } from '../protocol/messages.js';
import { now } from './clock.js';
import type { Connection } from './connection.js';
import type { PeerContext } from './context.js';
import type { Claim, ProofChannel } from './prover.js';

/**
 * Callbacks waiting on one link's proof (relayed nonces through it, introductions it asked for).
 * A link is asked at most once per other peer in a full mesh (at most a few hundred); beyond this
 * the rest are dropped, and a relayed proof falls back to its probe.
 */
const MAX_WAITING_ON_PROOF = 1_024;

/**
 * The ways a proof's nonce can reach a claimant without a probe connection, and what waits for a
 * link's proof. A relay is trusted only so far: it vouches within a budget, and its word never
 * settles a conflict (a claim of a node id or an address we already hold: only our own dial-back
 * does, see `Arbiter.challenge`).
 */
export class ProofChannels {
  readonly #waiting = new WeakMap<Link<Connection>, Array<() => void>>();
  /** Claims one relay may vouch for: one frame each, bounded like a peer list's dials. */
  readonly #vouches: TokenBuckets;

  constructor(private readonly ctx: PeerContext) {
    this.#vouches = new TokenBuckets(ctx.options.limits.addressBudget, now);
  }

  /**
   * Over a connection we dialed to the claimed address, still open and not known to reach another
   * node (Feature.inlineProof): as good as a probe. Else, for a claim that conflicts with nothing,
   * through the node the claimant names as `via` (Feature.relayProof).
   */
  channel(claim: Claim): ProofChannel | undefined {
    const { nodeId } = claim;
    const identity = claim.connection.identity;
    if (nodeId === undefined || identity === undefined) return undefined;
    if (identity.features.has(Feature.inlineProof)) {
      for (const c of this.ctx.connections) {
        if (c.direction !== 'outbound' || c.closed || c.remote !== claim.address) continue;
        if (c.identity !== undefined && c.identity.nodeId !== nodeId) continue;
        return {
          route: 'dialed-link',
          dialed: c,
          send: (nonce) =>
            c.send({
              type: 'public_address',
              address: this.ctx.advertised(),
              ...this.ctx.identity(),
              probe: nonce,
            }),
        };
      }
    }
    const via = identity.via === undefined ? undefined : this.ctx.table.get(identity.via);
    if (
      !this.ctx.options.relayProofs ||
      claim.relayable !== true ||
      via === undefined ||
      via.key === nodeId ||
      !identity.features.has(Feature.relayProof) ||
      !via.connection.identity?.features.has(Feature.relayProof) ||
      !this.#vouches.take(via.key)
    ) {
      return undefined;
    }
    const { address } = claim;
    return {
      route: 'relay',
      // The relay's own claim may still be under proof: its word counts only once it is proven.
      // Whether that proof was ours or another relay's changes nothing: a relay is trusted for
      // its honesty, which no proof of its address shows (and refusing relays that were only
      // vouched for cost half the links of a mesh of 100 a probe: 1.45 connections per link).
      send: (nonce) =>
        this.whenProven(via, () =>
          via.connection.send({ type: 'relay_probe', nonce, address, nodeId }),
        ),
    };
  }

  /** Runs `then` once `link` is proven (at once if it is); never if it goes first. */
  whenProven(link: Link<Connection>, then: () => void): void {
    if (link.proven) {
      then();
      return;
    }
    const waiting = this.#waiting.get(link) ?? [];
    if (waiting.length < MAX_WAITING_ON_PROOF) waiting.push(then);
    this.#waiting.set(link, waiting);
  }

  /** `link` was just proven: what waited for it runs. */
  proven(link: Link<Connection>): void {
    const waiting = this.#waiting.get(link);
    this.#waiting.delete(link);
    for (const then of waiting ?? []) then();
  }
}
