/**
 * HyParView's shuffle (paper, p. 8): every period a node sends a sample of its views on a random
 * walk; the walk's end answers with a sample of its own, and both keep what they got as passive
 * candidates. Samples hold only proven refs (and the origin itself), so hearsay is not passed on.
 */
import { MAX_SHUFFLE_NODES } from '../protocol/limits.js';
import type { MembershipMessage, WireNodeRef } from '../protocol/overlay-messages.js';
import type { NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import type { Rng } from './rng.js';

export const SHUFFLE_TIMER = 'hv:shuffle';

/** What the shuffle needs of the membership it serves. */
export interface ShuffleHost {
  readonly self: NodeRef;
  readonly options: OverlayOptions;
  readonly rng: Rng;
  activeRefs(): NodeRef[];
  provenPassive(): NodeRef[];
  isActive(id: string): boolean;
  /** Whether the link to `id` is in use: a neighbor, or a neighbor request of ours in flight. */
  holdsLink(id: string): boolean;
  randomActive(except: readonly string[]): NodeRef | undefined;
  /** The ref to send to (the connection's), or undefined if a dial is not allowed now. */
  reach(ref: NodeRef): NodeRef | undefined;
  /** Keeps a heard-of ref as a passive candidate. */
  learn(ref: NodeRef, evictFirst?: ReadonlySet<string>): void;
  refill(out: Out): void;
}

export const wireRef = ({ id, address }: NodeRef): WireNodeRef => ({ id, address });

export class Shuffle {
  /** Ids we offered in our last shuffle, while its reply is awaited (evicted first by it). */
  #offer: Set<string> | undefined;

  constructor(private readonly host: ShuffleHost) {}

  schedule(out: Out): void {
    // Jitter (0.5 to 1.5 periods) keeps peers started together from shuffling in lockstep.
    const period = this.host.options.shuffleIntervalMs;
    setTimer(out, SHUFFLE_TIMER, Math.max(1, Math.round(period * (0.5 + this.host.rng.next()))));
  }

  onTimer(out: Out): void {
    const { host } = this;
    this.schedule(out);
    host.refill(out);
    const target = host.randomActive([]);
    if (target === undefined) return;
    const nodes = [
      ...this.#sample(host.activeRefs(), host.options.shuffleActiveCount, [target.id]),
      ...this.#sample(host.provenPassive(), host.options.shufflePassiveCount, [target.id]),
    ];
    this.#offer = new Set(nodes.map((n) => n.id));
    send(out, target, {
      type: 'hv_shuffle',
      origin: wireRef(host.self),
      nodes: [...nodes, host.self].slice(0, MAX_SHUFFLE_NODES).map(wireRef),
      ttl: host.options.shuffleWalkLength,
    });
  }

  /** A shuffle walk reached us from neighbor `from`: pass it on, or answer it and keep its nodes. */
  onShuffle(
    from: NodeRef,
    shuffle: Extract<MembershipMessage, { type: 'hv_shuffle' }>,
    out: Out,
  ): void {
    const { host } = this;
    const { origin, nodes } = shuffle;
    const ttl = Math.min(shuffle.ttl, host.options.shuffleWalkLength);
    const next =
      ttl > 0 && host.activeRefs().length > 1 ? host.randomActive([from.id, origin.id]) : undefined;
    if (next !== undefined) {
      send(out, next, { type: 'hv_shuffle', origin, nodes, ttl: ttl - 1 });
      return;
    }
    const target = host.reach(origin);
    if (target !== undefined) this.sendSample(target, origin, out, nodes.length);
    for (const node of nodes) host.learn(node);
  }

  onReply(from: NodeRef, nodes: readonly WireNodeRef[], out: Out): void {
    const { host } = this;
    // From a neighbor (a contact, an evicting peer, a walk that ended next to us) or once per
    // shuffle of ours; a stranger cannot refill our passive view at will.
    const offer = this.#offer;
    if (offer !== undefined || host.isActive(from.id)) {
      this.#offer = undefined;
      for (const node of nodes) host.learn(node, offer);
    }
    // The walk's end dialed us for the reply: the receiver closes such a link.
    if (!host.holdsLink(from.id)) {
      out.push({ kind: 'disconnect', peer: from.id, reason: 'shuffle done' });
    }
    host.refill(out);
  }

  /** A `hv_shuffle_reply` of proven candidates, passive ones first, none of them `about`. */
  sendSample(to: NodeRef, about: NodeRef, out: Out, count?: number): void {
    const { options } = this.host;
    const want = Math.min(
      count ?? options.shuffleActiveCount + options.shufflePassiveCount,
      MAX_SHUFFLE_NODES,
    );
    const nodes = this.#sample(this.host.provenPassive(), want, [about.id]);
    nodes.push(...this.#sample(this.host.activeRefs(), want - nodes.length, [about.id]));
    if (nodes.length > 0) send(out, to, { type: 'hv_shuffle_reply', nodes: nodes.map(wireRef) });
  }

  #sample(refs: readonly NodeRef[], count: number, except: readonly string[]): NodeRef[] {
    if (count <= 0) return [];
    return this.host.rng.shuffle(refs.filter((r) => !except.includes(r.id))).slice(0, count);
  }
}
