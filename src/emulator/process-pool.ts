import { type ChildProcess, fork } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostCommand, HostMessage } from '../host/messages.js';
import type { PeerEvent } from '../peer/events.js';
import type { PeerOptions } from '../peer/peer.js';
import type { ShapingConfig } from '../peer/shaping.js';
import {
  type PeerHandle,
  type PeerHost,
  type PeerOutcome,
  type PeerReportMessage,
  type PoolOptions,
  within,
} from './pool.js';
import { MIRROR_MS, type MirrorChanges, type MirrorRef, SharedMirror } from './shared-mirror.js';

const here = fileURLToPath(import.meta.url);

/**
 * The child's entry, next to this module with this module's extension (as pool.ts's WORKER_FILE):
 * `pool-process.ts` under tsx (a forked child inherits `--import tsx` with the parent's execArgv),
 * `pool-process.js` once built.
 */
export const POOL_PROCESS_FILE = join(dirname(here), `pool-process${extname(here)}`);

/** How long a child may take to end its threads once told to, before it is killed. */
const EXIT_GRACE_MS = 5_000;

/** What the parent tells a child: its thread pool's settings come as `argv[2]` (JSON). */
export type ToChild =
  | {
      readonly type: 'spawn';
      readonly key: number;
      readonly options: PeerOptions;
      /** The peer's shaping, its shared memory named (shared-mirror.ts): none crosses processes. */
      readonly shaping?: RemoteShaping;
    }
  | { readonly type: 'shared'; readonly changes: readonly MirrorChanges[] }
  /** A `report` is answered (through the child's pool) after every event sent before it. */
  | { readonly type: 'command'; readonly key: number; readonly command: HostCommand }
  | { readonly type: 'destroy' };

/** What a child tells the parent, in batches (one per turn of its event loop), in order. */
export type FromChild =
  | { readonly type: 'ready' }
  | { readonly type: 'shared'; readonly changes: readonly MirrorChanges[] }
  | { readonly type: 'batch'; readonly batch: readonly ChildNotice[] };

/** A hosted peer's message, or its end (after its every message). */
export type ChildNotice =
  | { readonly key: number; readonly message: HostMessage }
  | { readonly key: number; readonly done: PeerOutcome };

export interface RemoteShaping extends Omit<ShapingConfig, 'ports' | 'groups'> {
  readonly ports: MirrorRef;
  readonly groups: MirrorRef;
}

export interface ProcessPoolOptions extends PoolOptions {
  /** Child processes, all started up front; `threads` and `peersPerThread` are each one's. */
  readonly processes: number;
}

interface Child {
  readonly process: ChildProcess;
  /** Messages held until the child listens (one sent earlier would be lost). */
  readonly queue: ToChild[];
  ready: boolean;
  /** Each hosted peer's handler of the child's notices, by key. */
  readonly peers: Map<number, (notice: ChildNotice) => void>;
  readonly exited: Promise<void>;
  /** Why it is gone, once it exited: a peer sent to it later ends at once, crashed. */
  gone?: string;
}

/**
 * Peers hosted by child processes, each running a `PeerPool` of worker threads: a full mesh of N
 * peers holds N(N-1) sockets, both ends of every link, and one process may hold only `ulimit -n`
 * files; each child has its own. A peer goes to the child hosting the fewest, and everything else
 * about it (its events, commands, the `report` barrier, its end) is what `PeerPool` gives, relayed
 * over the child's IPC channel, which keeps their order. Children die with this process: they
 * leave when their channel closes, and are killed if this process exits first.
 */
export class ProcessPool implements PeerHost {
  readonly #children: Child[];
  readonly #handles = new Set<PeerHandle>();
  readonly #mirror = new SharedMirror();
  #mirrorTimer: NodeJS.Timeout | undefined;
  #nextKey = 0;
  readonly #killAll = (): void => {
    for (const child of this.#children) child.process.kill('SIGKILL');
  };

  constructor({ processes, ...pool }: ProcessPoolOptions) {
    this.#children = Array.from({ length: processes }, () => this.#start(pool));
    process.once('exit', this.#killAll);
  }

  get pids(): number[] {
    return this.#children.flatMap((c) => (c.process.pid === undefined ? [] : [c.process.pid]));
  }

  #start(pool: PoolOptions): Child {
    const child = fork(POOL_PROCESS_FILE, [JSON.stringify(pool)], {
      serialization: 'advanced',
      // Nothing a child prints may mix into the parent's --json on standard output.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    const state: Child = {
      process: child,
      queue: [],
      ready: false,
      peers: new Map(),
      exited: new Promise((resolve) => {
        child.once('exit', () => resolve());
        // A send to a child already gone is an error too: its exit ends its peers.
        child.on('error', () => resolve());
      }),
    };
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') {
        state.ready = true;
        for (const queued of state.queue.splice(0)) child.send(queued);
        return;
      }
      // Passed on to every child by the next sync.
      if (message.type === 'shared') return this.#mirror.apply(message.changes, true);
      for (const notice of message.batch) state.peers.get(notice.key)?.(notice);
    });
    // Its peers die with it (a crash, or killed from outside).
    child.once('exit', (code, signal) => {
      const message = `its process (pid ${child.pid}) exited with ${signal ?? `code ${code}`}`;
      state.gone = message;
      for (const end of [...state.peers.values()])
        end({ key: -1, done: { outcome: 'crashed', message } });
    });
    return state;
  }

  #send(child: Child, message: ToChild): void {
    this.#sync();
    this.#post(child, message);
  }

  #post(child: Child, message: ToChild): void {
    if (!child.ready) child.queue.push(message);
    else if (child.process.connected) child.process.send(message);
  }

  /** Tells every child what changed in the shared memory since last time (shared-mirror.ts). */
  #sync(): void {
    if (!this.#mirror.active) return;
    const changes = this.#mirror.take();
    if (changes.length > 0)
      for (const child of this.#children) this.#post(child, { type: 'shared', changes });
  }

  /** The shaping as a child can take it: its shared memory named, mirrored from now on. */
  #remoteShaping({ ports, groups, ...rest }: ShapingConfig): RemoteShaping {
    if (this.#mirrorTimer === undefined) {
      this.#mirrorTimer = setInterval(() => this.#sync(), MIRROR_MS);
      this.#mirrorTimer.unref();
    }
    return { ...rest, ports: this.#mirror.refOf(ports), groups: this.#mirror.refOf(groups) };
  }

  spawn(
    options: PeerOptions,
    onEvent: (event: PeerEvent) => void,
    onBytes?: (bytesIn: number, bytesOut: number) => void,
  ): PeerHandle {
    const alive = this.#children.filter((c) => c.gone === undefined);
    const child = (alive.length > 0 ? alive : this.#children).reduce((a, b) =>
      b.peers.size < a.peers.size ? b : a,
    );
    const key = this.#nextKey++;
    let ended = false;
    const reports: Array<(message: PeerReportMessage | null) => void> = [];
    let settle: (outcome: PeerOutcome) => void = () => {};
    const done = new Promise<PeerOutcome>((resolve) => {
      settle = resolve;
    });
    const notify = (notice: ChildNotice): void => {
      if ('done' in notice) {
        ended = true;
        child.peers.delete(key);
        for (const waiting of reports.splice(0)) waiting(null);
        this.#handles.delete(handle);
        settle(notice.done);
        return;
      }
      const { message } = notice;
      if (message.type === 'event') onEvent(message.event);
      else if (message.type === 'bytes') onBytes?.(message.bytesIn, message.bytesOut);
      else reports.shift()?.(message);
    };
    child.peers.set(key, notify);
    const { shaping, ...rest } = options;
    const { gone } = child;
    if (gone !== undefined)
      queueMicrotask(() => notify({ key, done: { outcome: 'crashed', message: gone } }));
    else
      this.#send(
        child,
        shaping === undefined
          ? { type: 'spawn', key, options: rest }
          : { type: 'spawn', key, options: rest, shaping: this.#remoteShaping(shaping) },
      );
    const handle: PeerHandle = {
      send: (command) => {
        if (!ended) this.#send(child, { type: 'command', key, command });
      },
      report: () => {
        if (ended) return Promise.resolve(null);
        return new Promise((resolve) => {
          reports.push(resolve);
          this.#send(child, { type: 'command', key, command: { type: 'report' } });
        });
      },
      done,
    };
    this.#handles.add(handle);
    return handle;
  }

  /**
   * Tells every peer still running to stop, waits for them (at most `graceMs`), then has every
   * child end its threads and exit (killed if it has not within EXIT_GRACE_MS).
   */
  async destroy(graceMs = 10_000): Promise<void> {
    const pending = [...this.#handles];
    for (const handle of pending) handle.send({ type: 'stop' });
    await within(Promise.all(pending.map((h) => h.done)), graceMs);
    for (const child of this.#children) this.#send(child, { type: 'destroy' });
    await within(Promise.all(this.#children.map((c) => c.exited)), EXIT_GRACE_MS);
    this.#killAll();
    await within(Promise.all(this.#children.map((c) => c.exited)), EXIT_GRACE_MS);
    process.removeListener('exit', this.#killAll);
    clearInterval(this.#mirrorTimer);
  }
}
