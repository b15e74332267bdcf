import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Peers as separate processes, watched from outside: ours (`bin/naive-peer`) and the real
 * original (a build named by `NAIVE_PEER_ORIGINAL`). What each believes is read from what it
 * prints; what the kernel holds is read by `./kernel.ts`.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A build of the original naive-peer (see the note of issue 8 for how to make one), or undefined. */
export const ORIGINAL_BINARY: string | undefined = process.env.NAIVE_PEER_ORIGINAL || undefined;

let built: Promise<void> | undefined;

/** Compiles `dist/` (what `bin/naive-peer` runs) once per test process, from the current sources. */
export function buildOurs(): Promise<void> {
  built ??= promisify(execFile)(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    { cwd: ROOT },
  ).then(() => undefined);
  return built;
}

export interface ProcessPeerOptions {
  readonly port: number;
  /** `--connect host:port`. */
  readonly connect?: string;
  /** Gossip period in whole seconds (the original takes nothing finer). */
  readonly periodSeconds?: number;
}

type Kind = 'ours' | 'original';

/** One peer process; its output read line by line as it comes. */
export class ProcessPeer {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<void>;
  readonly child: ChildProcess;
  #running = true;
  readonly #waiters = new Set<() => void>();

  private constructor(
    readonly kind: Kind,
    readonly port: number,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    collectLines(this.child.stdout, this.stdout, () => this.#notify());
    collectLines(this.child.stderr, this.stderr, () => this.#notify());
    this.exited = new Promise((resolve) => {
      const ended = (): void => {
        this.#running = false;
        this.#notify();
        resolve();
      };
      this.child.once('close', ended);
      // A binary that cannot be started (a wrong NAIVE_PEER_ORIGINAL): a failed wait, not a crash.
      this.child.once('error', (error) => {
        this.stderr.push(`cannot run ${command}: ${error.message}`);
        ended();
      });
    });
  }

  /** `bin/naive-peer` (call `buildOurs()` first), loopback only, with `--json` events. */
  static ours(t: TestContext, options: ProcessPeerOptions): ProcessPeer {
    const args = ['bin/naive-peer', ...commonArgs(options), '--bind', '127.0.0.1', '--json'];
    return ProcessPeer.#track(
      t,
      new ProcessPeer('ours', options.port, process.execPath, args, process.env),
    );
  }

  /** The real original; `RUST_LOG=debug` makes it log its registry (connections by id). */
  static original(t: TestContext, binary: string, options: ProcessPeerOptions): ProcessPeer {
    const env = { ...process.env, RUST_LOG: 'debug' };
    return ProcessPeer.#track(
      t,
      new ProcessPeer('original', options.port, binary, commonArgs(options), env),
    );
  }

  static #track(t: TestContext, peer: ProcessPeer): ProcessPeer {
    t.after(() => peer.kill());
    return peer;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.#running;
  }

  /** `127.0.0.1:PORT`: what it advertises, and how the others name it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** How many descriptors it holds (`/proc/PID/fd`). */
  descriptorCount(): number {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return 0;
    }
  }

  /**
   * The peers it believes it is linked to: ours from its `connected`/`disconnected` events, the
   * original from its registry as its debug log shows it (`set_peer_as_valid_impl` assigns an
   * address to a connection id, `drop_connection_impl` removes the id).
   */
  view(): Set<string> {
    if (this.kind === 'ours') {
      const view = new Set<string>();
      for (const event of this.events()) {
        if (event.type === 'connected') view.add(String(event.peer));
        else if (event.type === 'disconnected') view.delete(String(event.peer));
      }
      return view;
    }
    const byId = new Map<string, string>();
    for (const line of this.stderr) {
      const assigned = line.match(/Public address: (\S+) - assigned for the connection: (\d+)/);
      if (assigned?.[1] !== undefined && assigned[2] !== undefined)
        byId.set(assigned[2], assigned[1]);
      const removed = line.match(/Connection has been removed from registry: (\d+)/);
      if (removed?.[1] !== undefined) byId.delete(removed[1]);
    }
    return new Set(byId.values());
  }

  /** Whom it received gossip from, in output lines from `since` (an index into its lines) on. */
  heardFrom(since = 0): Set<string> {
    const from = new Set<string>();
    if (this.kind === 'ours') {
      for (const event of this.events(since))
        if (event.type === 'message-received') from.add(String(event.peer));
    } else {
      for (const line of this.stderr.slice(since)) {
        const m = line.match(/Received message \[[^\]]*\] from: (\S+)/);
        if (m?.[1] !== undefined) from.add(m[1]);
      }
    }
    return from;
  }

  /** Where `heardFrom` should start to count only what comes from now on. */
  mark(): number {
    return this.kind === 'ours' ? this.stdout.length : this.stderr.length;
  }

  /** Its JSON events (ours only), from line `since` on. */
  events(since = 0): Array<Record<string, unknown>> {
    const events: Array<Record<string, unknown>> = [];
    for (const line of this.stdout.slice(since)) {
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not an event line.
      }
    }
    return events;
  }

  /** Resolves once `check()` holds, re-checked on every line it prints; rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = (): void => {
        if (check()) finish();
        else if (!this.#running)
          finish(
            new Error(
              `${this.kind} ${this.port} exited before ${what}: ${this.stderr.at(-1) ?? ''}`,
            ),
          );
      };
      const timer = setTimeout(
        () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.#waiters.delete(test);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#waiters.add(test);
      test();
    });
  }

  /** Resolves once it listens (both print `My address is: 0.0.0.0:PORT` or ours' own bound address). */
  listening(timeoutMs = 15_000): Promise<void> {
    return this.until(
      () => this.stderr.some((l) => l.includes('My address is:')),
      `${this.kind} ${this.port} listening`,
      timeoutMs,
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.#running) this.child.kill(signal);
    return this.exited;
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Appends each complete line of `stream` to `lines` as it arrives, then calls `notify`. */
export function collectLines(
  stream: NodeJS.ReadableStream | null,
  lines: string[],
  notify: () => void,
): void {
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    notify();
  });
}

function commonArgs(options: ProcessPeerOptions): string[] {
  return [
    '--port',
    String(options.port),
    '--address',
    '127.0.0.1',
    '--period',
    String(options.periodSeconds ?? 1),
    ...(options.connect === undefined ? [] : ['--connect', options.connect]),
  ];
}
