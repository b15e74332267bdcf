import { TokenBuckets } from '../core/token-bucket.js';
import { Feature, type Message } from '../protocol/messages.js';
import { now } from './clock.js';
import type { Connection } from './connection.js';
import type { PeerContext } from './context.js';
import { echoNonce } from './probe-answer.js';

type RelayProbe = Extract<Message, { type: 'relay_probe' }>;
type RelayedProbe = Extract<Message, { type: 'relayed_probe' }>;

/**
 * Our part in proofs through a node linked to both ends (Feature.relayProof). As the relay: a
 * proven peer (the prover) asks us to give a nonce to another proven peer of ours (the claimant);
 * as the claimant: a relay gives us the nonce, and we send it back to the prover over our own
 * connections to it, as we answer a dial-back probe. The prover thus trusts the relay's proof of
 * the claimant's address, and opens no probe connection.
 */
export class ProofRelay {
  /** What one asker can make us send: one frame a request, bounded like a peer list's dials. */
  readonly #budget: TokenBuckets;
  /** What one relay can make us echo to third nodes: the same bound. */
  readonly #echoes: TokenBuckets;

  constructor(private readonly ctx: PeerContext) {
    this.#budget = new TokenBuckets(ctx.options.limits.addressBudget, now);
    this.#echoes = new TokenBuckets(ctx.options.limits.addressBudget, now);
  }

  /**
   * `relay_probe` from a linked node: passed on to the node id it names, only if that one's address
   * is proven here (that proof is what the asker trusts). The asker need not be proven yet: all it
   * can make us do is send a nonce that the claimant only echoes back to the asker's node id.
   */
  relay(from: Connection, message: RelayProbe): void {
    const { table } = this.ctx;
    const asker = this.#link(from);
    if (asker === undefined) return;
    // The node id must be the one we know at that address (under any of its names).
    const target = table.at(message.address);
    if (
      target === undefined ||
      target.key !== message.nodeId ||
      target.key === asker.key ||
      !target.connection.identity?.features.has(Feature.relayProof) ||
      !this.#budget.take(asker.key)
    ) {
      return;
    }
    // A claimant that dialed us and then, from our handshake reply, the asker, may be under proof
    // here still: the nonce waits for that proof, since our word is worth only what it proves.
    const nonce = message.nonce;
    const prover = { address: asker.address, nodeId: asker.key };
    this.ctx.arbiter.whenProven(target, () =>
      target.connection.send({ type: 'relayed_probe', nonce, ...prover }),
    );
  }

  /**
   * `relayed_probe` from a linked node: the nonce goes back as a probe's would, once the relay is
   * proven here and within its budget (each is a frame we send to a third node: a stranger, or an
   * endless stream, must not make us reflect frames at others).
   */
  relayed(from: Connection, message: RelayedProbe): void {
    const relay = this.#link(from);
    if (relay === undefined || !this.#echoes.take(relay.key)) return;
    const probe = {
      nonce: message.nonce,
      proberId: message.nodeId,
      proberAddress: message.address,
    };
    this.ctx.arbiter.whenProven(relay, () => echoNonce(probe, this.ctx.connections));
  }

  /** The link whose connection `connection` is; a duplicate or a stranger has none. */
  #link(connection: Connection) {
    const link = this.ctx.table.of(connection);
    return link?.connection === connection ? link : undefined;
  }
}
