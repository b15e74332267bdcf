import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { collectLines } from './processes.js';
import { WAIT_TIMEOUT_MS } from './wait.js';

/** The repository: the CLI runs from here, through tsx. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The real CLI as a child process, its output read line by line as it arrives. */
export class Cli {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    collectLines(this.child.stdout, this.stdout, () => this.#notify());
    collectLines(this.child.stderr, this.stderr, () => this.#notify());
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve(this.#exit);
      });
    });
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** The first line of `stream` matching `pattern`, already printed or still to come. */
  line(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = WAIT_TIMEOUT_MS): Promise<string> {
    const lines = this[stream];
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((l) => pattern.test(l));
        if (found !== undefined) done(() => resolve(found));
        else if (this.#exit !== undefined) done(() => reject(this.#failure(pattern, 'exited')));
      };
      const timer = setTimeout(
        () => done(() => reject(this.#failure(pattern, `timed out after ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  #failure(pattern: RegExp, why: string): Error {
    return new Error(
      `${why} waiting for ${pattern}; exit ${JSON.stringify(this.#exit)}\n` +
        `stderr:\n${this.stderr.join('\n')}\nstdout:\n${this.stdout.join('\n')}`,
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === undefined) this.child.kill(signal);
  }
}

/** Runs the CLI to its end (bounded by the wait timeout). */
export async function runCli(
  args: readonly string[],
): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = new Cli(args);
  const timer = setTimeout(() => cli.kill(), WAIT_TIMEOUT_MS);
  const exit = await cli.exited;
  clearTimeout(timer);
  return { ...exit, stdout: cli.stdout.join('\n'), stderr: cli.stderr.join('\n') };
}

export function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => resolve(server));
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function freePort(): Promise<number> {
  const server = await listen(0);
  const address = server.address();
  await close(server);
  assert.ok(typeof address === 'object' && address !== null);
  return address.port;
}

/**
 * Starts a CLI peer on a free port, retrying when another process took the port between the probe
 * and the bind. Resolves once it printed its address; every child is killed by `t.after`.
 */
export async function startPeerCli(
  t: { after(fn: () => void): void },
  args: readonly string[] = [],
): Promise<{ cli: Cli; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const cli = new Cli(['-p', String(port), ...args]);
    t.after(() => cli.kill());
    const address = new RegExp(`^# \\d{2,}:\\d{2}:\\d{2} - My address is: 0\\.0\\.0\\.0:${port}$`);
    const started = await Promise.race([
      cli.line('stderr', address).then(() => true),
      cli.exited.then(() => false),
    ]);
    if (started) return { cli, port };
    if (attempt >= 5 || !cli.stderr.some((l) => l.includes('already in use'))) {
      assert.fail(`the CLI did not start:\n${cli.stderr.join('\n')}`);
    }
  }
}
