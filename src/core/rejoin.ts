/**
 * What a HyParView node does while it is short of neighbors: a timer, backing off from
 * `joinRetryMs` to `lonelyRetryMaxMs`, that refills the active view from the passive view, asks a
 * neighbor for a shuffle when there is no candidate, and joins again (through the contact, then
 * through former neighbors) when alone or out of candidates. Part of `HyParView`.
 */
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import type { NodeRef } from './machine.js';
import type { OverlayOptions } from './overlay-options.js';
import { type Out, send, setTimer } from './overlay-output.js';
import type { Rng } from './rng.js';

export const LONELY_TIMER = 'hv:lonely';

/** What the rejoin timer needs from the membership that runs it. */
export interface RejoinHost {
  readonly options: OverlayOptions;
  readonly rng: Rng;
  activeSize(): number;
  isActive(id: string): boolean;
  isPending(id: string): boolean;
  isSelf(ref: NodeRef): boolean;
  passiveRefs(): NodeRef[];
  /** Below this many neighbors the timer keeps running. */
  refillBelow(): number;
  /** Asks passive candidates for the free slots, whatever the refusal backoff says. */
  refill(out: Out): void;
  /** Starts a shuffle with a neighbor now (it brings candidates, and refills). */
  shuffle(out: Out): void;
  /** The ref to send to, or undefined when the dial budget says no. */
  reach(ref: NodeRef): NodeRef | undefined;
}

export class Rejoin {
  #contact: NodeRef | undefined;
  /** Contacts and former neighbors, newest last: whom to rejoin through if the passive view is empty. */
  #known: NodeRef[] = [];
  #armed = false;
  /** Timer rounds since the view last had enough neighbors (its backoff step). */
  #tries = 0;
  readonly #policy: BackoffPolicy;

  constructor(private readonly host: RejoinHost) {
    const { joinRetryMs, lonelyRetryMaxMs } = host.options;
    this.#policy = {
      baseMs: joinRetryMs,
      maxMs: Math.max(joinRetryMs, lonelyRetryMaxMs),
      maxAttempts: Infinity,
    };
  }

  get contactId(): string | undefined {
    return this.#contact?.id;
  }

  /** We join through `via`: it is the contact from now on. */
  joinVia(via: NodeRef, out: Out): void {
    this.#contact = via;
    this.remember(via);
    send(out, via, { type: 'hv_join' });
    this.arm(out);
  }

  remember(ref: NodeRef): void {
    if (this.host.options.rejoinMemory === 0 || this.host.isSelf(ref)) return;
    this.#known = this.#known.filter((known) => known.id !== ref.id);
    this.#known.push(ref);
    if (this.#known.length > this.host.options.rejoinMemory) this.#known.shift();
  }

  /** A dial to `address` failed: it is not rejoined through again. */
  forgetAddress(address: string): void {
    this.#known = this.#known.filter((ref) => ref.address !== address);
  }

  arm(out: Out): void {
    if (this.#armed) return;
    this.#armed = true;
    const delay = backoffDelay(this.#policy, this.#tries++, () => this.host.rng.next());
    setTimer(out, LONELY_TIMER, Math.max(1, delay));
  }

  onTimer(out: Out): void {
    const host = this.host;
    this.#armed = false;
    if (host.activeSize() >= host.refillBelow()) {
      this.#tries = 0;
      return;
    }
    const passive = host.passiveRefs();
    // Short of neighbors: join again if alone or out of candidates, through the contact first,
    // then through anyone we were linked to (the contact may be dead, and a partition may have
    // left only former neighbors reachable). Tries alternate (`arm` counted the first).
    if (host.activeSize() === 0 || passive.length === 0) this.#rejoin(this.#tries % 2 === 1, out);
    const known = passive.some((ref) => !host.isPending(ref.id));
    // No candidate to ask: a shuffle with a neighbor brings some (it refills too).
    if (!known && host.activeSize() > 0) host.shuffle(out);
    else host.refill(out);
    this.arm(out);
  }

  /** Sends `hv_join` to the contact (`contactFirst`) or to a random remembered peer. */
  #rejoin(contactFirst: boolean, out: Out): boolean {
    const host = this.host;
    const choices = this.#known.filter((ref) => !host.isActive(ref.id) && !host.isSelf(ref));
    // A contact whose dial failed left `#known`: it is not asked again.
    const contact = this.#known.find((ref) => ref.id === this.#contact?.id);
    const via =
      contactFirst && contact !== undefined
        ? contact
        : choices.length > 0
          ? host.rng.pick(choices)
          : contact;
    if (via === undefined || host.isActive(via.id)) return false;
    const target = host.reach(via);
    if (target === undefined) return false;
    send(out, target, { type: 'hv_join' });
    return true;
  }
}
