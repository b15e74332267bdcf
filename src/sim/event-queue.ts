import TinyQueue from 'tinyqueue';
import type { Link } from './link.js';

/**
 * Cancelled timers stay in the queue until their time (a binary heap cannot remove in the middle);
 * the queue is rebuilt without them once they are more than half of it and at least this many.
 * Why: HyParView re-arms a stranger's idle timer on every message and a neighbour request's
 * timeout on every request, so at 3,000 peers 95 % of 110 k queued events were cancelled timers
 * (at 100,000 peers a queue of ~3.7 M, each push and pop 22 levels deep). Rebuilding is O(n) and
 * keeps the order (time, then scheduling sequence), so a run's outcome does not change.
 */
const COMPACT_AT_LEAST = 4_096;

/** What an event does; `SimEvent.type`. */
export const DELIVER = 0;
export const CONNECT = 1;
export const DIAL_FAIL = 2;
export const CLOSE_NOTICE = 3;
export const TIMER = 4;
export const CALL = 5;
export const LOCAL_DOWN = 6;

/**
 * Spent events kept for reuse, at most this many. Why: a run allocates one event per message,
 * timer and connection step (11.6 M at 100,000 peers), and the queued ones live long enough to be
 * promoted out of V8's young generation; reusing them spares most of that garbage collection.
 */
const FREE_EVENTS_MAX = 65_536;

export class SimEvent {
  time = 0;
  seq = 0;
  cancelled = false;
  /**
   * A timer re-armed for later while it waits in the queue: it stays there, and when its old time
   * comes it goes back in at `due`, ordered by `dueSeq` (the sequence number the re-arm drew), the
   * place a new event pushed at the re-arm would have had. See `set-timer` in `network.ts`'s `#carryOut`.
   */
  deferred = false;
  due = 0;
  dueSeq = 0;
  constructor(
    public type: number,
    /** The node the event happens to (the receiver of a message). */
    public node: number,
    public link: Link | null,
    public data: unknown,
    public key: string,
    /** The node's incarnation when scheduled: a restarted peer ignores its predecessor's events. */
    public inc: number,
  ) {}
}

const before = (a: SimEvent, b: SimEvent): number => a.time - b.time || a.seq - b.seq;

/**
 * The network's future, in virtual time: events ordered by time and then by the order they were
 * scheduled, so that a seed always gives the same run.
 */
export class EventQueue {
  #heap = new TinyQueue<SimEvent>([], before);
  /** Cancelled events still in the queue. */
  #cancelled = 0;
  readonly #free: SimEvent[] = [];
  #seq = 0;

  get length(): number {
    return this.#heap.length;
  }

  /** Schedules an event at `time`: a new one, or a spent one reused (see `FREE_EVENTS_MAX`). */
  schedule(
    time: number,
    type: number,
    node: number,
    link: Link | null,
    data: unknown,
    key: string,
    inc: number,
  ): SimEvent {
    let event = this.#free.pop();
    if (event === undefined) event = new SimEvent(type, node, link, data, key, inc);
    else {
      event.type = type;
      event.node = node;
      event.link = link;
      event.data = data;
      event.key = key;
      event.inc = inc;
      event.cancelled = false;
      event.deferred = false;
    }
    event.time = time;
    event.seq = this.#seq++;
    this.#heap.push(event);
    return event;
  }

  /**
   * The next event due by `until`, taken off the queue, skipping cancelled ones and moving
   * deferred timers to their new place; undefined when there is none.
   */
  next(until: number): SimEvent | undefined {
    for (;;) {
      this.#compact();
      const heap = this.#heap;
      const next = heap.peek();
      if (next === undefined || next.time > until) return undefined;
      heap.pop();
      if (next.cancelled) {
        this.#cancelled--;
        this.spend(next);
        continue;
      }
      if (next.deferred) {
        next.deferred = false;
        next.time = next.due;
        next.seq = next.dueSeq;
        heap.push(next);
        continue;
      }
      return next;
    }
  }

  /** Moves a queued timer to `due`, a later time (see `SimEvent.deferred`). */
  defer(event: SimEvent, due: number): void {
    event.deferred = true;
    event.due = due;
    event.dueSeq = this.#seq++;
  }

  cancel(event: SimEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.#cancelled++;
  }

  /** `event` left the queue and nothing refers to it (a fired timer left its node's map). */
  spend(event: SimEvent): void {
    if (this.#free.length >= FREE_EVENTS_MAX) return;
    event.link = null;
    event.data = null;
    this.#free.push(event);
  }

  /** Drops the cancelled events once they are most of the queue (see `COMPACT_AT_LEAST`). */
  #compact(): void {
    if (this.#cancelled < COMPACT_AT_LEAST || this.#cancelled * 2 < this.#heap.length) return;
    this.#heap = new TinyQueue(
      this.#heap.data.filter((event) => !event.cancelled),
      before,
    );
    this.#cancelled = 0;
  }
}
