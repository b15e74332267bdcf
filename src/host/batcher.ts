import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { HostMessage, TaggedHostMessage } from './messages.js';

/**
 * One MessagePort per worker thread for everything its hosted peers tell the host, flushed once
 * per event-loop turn. Why: 500 peers share a thread and each emits about one event per tick; a
 * `postMessage` each cost ~10 % of a worker at N = 1,000 x 10 msg/s (node --cpu-prof), plus the
 * main thread's decoding of every one of them on the same 2 cores. One batch per turn moves the
 * same events in one structured clone.
 *
 * Order: a single port keeps the order of what is posted on it, and the batch keeps the order
 * in which `post` was called. So a `report` reply posted through here comes after every event a
 * task posted before it, and a task's `end` after its last event: the host relies on both.
 */
export class ThreadBatcher {
  readonly #port: MessagePort;
  #pending: TaggedHostMessage[] = [];
  #scheduled = false;

  constructor(port: MessagePort) {
    this.#port = port;
    // The thread's tasks come and go; the port must not keep an idle thread alive.
    this.#port.unref();
  }

  /** Queues one message of task `key`; it leaves with the rest of this turn's. */
  post(key: number, message: HostMessage | { readonly type: 'end' }): void {
    this.#pending.push({ key, message });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends what is queued now (also called by the turn's scheduled flush). */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#port.postMessage(batch);
  }
}

let threadBatcher: ThreadBatcher | undefined;

/**
 * This thread's batcher, made on the first call. `hand` receives the host's end of its port
 * (to transfer over the task that created it) only on that first call: every later task of the
 * thread shares it, and the host already listens.
 */
export function batcherOfThread(hand: (hostEnd: MessagePort) => void): ThreadBatcher {
  if (threadBatcher === undefined) {
    const { port1, port2 } = new MessageChannel();
    threadBatcher = new ThreadBatcher(port1);
    hand(port2);
  }
  return threadBatcher;
}
