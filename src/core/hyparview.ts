/**
 * HyParView membership (Leitao, Pereira, Rodrigues, DSN 2007) as an I/O-free state machine: a small
 * active view of open, symmetric links and a larger passive view of candidates (`passive-view.ts`),
 * kept fresh by shuffles (`shuffle.ts`). Model: iroh-gossip's `proto/hyparview.rs`, with a separate
 * accept message (`hv_neighbor_accept`) instead of a `Neighbor` that is both request and reply, so
 * no request can be mistaken for an answer.
 *
 * Addresses: the active view holds only refs the driver reported (a `peer-up` or the sender of a
 * message: proven by the driver). Refs heard from others (forward joins, shuffles) go to the passive
 * view, marked unproven, and are passed on in shuffles only once proven. Every send to a peer we
 * have no connection to (the driver dials) takes a token from one dial budget, so a hostile
 * neighbor's forward joins and shuffles make us dial at most `dialBurst`, then one per `dialRefillMs`.
 */

import type { MembershipMessage, NeighborPriority } from '../protocol/overlay-messages.js';
import { Budget } from './budget.js';
import { JoinWalks } from './join-walk.js';
import type { CoreEnv, NodeRef } from './machine.js';
import { NEIGHBOR_TIMER, NeighborRequests, REFILL_TIMER } from './neighbor-requests.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import { PassiveView } from './passive-view.js';
import { LONELY_TIMER, Rejoin } from './rejoin.js';
import { SHUFFLE_TIMER, Shuffle } from './shuffle.js';

/**
 * Retries a join, and refills a view with fewer than `refillBelow` neighbors (high priority below
 * `lonelyBelow`), until it has them.
 */
const IDLE_TIMER = 'hv:idle:';

type AddResult = 'new' | 'present' | 'refused';

export class HyParView {
  readonly #active = new Map<string, NodeRef>();
  readonly #passive: PassiveView;
  readonly #shuffle: Shuffle;
  /** Connections the driver reported up, by node id. */
  readonly #connected = new Map<string, NodeRef>();
  readonly #pending: NeighborRequests;
  readonly #dials: Budget;
  #started = false;
  readonly #walks: JoinWalks;
  readonly #rejoin: Rejoin;

  constructor(
    private readonly self: NodeRef,
    private readonly env: CoreEnv,
    private readonly options: OverlayOptions,
  ) {
    this.#dials = new Budget(options.dialBurst, options.dialRefillMs, env.now());
    this.#passive = new PassiveView(options.passiveViewSize, env.rng);
    this.#pending = new NeighborRequests({
      options,
      rng: env.rng,
      activeSize: () => this.#active.size,
      isActive: (id) => this.#active.has(id),
      passiveRefs: () => this.#passive.refs(),
      reach: (ref) => this.#reach(ref),
    });
    this.#shuffle = new Shuffle({
      self,
      options,
      rng: env.rng,
      activeRefs: () => [...this.#active.values()],
      provenPassive: () => this.#passive.proven(),
      isActive: (id) => this.#active.has(id),
      holdsLink: (id) => this.#active.has(id) || this.#pending.has(id),
      randomActive: (except) => this.#randomActive(except),
      reach: (ref) => this.#reach(ref),
      learn: (ref, evictFirst) => this.#addPassive(ref, false, evictFirst),
      refill: (out, force) => this.#refill(out, undefined, force),
    });
    const common = {
      options,
      isActive: (id: string) => this.#active.has(id),
      isPending: (id: string) => this.#pending.has(id),
      isSelf: (ref: NodeRef) => this.#isSelf(ref),
    };
    this.#walks = new JoinWalks({
      ...common,
      activeRefs: () => this.#active.values(),
      randomActive: (except) => this.#randomActive(except),
      requestNeighbor: (ref, priority, out) => this.#pending.request(ref, priority, out),
      learn: (ref) => this.#addPassive(ref, false),
    });
    this.#rejoin = new Rejoin({
      ...common,
      rng: env.rng,
      activeSize: () => this.#active.size,
      passiveRefs: () => this.#passive.refs(),
      refillBelow: () => this.#refillBelow,
      refill: (out) => this.#refill(out, undefined, true),
      shuffle: (out) => this.#shuffle.onTimer(out),
      reach: (ref) => this.#reach(ref),
    });
  }

  get activeView(): NodeRef[] {
    return [...this.#active.values()];
  }

  get passiveView(): NodeRef[] {
    return this.#passive.refs();
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
    this.#shuffle.schedule(out);
  }

  peerUp(ref: NodeRef, out: Out): void {
    if (ref.id === this.self.id) return;
    this.#connected.set(ref.id, ref);
    this.#passive.prove(ref);
    this.#watchIdle(ref.id, out);
  }

  peerDown(id: string, out: Out): void {
    this.#connected.delete(id);
    out.push({ kind: 'cancel-timer', key: IDLE_TIMER + id });
    if (this.#pending.end(id, out) !== undefined && !this.#active.has(id)) this.#passive.delete(id);
    // A link that closed without a `hv_disconnect` is a failure: forget the peer (paper, p. 7).
    const lost = this.#active.has(id);
    if (lost) this.#removeActive(id, 'link closed', false, out);
    // A lost neighbor is replaced at once, backoff or not: this is how the overlay heals.
    this.#refill(out, id, lost);
  }

  dialFailed(address: string, out: Out): void {
    for (const id of this.#pending.idsAt(address)) this.#pending.end(id, out);
    this.#passive.deleteAddress(address);
    this.#rejoin.forgetAddress(address);
    this.#refill(out);
  }

  join(via: NodeRef, out: Out): void {
    this.#rejoin.joinVia(via, out);
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
        if (this.#active.has(from.id)) {
          this.#walks.onForwardJoin(from, message.peer, message.ttl, out);
        }
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
        if (this.#active.has(from.id) && !this.#isSelf(message.origin)) {
          this.#shuffle.onShuffle(from, message, out);
        }
        return;
      case 'hv_shuffle_reply':
        this.#shuffle.onReply(from, message.nodes, out);
        return;
    }
  }

  /** Handles a timer of this layer; false when `key` is not one. */
  timer(key: string, out: Out): boolean {
    if (key === SHUFFLE_TIMER) this.#shuffle.onTimer(out);
    else if (key === LONELY_TIMER) this.#rejoin.onTimer(out);
    else if (key === REFILL_TIMER) {
      this.#pending.waited();
      this.#refill(out, undefined, true);
    } else if (key.startsWith(NEIGHBOR_TIMER)) {
      const id = key.slice(NEIGHBOR_TIMER.length);
      // An unanswered request: the candidate is taken as failed (paper, p. 7).
      if (this.#pending.end(id, out) !== undefined && !this.#active.has(id))
        this.#passive.delete(id);
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
    this.#pending.end(from.id, out);
    // "A node that receives a join request will start by adding the new node to its active view,
    // even if it has to drop a random node from it." (paper, p. 6)
    const result = this.#addActive(from, true, out);
    send(out, from, { type: 'hv_neighbor_accept' });
    if (result !== 'new') return;
    // A newcomer's passive view is empty: give it candidates at once (iroh does so on eviction).
    this.#shuffle.sendSample(from, from, out);
    this.#walks.start(from, out);
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
    const priority = this.#pending.end(from.id, out);
    if (priority !== undefined) this.#pending.accepted();
    if (this.#active.has(from.id)) return;
    // Our own high request, or the answer to our join, may evict; anything else needs room.
    const evict =
      priority === 'high' || (priority === undefined && from.id === this.#rejoin.contactId);
    if (this.#addActive(from, evict, out) === 'refused') {
      // The other side holds us already: undo its half of the link.
      send(out, from, { type: 'hv_disconnect', alive: true });
      this.#addPassive(from, true);
    }
  }

  #onDisconnect(from: NodeRef, alive: boolean, out: Out): void {
    const refused = this.#pending.end(from.id, out) !== undefined && !this.#active.has(from.id);
    const lost = this.#active.has(from.id);
    if (lost) this.#removeActive(from.id, 'disconnect received', alive, out);
    else if (alive) this.#addPassive(from, true);
    else this.#passive.delete(from.id);
    // The receiver of a disconnect closes the link, so a link is closed once, after both sides
    // dropped it from their views.
    out.push({ kind: 'disconnect', peer: from.id, reason: 'dropped from the overlay' });
    if (refused && this.#active.size >= this.options.lonelyBelow) this.#pending.backOff(out);
    else this.#refill(out, from.id, lost);
  }

  /** Asks candidates for the free slots; arms the rejoin timer while short of neighbors. */
  #refill(out: Out, skip?: string, force = false): void {
    const lonely = this.#pending.refill(out, skip, force);
    if (lonely || this.#active.size < this.#refillBelow) this.#rejoin.arm(out);
  }

  /** Below this many neighbors the view is refilled on a timer (never above the view's size). */
  get #refillBelow(): number {
    const { lonelyBelow, refillBelow, activeViewSize } = this.options;
    return Math.min(Math.max(lonelyBelow, refillBelow), activeViewSize);
  }

  // ---- views -----------------------------------------------------------------------------------

  #addActive(ref: NodeRef, evict: boolean, out: Out): AddResult {
    if (this.#isSelf(ref)) return 'refused';
    if (this.#active.has(ref.id)) return 'present';
    if (this.#active.size >= this.options.activeViewSize) {
      const victim = evict ? this.#randomActive([ref.id]) : undefined;
      if (victim === undefined) return 'refused';
      this.#removeActive(victim.id, 'evicted for a newcomer', true, out);
      // Candidates first, so that the victim can refill the slot it loses.
      this.#shuffle.sendSample(victim, victim, out);
      send(out, victim, { type: 'hv_disconnect', alive: true });
    }
    const proven = this.#connected.get(ref.id) ?? ref;
    this.#active.set(ref.id, proven);
    this.#passive.delete(ref.id);
    out.push({ kind: 'cancel-timer', key: IDLE_TIMER + ref.id });
    out.push({ kind: 'event', event: { type: 'neighbor-up', peer: proven } });
    this.#walks.neighborAdded(proven, out);
    return 'new';
  }

  #removeActive(id: string, reason: string, keepPassive: boolean, out: Out): void {
    const ref = this.#active.get(id);
    if (ref === undefined) return;
    this.#active.delete(id);
    out.push({ kind: 'event', event: { type: 'neighbor-down', peer: ref, reason } });
    if (keepPassive) this.#addPassive(ref, true);
    this.#rejoin.remember(ref);
    this.#watchIdle(id, out);
  }

  /** Keeps `heard` as a candidate: proven if a connection to it is up (then at its address). */
  #addPassive(heard: NodeRef, proven: boolean, evictFirst?: ReadonlySet<string>): void {
    const connected = this.#connected.get(heard.id);
    const ref = connected ?? heard;
    if (this.#isSelf(ref) || this.#active.has(ref.id)) return;
    this.#passive.add(ref, proven || connected !== undefined, evictFirst);
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

  #isSelf(ref: NodeRef): boolean {
    return ref.id === this.self.id || ref.address === this.self.address;
  }
}
