/**
 * HyParView membership (Leitao, Pereira, Rodrigues, DSN 2007) as an I/O-free state machine: a small
 * active view of open, symmetric links and a larger passive view of candidates. Model: iroh-gossip's
 * `proto/hyparview.rs`, with a separate accept message (`hv_neighbor_accept`) instead of a
 * `Neighbor` that is both request and reply, so no request can be mistaken for an answer.
 *
 * Addresses: the active view holds only refs the driver reported (a `peer-up` or the sender of a
 * message: proven by the driver). Refs heard from others (forward joins, shuffles) go to the passive
 * view, marked unproven, and are passed on in shuffles only once proven. Every send to a peer we
 * have no connection to (the driver dials) takes a token from one dial budget, so a hostile
 * neighbor's forward joins and shuffles make us dial at most `dialBurst`, then one per `dialRefillMs`.
 */

import { MAX_SHUFFLE_NODES } from '../protocol/limits.js';
import type {
  MembershipMessage,
  NeighborPriority,
  WireNodeRef,
} from '../protocol/overlay-messages.js';
import { Budget } from './budget.js';
import type { CoreEnv, NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';

const SHUFFLE_TIMER = 'hv:shuffle';
const JOIN_TIMER = 'hv:join';
const NEIGHBOR_TIMER = 'hv:nb:';
const IDLE_TIMER = 'hv:idle:';

interface Candidate {
  readonly ref: NodeRef;
  /** The driver reported a connection to this ref at some time (else it is hearsay). */
  readonly proven: boolean;
}

type AddResult = 'new' | 'present' | 'refused';

export class HyParView {
  readonly #active = new Map<string, NodeRef>();
  readonly #passive = new Map<string, Candidate>();
  /** Connections the driver reported up, by node id. */
  readonly #connected = new Map<string, NodeRef>();
  /** Our neighbor requests waiting for an accept, by node id. */
  readonly #pending = new Map<string, { ref: NodeRef; priority: NeighborPriority }>();
  readonly #dials: Budget;
  #contact: NodeRef | undefined;
  /** Ids we offered in our last shuffle, while its reply is awaited (evicted first by it). */
  #shuffleOffer: Set<string> | undefined;
  #started = false;

  constructor(
    private readonly self: NodeRef,
    private readonly env: CoreEnv,
    private readonly options: OverlayOptions,
  ) {
    this.#dials = new Budget(options.dialBurst, options.dialRefillMs, env.now());
  }

  get activeView(): NodeRef[] {
    return [...this.#active.values()];
  }

  get passiveView(): NodeRef[] {
    return [...this.#passive.values()].map((c) => c.ref);
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  isNeighbor(id: string): boolean {
    return this.#active.has(id);
  }

  /** Arms the periodic shuffle once, on the first input. */
  start(out: Out): void {
    if (this.#started) return;
    this.#started = true;
    this.#scheduleShuffle(out);
  }

  peerUp(ref: NodeRef, out: Out): void {
    if (ref.id === this.self.id) return;
    this.#connected.set(ref.id, ref);
    if (this.#passive.has(ref.id)) this.#passive.set(ref.id, { ref, proven: true });
    this.#watchIdle(ref.id, out);
  }

  peerDown(id: string, out: Out): void {
    this.#connected.delete(id);
    out.push({ kind: 'cancel-timer', key: IDLE_TIMER + id });
    if (this.#endRequest(id, out) && !this.#active.has(id)) this.#passive.delete(id);
    // A link that closed without a `hv_disconnect` is a failure: forget the peer (paper, p. 7).
    if (this.#active.has(id)) this.#removeActive(id, 'link closed', false, out);
    this.#refill(out, id);
  }

  dialFailed(address: string, out: Out): void {
    for (const [id, request] of this.#pending) {
      if (request.ref.address === address) this.#endRequest(id, out);
    }
    for (const [id, candidate] of this.#passive) {
      if (candidate.ref.address === address) this.#passive.delete(id);
    }
    this.#refill(out);
  }

  join(via: NodeRef, out: Out): void {
    this.#contact = via;
    send(out, via, { type: 'hv_join' });
    setTimer(out, JOIN_TIMER, this.options.joinRetryMs);
  }

  /** Sends `hv_disconnect` (not alive) to every neighbor: we are leaving. */
  leave(out: Out): void {
    for (const ref of [...this.#active.values()]) {
      this.#removeActive(ref.id, 'leaving', false, out);
      send(out, ref, { type: 'hv_disconnect', alive: false });
      out.push({ kind: 'disconnect', peer: ref.id, reason: 'leaving the overlay' });
    }
  }

  message(from: NodeRef, message: MembershipMessage, out: Out): void {
    switch (message.type) {
      case 'hv_join':
        this.#onJoin(from, out);
        return;
      case 'hv_forward_join':
        // Walks travel along active links only: a stranger cannot start one.
        if (this.#active.has(from.id)) this.#onForwardJoin(from, message.peer, message.ttl, out);
        return;
      case 'hv_neighbor':
        this.#onNeighbor(from, message.priority, out);
        return;
      case 'hv_neighbor_accept':
        this.#onAccept(from, out);
        return;
      case 'hv_disconnect':
        this.#onDisconnect(from, message.alive, out);
        return;
      case 'hv_shuffle':
        if (this.#active.has(from.id)) this.#onShuffle(from, message, out);
        return;
      case 'hv_shuffle_reply':
        this.#onShuffleReply(from, message.nodes, out);
        return;
    }
  }

  /** Handles a timer of this layer; false when `key` is not one. */
  timer(key: string, out: Out): boolean {
    if (key === SHUFFLE_TIMER) this.#onShuffleTimer(out);
    else if (key === JOIN_TIMER) this.#onJoinTimer(out);
    else if (key.startsWith(NEIGHBOR_TIMER)) {
      const id = key.slice(NEIGHBOR_TIMER.length);
      // An unanswered request: the candidate is taken as failed (paper, p. 7).
      if (this.#endRequest(id, out) && !this.#active.has(id)) this.#passive.delete(id);
      this.#refill(out, id);
    } else if (key.startsWith(IDLE_TIMER)) {
      const id = key.slice(IDLE_TIMER.length);
      if (this.#connected.has(id) && !this.#active.has(id) && !this.#pending.has(id)) {
        out.push({ kind: 'disconnect', peer: id, reason: 'not an overlay neighbor' });
      }
    } else return false;
    return true;
  }

  // ---- join ------------------------------------------------------------------------------------

  #onJoin(from: NodeRef, out: Out): void {
    this.#endRequest(from.id, out);
    // "A node that receives a join request will start by adding the new node to its active view,
    // even if it has to drop a random node from it." (paper, p. 6)
    const result = this.#addActive(from, true, out);
    send(out, from, { type: 'hv_neighbor_accept' });
    if (result !== 'new') return;
    const peer = wireRef(from);
    for (const neighbor of this.#active.values()) {
      if (neighbor.id === from.id) continue;
      send(out, neighbor, {
        type: 'hv_forward_join',
        peer,
        ttl: this.options.activeWalkLength,
      });
    }
  }

  #onForwardJoin(sender: NodeRef, peer: NodeRef, hopsLeft: number, out: Out): void {
    if (this.#isSelf(peer) || this.#active.has(peer.id)) return;
    const ttl = Math.min(hopsLeft, this.options.activeWalkLength);
    const next =
      ttl > 0 && this.#active.size > 1 ? this.#randomActive([sender.id, peer.id]) : undefined;
    if (next === undefined) {
      // The walk ends here: ask the newcomer to be our neighbor (we dial it).
      if (!this.#requestNeighbor(peer, 'high', out)) this.#addPassive(peer, false);
      return;
    }
    if (ttl === this.options.passiveWalkLength) this.#addPassive(peer, false);
    if (this.#pending.has(peer.id)) return;
    send(out, next, { type: 'hv_forward_join', peer: wireRef(peer), ttl: ttl - 1 });
  }

  #onJoinTimer(out: Out): void {
    if (this.#active.size > 0 || this.#contact === undefined) return;
    send(out, this.#contact, { type: 'hv_join' });
    this.#refill(out);
    setTimer(out, JOIN_TIMER, this.options.joinRetryMs);
  }

  // ---- neighbor requests -----------------------------------------------------------------------

  #onNeighbor(from: NodeRef, priority: NeighborPriority, out: Out): void {
    // "A node q that receives a high priority neighbor request will always accept the request,
    // even if it has to drop a random member from its active view." (paper, p. 7)
    if (this.#addActive(from, priority === 'high', out) === 'refused') {
      send(out, from, { type: 'hv_disconnect', alive: true });
      this.#addPassive(from, true);
    } else {
      send(out, from, { type: 'hv_neighbor_accept' });
    }
  }

  #onAccept(from: NodeRef, out: Out): void {
    const request = this.#pending.get(from.id);
    this.#endRequest(from.id, out);
    if (this.#active.has(from.id)) return;
    // Our own high request, or the answer to our join, may evict; anything else needs room.
    const evict =
      request?.priority === 'high' || (request === undefined && from.id === this.#contact?.id);
    if (this.#addActive(from, evict, out) === 'refused') {
      // The other side holds us already: undo its half of the link.
      send(out, from, { type: 'hv_disconnect', alive: true });
      this.#addPassive(from, true);
    }
  }

  #onDisconnect(from: NodeRef, alive: boolean, out: Out): void {
    this.#endRequest(from.id, out);
    if (this.#active.has(from.id)) this.#removeActive(from.id, 'disconnect received', alive, out);
    else if (alive) this.#addPassive(from, true);
    else this.#passive.delete(from.id);
    // The receiver of a disconnect closes the link, so a link is closed once, after both sides
    // dropped it from their views.
    out.push({ kind: 'disconnect', peer: from.id, reason: 'dropped from the overlay' });
    this.#refill(out, from.id);
  }

  /** Sends a neighbor request; false when the pending cap or the dial budget says no. */
  #requestNeighbor(ref: NodeRef, priority: NeighborPriority, out: Out): boolean {
    if (this.#pending.has(ref.id) || this.#active.has(ref.id)) return true;
    if (this.#pending.size >= this.options.pendingNeighborMax) return false;
    const target = this.#reach(ref);
    if (target === undefined) return false;
    this.#pending.set(ref.id, { ref: target, priority });
    send(out, target, { type: 'hv_neighbor', priority });
    setTimer(out, NEIGHBOR_TIMER + ref.id, this.options.neighborTimeoutMs);
    return true;
  }

  /** Drops a pending request; true if there was one. */
  #endRequest(id: string, out: Out): boolean {
    if (!this.#pending.delete(id)) return false;
    out.push({ kind: 'cancel-timer', key: NEIGHBOR_TIMER + id });
    return true;
  }

  /** Asks passive candidates to fill the free slots of the active view. */
  #refill(out: Out, skip?: string): void {
    let room = this.options.activeViewSize - this.#active.size;
    for (const id of this.#pending.keys()) if (!this.#active.has(id)) room--;
    const tried = new Set<string>(skip === undefined ? [] : [skip]);
    while (room > 0) {
      const candidates = [...this.#passive.values()].filter(
        (c) => !this.#pending.has(c.ref.id) && !tried.has(c.ref.id),
      );
      if (candidates.length === 0) break;
      const { ref } = this.env.rng.pick(candidates);
      tried.add(ref.id);
      const priority = this.#active.size === 0 ? 'high' : 'low';
      if (!this.#requestNeighbor(ref, priority, out)) break;
      room--;
    }
    if (this.#active.size === 0 && this.#pending.size === 0 && this.#contact !== undefined) {
      setTimer(out, JOIN_TIMER, this.options.joinRetryMs);
    }
  }

  // ---- shuffle ---------------------------------------------------------------------------------

  #scheduleShuffle(out: Out): void {
    // Jitter (0.5 to 1.5 periods) keeps peers started together from shuffling in lockstep.
    const period = this.options.shuffleIntervalMs;
    setTimer(out, SHUFFLE_TIMER, Math.max(1, Math.round(period * (0.5 + this.env.rng.next()))));
  }

  #onShuffleTimer(out: Out): void {
    this.#scheduleShuffle(out);
    this.#refill(out);
    const target = this.#randomActive([]);
    if (target === undefined) return;
    const nodes = [
      ...this.#sample([...this.#active.values()], this.options.shuffleActiveCount, [target.id]),
      ...this.#sample(this.#provenPassive(), this.options.shufflePassiveCount, [target.id]),
    ];
    this.#shuffleOffer = new Set(nodes.map((n) => n.id));
    send(out, target, {
      type: 'hv_shuffle',
      origin: wireRef(this.self),
      nodes: [...nodes, this.self].slice(0, MAX_SHUFFLE_NODES).map(wireRef),
      ttl: this.options.shuffleWalkLength,
    });
  }

  #onShuffle(
    from: NodeRef,
    shuffle: Extract<MembershipMessage, { type: 'hv_shuffle' }>,
    out: Out,
  ): void {
    const { origin, nodes } = shuffle;
    if (this.#isSelf(origin)) return;
    const ttl = Math.min(shuffle.ttl, this.options.shuffleWalkLength);
    const next =
      ttl > 0 && this.#active.size > 1 ? this.#randomActive([from.id, origin.id]) : undefined;
    if (next !== undefined) {
      send(out, next, { type: 'hv_shuffle', origin, nodes, ttl: ttl - 1 });
      return;
    }
    const want = Math.min(nodes.length, MAX_SHUFFLE_NODES);
    const reply = this.#sample(this.#provenPassive(), want, [origin.id]);
    reply.push(...this.#sample([...this.#active.values()], want - reply.length, [origin.id]));
    const target = this.#reach(origin);
    if (target !== undefined)
      send(out, target, { type: 'hv_shuffle_reply', nodes: reply.map(wireRef) });
    for (const node of nodes) this.#addPassive(node, false);
  }

  #onShuffleReply(from: NodeRef, nodes: readonly WireNodeRef[], out: Out): void {
    // One reply per shuffle we sent: anything else could churn our passive view at will.
    const offer = this.#shuffleOffer;
    if (offer !== undefined) {
      this.#shuffleOffer = undefined;
      for (const node of nodes) this.#addPassive(node, false, offer);
    }
    // The walk's end dialed us for the reply: the receiver closes such a link.
    if (!this.#active.has(from.id)) {
      out.push({ kind: 'disconnect', peer: from.id, reason: 'shuffle done' });
    }
    this.#refill(out);
  }

  // ---- views -----------------------------------------------------------------------------------

  #addActive(ref: NodeRef, evict: boolean, out: Out): AddResult {
    if (this.#isSelf(ref)) return 'refused';
    if (this.#active.has(ref.id)) return 'present';
    if (this.#active.size >= this.options.activeViewSize) {
      const victim = evict ? this.#randomActive([ref.id]) : undefined;
      if (victim === undefined) return 'refused';
      this.#removeActive(victim.id, 'evicted for a newcomer', true, out);
      send(out, victim, { type: 'hv_disconnect', alive: true });
    }
    const proven = this.#connected.get(ref.id) ?? ref;
    this.#active.set(ref.id, proven);
    this.#passive.delete(ref.id);
    out.push({ kind: 'cancel-timer', key: IDLE_TIMER + ref.id });
    out.push({ kind: 'event', event: { type: 'neighbor-up', peer: proven } });
    return 'new';
  }

  #removeActive(id: string, reason: string, keepPassive: boolean, out: Out): void {
    const ref = this.#active.get(id);
    if (ref === undefined) return;
    this.#active.delete(id);
    out.push({ kind: 'event', event: { type: 'neighbor-down', peer: ref, reason } });
    if (keepPassive) this.#addPassive(ref, true);
    this.#watchIdle(id, out);
  }

  /**
   * Adds a candidate. A known id keeps its entry (a proven ref upgrades it); one entry per address;
   * when full, a random entry leaves, one from `evictFirst` if any (paper, p. 8).
   */
  #addPassive(heard: NodeRef, proven: boolean, evictFirst?: ReadonlySet<string>): void {
    const connected = this.#connected.get(heard.id);
    const ref = connected ?? heard;
    const isProven = proven || connected !== undefined;
    if (this.#isSelf(ref) || this.#active.has(ref.id)) return;
    const known = this.#passive.get(ref.id);
    if (known !== undefined) {
      if (isProven) this.#passive.set(ref.id, { ref, proven: true });
      return;
    }
    for (const [id, candidate] of this.#passive) {
      if (candidate.ref.address !== ref.address) continue;
      if (!isProven || candidate.proven) return;
      this.#passive.delete(id);
    }
    if (this.#passive.size >= this.options.passiveViewSize) {
      const ids = [...this.#passive.keys()];
      const preferred = evictFirst === undefined ? [] : ids.filter((id) => evictFirst.has(id));
      this.#passive.delete(this.env.rng.pick(preferred.length > 0 ? preferred : ids));
    }
    if (this.options.passiveViewSize > 0) this.#passive.set(ref.id, { ref, proven: isProven });
  }

  #provenPassive(): NodeRef[] {
    return [...this.#passive.values()].filter((c) => c.proven).map((c) => c.ref);
  }

  /** The ref to send to: the connection's, or `ref` itself if the dial budget allows a dial. */
  #reach(ref: NodeRef): NodeRef | undefined {
    const connected = this.#connected.get(ref.id);
    if (connected !== undefined) return connected;
    return this.#dials.take(this.env.now()) ? ref : undefined;
  }

  #watchIdle(id: string, out: Out): void {
    if (this.#connected.has(id) && !this.#active.has(id)) {
      setTimer(out, IDLE_TIMER + id, this.options.strangerIdleMs);
    }
  }

  #randomActive(except: readonly string[]): NodeRef | undefined {
    const choices = [...this.#active.values()].filter((r) => !except.includes(r.id));
    return choices.length === 0 ? undefined : this.env.rng.pick(choices);
  }

  #sample(refs: readonly NodeRef[], count: number, except: readonly string[]): NodeRef[] {
    if (count <= 0) return [];
    return this.env.rng.shuffle(refs.filter((r) => !except.includes(r.id))).slice(0, count);
  }

  #isSelf(ref: NodeRef): boolean {
    return ref.id === this.self.id || ref.address === this.self.address;
  }
}

const wireRef = ({ id, address }: NodeRef): WireNodeRef => ({ id, address });
