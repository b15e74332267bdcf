/**
 * Today's full mesh (the original's protocol and our `exchange` extension) as a core free of I/O,
 * on the peer-level contract of `machine.ts`: both ends of every link tell each other the proven
 * peers they know, every listed address not linked yet is linked (within a per-remote budget): the
 * smaller address of the two dials, the larger asks the list's sender to introduce it (so a pair
 * opens one connection, not two), and every period a random text goes to every peer. The TCP driver (`src/peer/`) runs it on sockets,
 * the simulator on an in-memory network.
 *
 * A peer is given to this core (`peer-up`) only once it is trusted: we dialed it, or its claim of
 * address passed the proof. So only proven addresses are ever passed on, and a list from an
 * unproven claim is never acted on (the driver holds it until the proof, see `src/peer/arbiter.ts`).
 */
import { GOSSIP_MESSAGE_LENGTH } from '../protocol/limits.js';
import { Feature, type Message } from '../protocol/messages.js';
import { isLegacyKey } from './links.js';
import type { Core, CoreEnv, CoreInput, CoreOutput, NodeRef } from './machine.js';
import { type BucketPolicy, TokenBuckets } from './token-bucket.js';

export type MeshEvent =
  | { readonly type: 'message-received'; readonly peer: string; readonly text: string }
  | { readonly type: 'message-sent'; readonly text: string; readonly peers: number }
  /** A remote's list named more new addresses than its budget allows: the rest were not dialed. */
  | { readonly type: 'addresses-dropped'; readonly peer: string; readonly count: number };

export type MeshOutput = CoreOutput<Message, MeshEvent>;

export interface MeshConfig {
  readonly periodMs: number;
  /** Delay before the first gossip (a phase within the period). */
  readonly firstGossipMs: number;
  /** What one remote's peer lists can make us dial. */
  readonly addressBudget: BucketPolicy;
  /** Introductions one remote may ask of us, or make us follow (apart from its lists). */
  readonly introductionBudget: BucketPolicy;
  /** Our advertised address: of two peers that learn of each other, the smaller one dials. */
  self(): string;
  /**
   * How long we wait for a peer with a smaller address to dial us after asking for an
   * introduction; then we dial it ourselves (the introduction was lost, or it never came).
   * 0: never ask, dial every address heard of at once (two peers may then dial each other).
   */
  readonly introductionWaitMs: number;
}

/** The timer of the periodic gossip. */
export const GOSSIP_TIMER = 'gossip';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface MeshPeer {
  readonly ref: NodeRef;
  /** When it joined the proven set, as a step of the exchange's sequence. */
  readonly seq: number;
  /** Whether it passes introductions on (`introduce`): ours with the feature, not the original. */
  readonly introduces: boolean;
}

/** The timer of an introduction we asked for, by the address it names. */
const INTRODUCTION_TIMER = 'introduction:';

/**
 * Handshake replies sent to claimants not proven yet; a claim that never gets proven leaves an
 * entry behind, so the oldest are forgotten past this (a forgotten one is told everything again).
 */
const MAX_PENDING_REPLIES = 4_096;

export class MeshExchange implements Core<Message, MeshEvent> {
  readonly #peers = new Map<string, MeshPeer>();
  /** For a claimant we replied to before its proof: the step of the sequence the reply covered. */
  readonly #replied = new Map<string, number>();
  readonly #budget: TokenBuckets;
  readonly #introductionBudget: TokenBuckets;
  #seq = 0;
  /** Cache of `#linkedAddresses()`; dropped whenever a peer comes or goes. */
  #linked: Set<string> | undefined;
  /** Addresses we asked to be introduced to, waiting for their dial, and whom we asked. */
  readonly #introductions = new Map<string, NodeRef>();

  constructor(
    private readonly config: MeshConfig,
    private readonly env: CoreEnv,
  ) {
    this.#budget = new TokenBuckets(config.addressBudget, () => env.now());
    this.#introductionBudget = new TokenBuckets(config.introductionBudget, () => env.now());
  }

  /** The first gossip timer. */
  start(): MeshOutput[] {
    return [{ kind: 'set-timer', key: GOSSIP_TIMER, afterMs: this.config.firstGossipMs }];
  }

  /** Peers given to the core, i.e. trusted links. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * The list for the original's `known_peers` reply to a claimant (`id`, at `address`): every
   * proven peer but itself. It is remembered, so that once proven it is told only what is new.
   */
  reply(id: string, address: string): string[] {
    if (this.#replied.size >= MAX_PENDING_REPLIES) {
      const oldest = this.#replied.keys().next();
      if (!oldest.done) this.#replied.delete(oldest.value);
    }
    this.#replied.set(id, this.#seq);
    return this.#addresses((p) => p.ref.id !== id && p.ref.address !== address);
  }

  handle(input: CoreInput<Message>): MeshOutput[] {
    switch (input.kind) {
      case 'peer-up':
        return this.#peerUp(input.peer, input.features);
      case 'peer-down':
        this.#linked = undefined;
        this.#peers.delete(input.peer);
        this.#replied.delete(input.peer);
        return [];
      case 'message':
        return this.#message(input.from, input.message);
      case 'timer':
        if (input.key.startsWith(INTRODUCTION_TIMER))
          return this.#introductionLate(input.key.slice(INTRODUCTION_TIMER.length));
        if (input.key !== GOSSIP_TIMER) return [];
        return [
          ...this.#broadcast(this.#randomText()),
          { kind: 'set-timer', key: GOSSIP_TIMER, afterMs: this.config.periodMs },
        ];
      case 'broadcast':
        return this.#broadcast(input.payload);
      case 'join':
        return [{ kind: 'dial', address: input.via.address }];
      case 'dial-failed':
        return [];
    }
  }

  #peerUp(ref: NodeRef, features: ReadonlySet<string> | undefined): MeshOutput[] {
    const told = this.#replied.get(ref.id) ?? 0;
    this.#replied.delete(ref.id);
    const legacy = isLegacyKey(ref.id);
    const introduces = !legacy && (features?.has(Feature.introduce) ?? true);
    this.#peers.set(ref.id, { ref, seq: ++this.#seq, introduces });
    this.#linked = undefined;
    const out: MeshOutput[] = [];
    if (this.#introductions.delete(ref.address)) {
      out.push({ kind: 'cancel-timer', key: INTRODUCTION_TIMER + ref.address });
    }
    // Both ends of every link tell each other whom they know (the acceptor's half was its reply):
    // any two peers with a common neighbour end up linked, in any join order.
    const news = this.#addresses(
      (p) => p.ref.id !== ref.id && p.seq > told && !(legacy && this.#dialsToward(p.ref, ref)),
    );
    if (news.length > 0) {
      out.push({ kind: 'send', to: ref, message: { type: 'known_peers', peers: news } });
    }
    if (legacy) {
      // A peer of the original learns addresses only from lists and never retries; two of them
      // that learn of each other at once dial each other and both drop both connections (its
      // defect). So of two peers of the original, only the one with the smaller address is told
      // of the other, by every peer of ours alike: exactly one of them dials.
      for (const p of this.#peers.values()) {
        if (p.ref.id !== ref.id && this.#dialsToward(p.ref, ref)) {
          out.push({
            kind: 'send',
            to: p.ref,
            message: { type: 'known_peers', peers: [ref.address] },
          });
        }
      }
    }
    return out;
  }

  /** Whether `from` is the peer of the original that dials `to`, another one. */
  #dialsToward(from: NodeRef, to: NodeRef): boolean {
    return isLegacyKey(from.id) && isLegacyKey(to.id) && from.address < to.address;
  }

  #message(from: NodeRef, message: Message): MeshOutput[] {
    if (message.type === 'random_message') {
      return [
        {
          kind: 'event',
          event: { type: 'message-received', peer: from.address, text: message.text },
        },
      ];
    }
    if (message.type === 'introduce') return this.#introduce(from, message.peer);
    if (message.type === 'introduced') return this.#introduced(from, message.peer);
    if (message.type !== 'known_peers') return [];
    const linked = this.#linkedAddresses();
    const out: MeshOutput[] = [];
    const self = this.config.self();
    const relay = this.#peers.get(from.id);
    const asks = this.config.introductionWaitMs > 0 && relay?.introduces === true;
    let dropped = 0;
    for (const address of message.peers) {
      if (linked.has(address) || this.#introductions.has(address)) continue;
      // Only addresses that may lead to a dial spend the remote's budget.
      if (!this.#budget.take(from.id)) {
        dropped++;
      } else if (asks && address < self) {
        // The peer there dials, once the sender tells it of us; we dial only if it does not.
        this.#introductions.set(address, from);
        out.push(
          { kind: 'send', to: from, message: { type: 'introduce', peer: address } },
          {
            kind: 'set-timer',
            key: INTRODUCTION_TIMER + address,
            afterMs: this.config.introductionWaitMs,
          },
        );
      } else {
        out.push({ kind: 'dial', address, via: from });
      }
    }
    if (dropped > 0) {
      out.push({
        kind: 'event',
        event: { type: 'addresses-dropped', peer: from.address, count: dropped },
      });
    }
    return out;
  }

  /**
   * A peer asks us to tell the one at `address` (a peer of ours) about it: that one has the smaller
   * address, so it dials. One frame, spending the asker's introduction budget (not its list
   * budget: a mesh of N asks up to N - 1 introductions of one peer, besides its lists).
   */
  #introduce(from: NodeRef, address: string): MeshOutput[] {
    if (!this.#peers.has(from.id) || !this.#introductionBudget.take(from.id)) return [];
    for (const p of this.#peers.values()) {
      if (p.ref.address !== address || p.ref.id === from.id) continue;
      // A peer of the original dials whatever a list names.
      const message: Message = p.introduces
        ? { type: 'introduced', peer: from.address }
        : { type: 'known_peers', peers: [from.address] };
      return [{ kind: 'send', to: p.ref, message }];
    }
    return [];
  }

  /**
   * A peer of ours passes on another's request to meet us: we dial it, whatever our addresses
   * compare (each end may know the other under another spelling, and then both would wait).
   */
  #introduced(from: NodeRef, address: string): MeshOutput[] {
    if (this.#linkedAddresses().has(address) || !this.#introductionBudget.take(from.id)) return [];
    const out: MeshOutput[] = [];
    if (this.#introductions.delete(address)) {
      out.push({ kind: 'cancel-timer', key: INTRODUCTION_TIMER + address });
    }
    out.push({ kind: 'dial', address, via: from });
    return out;
  }

  /** The peer we asked to be introduced to did not dial us in time: dial it ourselves. */
  #introductionLate(address: string): MeshOutput[] {
    const via = this.#introductions.get(address);
    if (via === undefined) return [];
    this.#introductions.delete(address);
    return this.#linkedAddresses().has(address) ? [] : [{ kind: 'dial', address, via }];
  }

  /**
   * The addresses of the proven peers, rebuilt only after the set changed: every list that
   * arrives is checked against it (at N = 200 a list per link, each of up to 199 addresses).
   */
  #linkedAddresses(): ReadonlySet<string> {
    if (this.#linked === undefined) {
      this.#linked = new Set();
      for (const p of this.#peers.values()) this.#linked.add(p.ref.address);
    }
    return this.#linked;
  }

  #broadcast(text: string): MeshOutput[] {
    const message: Message = { type: 'random_message', text };
    const out: MeshOutput[] = [];
    for (const p of this.#peers.values()) out.push({ kind: 'send', to: p.ref, message });
    out.push({ kind: 'event', event: { type: 'message-sent', text, peers: this.#peers.size } });
    return out;
  }

  #addresses(include: (peer: MeshPeer) => boolean): string[] {
    const out: string[] = [];
    for (const p of this.#peers.values()) if (include(p)) out.push(p.ref.address);
    return out;
  }

  #randomText(): string {
    let text = '';
    for (let i = 0; i < GOSSIP_MESSAGE_LENGTH; i++)
      text += ALPHABET[this.env.rng.int(ALPHABET.length)];
    return text;
  }
}
