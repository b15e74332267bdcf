import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type {
  BatchedNotice,
  HostCommand,
  HostedPeerTask,
  HostMessage,
  HostResult,
  TaggedHostMessage,
} from '../host/messages.js';
import type { PeerEvent } from '../peer/events.js';
import type { PeerOptions } from '../peer/peer.js';

const here = fileURLToPath(import.meta.url);

/**
 * The worker adapter, next to this module with this module's extension: `src/host/worker.ts` when
 * run through tsx (worker threads inherit `--import tsx`), `dist/host/worker.js` once built.
 */
export const WORKER_FILE = join(dirname(here), '..', 'host', `worker${extname(here)}`);

/** How long a peer's port may stay open after its task has settled (a thread that died). */
const PORT_CLOSE_GRACE_MS = 1_000;

/** How a hosted peer ended: its task's result, or the death of its thread. */
export type PeerOutcome = HostResult | { readonly outcome: 'crashed'; readonly message: string };

/** The main thread's handle on one hosted peer. */
export interface PeerHandle {
  /** Sends a command to the peer; ignored once it has ended. */
  send(command: HostCommand): void;
  /**
   * Asks for the peer's `report`: resolves once every event the peer emitted before it has been
   * delivered (a barrier), with its thread's socket counts; null once the peer has ended.
   */
  report(): Promise<PeerReportMessage | null>;
  /** Settles once the peer has ended and every event it sent has been delivered. Never rejects. */
  readonly done: Promise<PeerOutcome>;
}

export type PeerReportMessage = Extract<HostMessage, { type: 'report' }>;

/**
 * What hosts the emulator's peers: worker threads of this process (`PeerPool`), or of several
 * child processes (`ProcessPool`, process-pool.ts) when a mesh needs more open files than one
 * process may hold.
 */
export interface PeerHost {
  spawn(
    options: PeerOptions,
    onEvent: (event: PeerEvent) => void,
    onBytes?: (bytesIn: number, bytesOut: number) => void,
  ): PeerHandle;
  /** Stops every peer (at most `graceMs`), then ends every thread and process. */
  destroy(graceMs?: number): Promise<void>;
  /** The processes hosting peers now, by pid (for their open files). */
  readonly pids: readonly number[];
}

export interface PoolOptions {
  /** Worker threads, all started up front and kept until `destroy()`. */
  readonly threads: number;
  /** Peers one thread hosts at once; threads * this must cover every peer. */
  readonly peersPerThread: number;
  /**
   * The module each task runs (default WORKER_FILE, a Peer). It must honour the same contract
   * (`HostedPeerTask`, `HostCommand`, `HostMessage`): benchmarks run a stand-in that only opens
   * the sockets, to measure what a mesh costs at the least.
   */
  readonly filename?: string;
  /** Have every peer report the bytes its sockets move (to `spawn`'s `onBytes`). */
  readonly meterBytes?: boolean;
}

/**
 * A fixed piscina pool whose tasks are long-lived peers. Facts of piscina 5 on Node 20 this relies
 * on: `atomics: 'sync'` would freeze a thread whose task returned while other peers' servers are
 * open, so atomics are disabled; an abort signal would make a task unable to share its thread (and
 * aborting kills the thread), so peers are stopped by a message on their own port instead.
 */
export class PeerPool implements PeerHost {
  readonly #pool: Piscina<HostedPeerTask, HostResult>;
  readonly #handles = new Set<PeerHandle>();
  readonly #meterBytes: boolean;
  /** Tagged messages from the threads' shared ports (host/batcher.ts), by task key. */
  readonly #byKey = new Map<number, (message: TaggedHostMessage['message']) => void>();
  #nextKey = 0;
  readonly pids = [process.pid];

  constructor({ threads, peersPerThread, filename, meterBytes }: PoolOptions) {
    this.#meterBytes = meterBytes === true;
    this.#pool = new Piscina<HostedPeerTask, HostResult>({
      filename: filename ?? WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: peersPerThread,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
    });
    // Errors of a thread without a task would otherwise be thrown in the main thread.
    this.#pool.on('error', () => {});
  }

  /** Starts one peer on the least busy thread; `onEvent` gets every event it reports. */
  spawn(
    options: PeerOptions,
    onEvent: (event: PeerEvent) => void,
    onBytes?: (bytesIn: number, bytesOut: number) => void,
  ): PeerHandle {
    const { port1, port2 } = new MessageChannel();
    const key = this.#nextKey++;
    let ended = false;
    /** Callers of `report()` waiting, in the order they asked (the port keeps that order). */
    const reports: Array<(message: PeerReportMessage | null) => void> = [];
    const receive = (message: HostMessage): void => {
      if (message.type === 'event') onEvent(message.event);
      else if (message.type === 'bytes') onBytes?.(message.bytesIn, message.bytesOut);
      else reports.shift()?.(message);
    };
    /** A batching task's messages are all in once its `end` came (on the shared port). */
    let batched = false;
    let endReceived: () => void = () => {};
    const batchEnded = new Promise<void>((resolve) => {
      endReceived = resolve;
    });
    this.#byKey.set(key, (message) => {
      if (message.type === 'end') endReceived();
      else receive(message);
    });
    const portClosed = new Promise<void>((resolve) => port1.once('close', () => resolve())).then(
      () => (batched ? batchEnded : undefined),
    );
    port1.on('message', (message: HostMessage | BatchedNotice) => {
      if (message.type !== 'batched') return receive(message);
      batched = true;
      if (message.port !== undefined) this.#listen(message.port);
    });
    const task: HostedPeerTask = { options, port: port2, meterBytes: this.#meterBytes, key };
    const settled: Promise<PeerOutcome> = this.#pool
      .run(task, { transferList: [port2] })
      .catch((error: unknown) => ({
        outcome: 'crashed' as const,
        message: error instanceof Error ? error.message : String(error),
      }));
    const done = settled.then(async (outcome) => {
      await within(portClosed, PORT_CLOSE_GRACE_MS);
      ended = true;
      this.#byKey.delete(key);
      for (const waiting of reports.splice(0)) waiting(null);
      port1.close();
      this.#handles.delete(handle);
      return outcome;
    });
    const handle: PeerHandle = {
      send(command) {
        if (!ended) port1.postMessage(command);
      },
      report() {
        if (ended) return Promise.resolve(null);
        return new Promise((resolve) => {
          reports.push(resolve);
          port1.postMessage({ type: 'report' } satisfies HostCommand);
        });
      },
      done,
    };
    this.#handles.add(handle);
    return handle;
  }

  /** Takes a thread's shared port: its batches go to their tasks' handlers, in order. */
  #listen(port: MessagePort): void {
    port.on('message', (batch: TaggedHostMessage[]) => {
      for (const { key, message } of batch) this.#byKey.get(key)?.(message);
    });
    // A thread's tasks come and go; its port must not keep the process alive once all ended.
    port.unref();
  }

  /**
   * Tells every peer still running to stop, waits for them (at most `graceMs`), then ends every
   * thread. Whatever a peer did not finish in time dies with its thread.
   */
  async destroy(graceMs = 10_000): Promise<void> {
    const pending = [...this.#handles];
    for (const handle of pending) handle.send({ type: 'stop' });
    await within(Promise.all(pending.map((h) => h.done)), graceMs);
    await this.#pool.destroy();
  }
}

/** Waits for `promise`, at most `ms`. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
