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
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { Budget } from './budget.js';
import type { CoreEnv, NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import { PassiveView } from './passive-view.js';
import { SHUFFLE_TIMER, Shuffle, wireRef } from './shuffle.js';

/**
 * Retries a join, and refills a view with fewer than `refillBelow` neighbors (high priority below
 * `lonelyBelow`), until it has them.
 */
const LONELY_TIMER = 'hv:lonely';
const NEIGHBOR_TIMER = 'hv:nb:';
const IDLE_TIMER = 'hv:idle:';
/** Ends the wait after a refused neighbor request (see `refillBackoffMs`). */
const REFILL_TIMER = 'hv:refill';

type AddResult = 'new' | 'present' | 'refused';

export class HyParView {
  readonly #active = new Map<string, NodeRef>();
  readonly #passive: PassiveView;
  readonly #shuffle: Shuffle;
  /** Connections the driver reported up, by node id. */
  readonly #connected = new Map<string, NodeRef>();
  /** Our neighbor requests waiting for an accept, by node id. */
  readonly #pending = new Map<string, { ref: NodeRef; priority: NeighborPriority }>();
  readonly #dials: Budget;
  #contact: NodeRef | undefined;
  #started = false;
  #lonelyArmed = false;
  /** Lonely-timer rounds since the view last had `lonelyBelow` neighbors (its backoff step). */
  #lonelyTries = 0;
  /** Refusals since a request of ours was last accepted (the refill backoff step). */
  #refusals = 0;
  #refillWaiting = false;
  /**
   * Newcomers that joined through us while we had too few other neighbors to start their walks,
   * with the walks still owed: each neighbor we gain later starts one (see `#owedWalks`).
   */
  readonly #owed = new Map<string, { ref: NodeRef; walks: number }>();
  /** Contacts and former neighbors, newest last: whom to rejoin through if the passive view is empty. */
  #known: NodeRef[] = [];
  readonly #refillPolicy: BackoffPolicy;
  readonly #lonelyPolicy: BackoffPolicy;

  constructor(
    private readonly self: NodeRef,
    private readonly env: CoreEnv,
    private readonly options: OverlayOptions,
  ) {
    this.#dials = new Budget(options.dialBurst, options.dialRefillMs, env.now());
    this.#refillPolicy = {
      baseMs: options.refillBackoffMs,
      maxMs: options.refillBackoffMaxMs,
      maxAttempts: Infinity,
    };
    this.#lonelyPolicy = {
      baseMs: options.joinRetryMs,
      maxMs: Math.max(options.joinRetryMs, options.lonelyRetryMaxMs),
      maxAttempts: Infinity,
    };
    this.#passive = new PassiveView(options.passiveViewSize, env.rng);
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
    if (this.#endRequest(id, out) && !this.#active.has(id)) this.#passive.delete(id);
    // A link that closed without a `hv_disconnect` is a failure: forget the peer (paper, p. 7).
    const lost = this.#active.has(id);
    if (lost) this.#removeActive(id, 'link closed', false, out);
    // A lost neighbor is replaced at once, backoff or not: this is how the overlay heals.
    this.#refill(out, id, lost);
  }

  dialFailed(address: string, out: Out): void {
    for (const [id, request] of this.#pending) {
      if (request.ref.address === address) this.#endRequest(id, out);
    }
    this.#passive.deleteAddress(address);
    this.#known = this.#known.filter((ref) => ref.address !== address);
    this.#refill(out);
  }

  join(via: NodeRef, out: Out): void {
    this.#contact = via;
    this.#remember(via);
    send(out, via, { type: 'hv_join' });
    this.#armLonely(out);
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
    else if (key === LONELY_TIMER) this.#onLonelyTimer(out);
    else if (key === REFILL_TIMER) {
      this.#refillWaiting = false;
      this.#refill(out, undefined, true);
    } else if (key.startsWith(NEIGHBOR_TIMER)) {
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
    // A newcomer's passive view is empty: give it candidates at once (iroh does so on eviction).
    this.#shuffle.sendSample(from, from, out);
    let walks = 0;
    for (const neighbor of this.#active.values()) {
      if (neighbor.id === from.id) continue;
      this.#startWalk(from, neighbor, out);
      walks++;
    }
    // Joins that arrive at once (an emulation starting, a burst) find their contacts with one
    // link or none: the walks could not start, and the newcomers hung off their contacts as a
    // tree (simulator, 1,000 simultaneous joins: diameter 24). The walks owed start as soon as
    // we gain neighbors to send them through.
    const owed = this.options.activeViewSize - 1 - walks;
    if (owed > 0) {
      this.#owed.delete(from.id);
      this.#owed.set(from.id, { ref: from, walks: owed });
      if (this.#owed.size > this.options.activeViewSize) {
        this.#owed.delete(this.#owed.keys().next().value as string);
      }
    }
  }

  #startWalk(newcomer: NodeRef, via: NodeRef, out: Out): void {
    send(out, via, {
      type: 'hv_forward_join',
      peer: wireRef(newcomer),
      ttl: this.options.activeWalkLength,
    });
  }

  /** A new neighbor: the walks owed to earlier newcomers start through it. */
  #owedWalks(neighbor: NodeRef, out: Out): void {
    for (const [id, entry] of this.#owed) {
      if (id === neighbor.id) continue;
      this.#startWalk(entry.ref, neighbor, out);
      if (--entry.walks <= 0) this.#owed.delete(id);
    }
  }

  #onForwardJoin(sender: NodeRef, peer: NodeRef, hopsLeft: number, out: Out): void {
    if (this.#isSelf(peer) || this.#active.has(peer.id)) return;
    const ttl = Math.min(hopsLeft, this.options.activeWalkLength);
    // A node whose only neighbor is the sender sends the walk back rather than end it early (the
    // paper ends it): during a burst of joins young nodes hold one link, and walks ending at them
    // chain the newcomers to each other instead of spreading them.
    const next =
      ttl > 0
        ? (this.#randomActive([sender.id, peer.id]) ?? this.#randomActive([peer.id]))
        : undefined;
    if (next === undefined) {
      // The walk ends here: ask the newcomer to be our neighbor (we dial it).
      if (!this.#requestNeighbor(peer, 'high', out)) this.#addPassive(peer, false);
      return;
    }
    if (ttl === this.options.passiveWalkLength) this.#addPassive(peer, false);
    if (this.#pending.has(peer.id)) return;
    send(out, next, { type: 'hv_forward_join', peer: wireRef(peer), ttl: ttl - 1 });
  }

  #onLonelyTimer(out: Out): void {
    this.#lonelyArmed = false;
    if (this.#active.size >= this.#refillBelow) {
      this.#lonelyTries = 0;
      return;
    }
    // Short of neighbors: join again if alone or out of candidates, through the contact first,
    // then through anyone we were linked to (the contact may be dead, and a partition may have
    // left only former neighbors reachable). Tries alternate (`#armLonely` counted the first).
    if (this.#active.size === 0 || this.#passive.size === 0) {
      this.#rejoin(this.#lonelyTries % 2 === 1, out);
    }
    const known = this.#passive.refs().some((ref) => !this.#pending.has(ref.id));
    // No candidate to ask: a shuffle with a neighbor brings some (it refills too).
    if (!known && this.#active.size > 0) this.#shuffle.onTimer(out);
    else this.#refill(out, undefined, true);
    this.#armLonely(out);
  }

  /** Sends `hv_join` to the contact (`contactFirst`) or to a random remembered peer. */
  #rejoin(contactFirst: boolean, out: Out): boolean {
    const choices = this.#known.filter((ref) => !this.#active.has(ref.id) && !this.#isSelf(ref));
    // A contact whose dial failed left `#known`: it is not asked again.
    const contact = this.#known.find((ref) => ref.id === this.#contact?.id);
    const via =
      contactFirst && contact !== undefined
        ? contact
        : choices.length > 0
          ? this.env.rng.pick(choices)
          : contact;
    if (via === undefined || this.#active.has(via.id)) return false;
    const target = this.#reach(via);
    if (target === undefined) return false;
    send(out, target, { type: 'hv_join' });
    return true;
  }

  #remember(ref: NodeRef): void {
    if (this.options.rejoinMemory === 0 || this.#isSelf(ref)) return;
    this.#known = this.#known.filter((known) => known.id !== ref.id);
    this.#known.push(ref);
    if (this.#known.length > this.options.rejoinMemory) this.#known.shift();
  }

  #armLonely(out: Out): void {
    if (this.#lonelyArmed) return;
    this.#lonelyArmed = true;
    const delay = backoffDelay(this.#lonelyPolicy, this.#lonelyTries++, () => this.env.rng.next());
    setTimer(out, LONELY_TIMER, Math.max(1, delay));
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
    if (request !== undefined) this.#refusals = 0;
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
    const refused = this.#endRequest(from.id, out) && !this.#active.has(from.id);
    const lost = this.#active.has(from.id);
    if (lost) this.#removeActive(from.id, 'disconnect received', alive, out);
    else if (alive) this.#addPassive(from, true);
    else this.#passive.delete(from.id);
    // The receiver of a disconnect closes the link, so a link is closed once, after both sides
    // dropped it from their views.
    out.push({ kind: 'disconnect', peer: from.id, reason: 'dropped from the overlay' });
    if (refused && this.#active.size >= this.options.lonelyBelow) this.#backOff(out);
    else this.#refill(out, from.id, lost);
  }

  /**
   * A candidate refused us (its view is full): wait before asking the next one, longer after each
   * refusal, instead of walking the passive view at once (see `refillBackoffMs`).
   */
  #backOff(out: Out): void {
    if (this.#refillWaiting) return;
    this.#refillWaiting = true;
    const delay = backoffDelay(this.#refillPolicy, this.#refusals++, () => this.env.rng.next());
    setTimer(out, REFILL_TIMER, Math.max(1, delay));
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

  /**
   * Asks passive candidates to fill the free slots of the active view. While waiting after a
   * refusal only `force` (a lost neighbor, the timers) or a view short of `lonelyBelow` asks.
   */
  #refill(out: Out, skip?: string, force = false): void {
    const lonely = this.#active.size < this.options.lonelyBelow;
    if (this.#refillWaiting && !force && !lonely) return;
    let room = this.options.activeViewSize - this.#active.size;
    for (const id of this.#pending.keys()) if (!this.#active.has(id)) room--;
    const tried = new Set<string>(skip === undefined ? [] : [skip]);
    while (room > 0) {
      const candidates = this.#passive
        .refs()
        .filter((ref) => !this.#pending.has(ref.id) && !tried.has(ref.id));
      if (candidates.length === 0) break;
      const ref = this.env.rng.pick(candidates);
      tried.add(ref.id);
      // The paper asks with high priority only from an empty view; see `lonelyBelow`.
      const priority = this.#active.size < this.options.lonelyBelow ? 'high' : 'low';
      if (!this.#requestNeighbor(ref, priority, out)) break;
      room--;
    }
    if (lonely || this.#active.size < this.#refillBelow) this.#armLonely(out);
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
    this.#owedWalks(proven, out);
    return 'new';
  }

  #removeActive(id: string, reason: string, keepPassive: boolean, out: Out): void {
    const ref = this.#active.get(id);
    if (ref === undefined) return;
    this.#active.delete(id);
    out.push({ kind: 'event', event: { type: 'neighbor-down', peer: ref, reason } });
    if (keepPassive) this.#addPassive(ref, true);
    this.#remember(ref);
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
