/**
 * A network of real hosts: three CLI peers, each in its own network namespace with its own address
 * and a host name (alpha, beta, gamma) that its resolver knows from a hosts file, joined through a
 * bridge in a fourth namespace. Nothing leaves these namespaces; everything is removed at the end.
 *
 * Needs root and `ip netns`; the whole file is skipped, with the reason, when they are missing.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PORT = 8080;
const PERIOD_S = 0.3;
/** Every wait is bounded by this: a 2-core CI machine starts three node+tsx processes slowly. */
const WAIT_MS = 30_000;
/**
 * Inside our namespaces only, TCP gives up on unacknowledged data after 3 retransmissions (about
 * 3 s on this LAN) instead of the default 15 (about 15 minutes), so that a dead link breaks a
 * connection within seconds. The peer itself has no liveness timeout of its own (see the report).
 */
const TCP_RETRIES2 = '3';

const HOSTS = ['alpha', 'beta', 'gamma'] as const;
type HostName = (typeof HOSTS)[number];

/** One event line of `--json`. */
interface JsonEvent {
  readonly type: string;
  readonly peer?: string;
  readonly reason?: string;
  readonly text?: string;
  /** On `disconnected`: the link broke and the peer is dialing it again. */
  readonly reconnecting?: boolean;
}

function parseEvent(line: string): JsonEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.type !== 'string') return undefined;
  const str = (key: string) =>
    typeof record[key] === 'string' ? (record[key] as string) : undefined;
  const peer = str('peer');
  const reason = str('reason');
  const text = str('text');
  const reconnecting = typeof record.reconnecting === 'boolean' ? record.reconnecting : undefined;
  return {
    type: record.type,
    ...(reconnecting === undefined ? {} : { reconnecting }),
    ...(peer === undefined ? {} : { peer }),
    ...(reason === undefined ? {} : { reason }),
    ...(text === undefined ? {} : { text }),
  };
}

// ---- the fixture: namespaces, links, names --------------------------------------------------

/** Everything created, so that cleanup undoes exactly that, whatever step failed. */
class Lab {
  readonly id = randomBytes(3).toString('hex');
  readonly subnet = `10.231.${1 + Math.floor(Math.random() * 250)}`;
  readonly hub = `np-${this.id}-hub`;
  readonly namespaces: string[] = [];
  readonly hostDirs: string[] = [];
  readonly children = new Set<ChildProcess>();
  #createdNetnsDir = false;
  #cleaned = false;

  ns(host: HostName): string {
    return `np-${this.id}-${host[0]}`;
  }

  address(host: HostName): string {
    return `${this.subnet}.${HOSTS.indexOf(host) + 1}`;
  }

  async #ip(...args: string[]): Promise<void> {
    await run('ip', args);
  }

  async #addNamespace(name: string): Promise<void> {
    await this.#ip('netns', 'add', name);
    this.namespaces.push(name);
    await this.#ip('-n', name, 'link', 'set', 'lo', 'up');
  }

  async setUp(): Promise<void> {
    await this.#addNamespace(this.hub);
    await this.#ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
    await this.#ip('-n', this.hub, 'link', 'set', 'br0', 'up');
    if (!existsSync('/etc/netns')) {
      mkdirSync('/etc/netns');
      this.#createdNetnsDir = true;
    }
    const hosts = ['127.0.0.1 localhost', ...HOSTS.map((h) => `${this.address(h)} ${h}`), ''].join(
      '\n',
    );
    for (const host of HOSTS) {
      const ns = this.ns(host);
      await this.#addNamespace(ns);
      const hubEnd = `p${host[0]}`;
      await this.#ip(
        '-n',
        ns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        hubEnd,
        'netns',
        this.hub,
      );
      await this.#ip('-n', this.hub, 'link', 'set', hubEnd, 'master', 'br0');
      await this.#ip('-n', this.hub, 'link', 'set', hubEnd, 'up');
      await this.#ip('-n', ns, 'addr', 'add', `${this.address(host)}/24`, 'dev', 'eth0');
      await this.#ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await run('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.tcp_retries2=${TCP_RETRIES2}`,
      ]);
      // `ip netns exec NS` bind-mounts /etc/netns/NS/hosts over /etc/hosts for its command.
      const dir = `/etc/netns/${ns}`;
      mkdirSync(dir);
      this.hostDirs.push(dir);
      writeFileSync(`${dir}/hosts`, hosts);
    }
  }

  async link(host: HostName, state: 'up' | 'down'): Promise<void> {
    await this.#ip('-n', this.ns(host), 'link', 'set', 'eth0', state);
  }

  /** Synchronous and idempotent: runs from `after`, and from `exit` if the runner dies first. */
  cleanUp(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    for (const child of this.children) child.kill('SIGKILL');
    // A namespace outlives its name while processes run in it; they are killed above.
    for (const ns of this.namespaces.reverse()) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    for (const dir of this.hostDirs) rmSync(dir, { recursive: true, force: true });
    if (this.#createdNetnsDir) {
      try {
        rmdirSync('/etc/netns');
      } catch {
        // someone else put something there meanwhile
      }
    }
  }
}

/** Why this file cannot run here, or undefined when it can. */
async function probe(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `ip netns is not available on ${process.platform}`;
  if (process.getuid?.() !== 0) return 'ip netns is not allowed here: the tests need root';
  const name = `np-probe-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', name]);
  } catch (error) {
    const text = error instanceof Error ? error.message.split('\n').slice(0, 2).join(' ') : '';
    return `ip netns is not allowed here: ${text}`;
  }
  await run('ip', ['netns', 'delete', name]).catch(() => undefined);
  return undefined;
}

// ---- one CLI peer in its namespace -----------------------------------------------------------

class CliPeer {
  readonly events: JsonEvent[] = [];
  readonly exited: Promise<void>;
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #child: ChildProcess;
  #exit: string | undefined;

  constructor(
    readonly lab: Lab,
    readonly host: HostName,
    connect: HostName | undefined,
  ) {
    const args = ['netns', 'exec', lab.ns(host), process.execPath, '--import', 'tsx'];
    args.push('src/cli/main.ts', '-p', String(PORT), '--address', host, '--json');
    args.push('-P', String(PERIOD_S));
    if (connect !== undefined) args.push('-c', `${connect}:${PORT}`);
    const child = spawn('ip', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    lab.children.add(child);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseEvent(line);
      if (event === undefined) return;
      this.events.push(event);
      this.#wake();
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > 20) this.#stderr.shift();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        lab.children.delete(child);
        this.#exit = `exited (${signal ?? code})`;
        this.#wake();
        resolve();
      });
    });
  }

  get address(): string {
    return `${this.host}:${PORT}`;
  }

  /** The peers it is linked to now, from its connected and disconnected events. */
  get view(): string[] {
    const linked = new Set<string>();
    for (const e of this.events) {
      if (e.type === 'connected' && e.peer !== undefined) linked.add(e.peer);
      if (e.type === 'disconnected' && e.peer !== undefined) linked.delete(e.peer);
    }
    return [...linked].sort();
  }

  get diagnostics(): string {
    return `${this.host} ${this.#exit ?? 'running'}; last stderr lines:\n  ${this.#stderr.join('\n  ')}`;
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Calls `check` after every event (and exit) until it is true; rejects after `timeoutMs`. */
  onChange(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#waiters.delete(test);
        if (error) reject(error);
        else resolve();
      };
      const test = () => {
        if (check()) done();
      };
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      this.#waiters.add(test);
      test();
    });
  }

  /** The first event at index `from` or later that matches. */
  async event(
    what: string,
    filter: (e: JsonEvent) => boolean,
    from = 0,
    timeoutMs = WAIT_MS,
  ): Promise<JsonEvent> {
    let found: JsonEvent | undefined;
    await this.onChange(
      () => {
        found = this.events.slice(from).find(filter);
        return found !== undefined || this.#exit !== undefined;
      },
      `${this.host}: ${what}\n${this.diagnostics}`,
      timeoutMs,
    );
    if (found === undefined) throw new Error(`${what}: ${this.diagnostics}`);
    return found;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.#exit === undefined) this.#child.kill(signal);
    await this.exited;
  }
}

/** Resolves once `check()` holds, re-checking on every event of every peer. */
function until(peers: readonly CliPeer[], check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stops: Array<() => void> = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      for (const s of stops) s();
      if (error) reject(error);
      else resolve();
    };
    if (check()) return finish();
    // Each peer's onChange calls us back; the first that sees `check()` true settles the whole.
    for (const peer of peers) {
      let stop = false;
      stops.push(() => {
        stop = true;
      });
      peer
        .onChange(() => stop || check(), what, WAIT_MS)
        .then(
          () => finish(),
          () =>
            finish(
              new Error(
                `timed out after ${WAIT_MS} ms waiting for ${what}\n${peers.map((p) => `${p.host} sees ${p.view.join(', ')}`).join('\n')}\n${peers.map((p) => p.diagnostics).join('\n')}`,
              ),
            ),
        );
    }
  });
}

// ---- the tests ---------------------------------------------------------------------------------

const skip = await probe();

describe('a network of real hosts (network namespaces, peers joined by host name)', {
  skip: skip ?? false,
}, () => {
  const lab = new Lab();
  const peers = new Map<HostName, CliPeer>();
  const exitCleanup = () => lab.cleanUp();

  const peer = (host: HostName): CliPeer => {
    const p = peers.get(host);
    assert.ok(p, `${host} is running`);
    return p;
  };
  const all = () => HOSTS.map(peer);
  const others = (host: HostName) => HOSTS.filter((h) => h !== host).map((h) => `${h}:${PORT}`);
  const isFullMesh = () =>
    HOSTS.every((h) => {
      const p = peers.get(h);
      return p !== undefined && p.view.join() === others(h).join();
    });

  /** Starts one peer; beta and gamma join through alpha, by name. */
  async function start(host: HostName): Promise<CliPeer> {
    const p = new CliPeer(lab, host, host === 'alpha' ? undefined : 'alpha');
    peers.set(host, p);
    await p.event('listening', (e) => e.type === 'listening');
    return p;
  }

  /** A full mesh of three fresh processes, unless the mesh is already whole. */
  async function mesh(): Promise<void> {
    if (peers.size === 3 && isFullMesh()) return;
    await Promise.all([...peers.values()].map((p) => p.kill('SIGKILL')));
    peers.clear();
    await start('alpha');
    await Promise.all([start('beta'), start('gamma')]);
    await until(all(), isFullMesh, 'a full mesh of alpha, beta and gamma');
  }

  /** Gossip from `from` reaches `to` after event index `mark` of `to`. */
  function gossip(from: HostName, to: HostName, mark = 0): Promise<JsonEvent> {
    return peer(to).event(
      `a message from ${from}`,
      (e) => e.type === 'message-received' && e.peer === `${from}:${PORT}`,
      mark,
    );
  }

  async function allGossip(): Promise<void> {
    const marks = new Map(HOSTS.map((h) => [h, peer(h).events.length]));
    await Promise.all(
      HOSTS.flatMap((to) =>
        HOSTS.filter((from) => from !== to).map((from) => gossip(from, to, marks.get(to))),
      ),
    );
  }

  before(async () => {
    process.once('exit', exitCleanup);
    await lab.setUp();
  });

  after(async () => {
    process.off('exit', exitCleanup);
    await Promise.all([...peers.values()].map((p) => p.kill('SIGKILL')));
    lab.cleanUp();
    const left = (await run('ip', ['netns', 'list'])).stdout;
    assert.ok(!left.includes(`np-${lab.id}-`), `namespaces left behind:\n${left}`);
  });

  /** `disconnected` events naming `gone` on each of `watchers`, after their marks. */
  function noticed(
    watchers: readonly HostName[],
    gone: HostName,
    marks: ReadonlyMap<HostName, number>,
    timeoutMs = WAIT_MS,
  ): Promise<JsonEvent[]> {
    return Promise.all(
      watchers.map((h) =>
        peer(h).event(
          `${gone} disconnected`,
          (e) => e.type === 'disconnected' && e.peer === `${gone}:${PORT}`,
          marks.get(h),
          timeoutMs,
        ),
      ),
    );
  }

  const markAll = () => new Map(HOSTS.map((h) => [h, peer(h).events.length]));
  const elapsed = (since: number) => `${Math.round(performance.now() - since)} ms`;

  test('three hosts joined by name form a full mesh and exchange messages', async (t) => {
    const started = performance.now();
    await mesh();
    t.diagnostic(`full mesh ${elapsed(started)} after the first process was spawned`);
    for (const host of HOSTS) {
      const connected = peer(host)
        .events.filter((e) => e.type === 'connected')
        .map((e) => e.peer)
        .sort();
      assert.deepEqual(connected, others(host), `${host}'s connected events`);
    }
    await allGossip();
  });

  test('a killed peer is noticed at once, and rejoins when it comes back on the same address', async (t) => {
    await mesh();
    const marks = markAll();
    const killed = performance.now();
    await peer('gamma').kill('SIGKILL');
    // The kernel closes a dead process's sockets: the others hear of it at once, no timeout.
    const events = await noticed(['alpha', 'beta'], 'gamma', marks, 10_000);
    t.diagnostic(
      `both noticed ${elapsed(killed)} after the kill: ${events.map((e) => e.reason).join(', ')}`,
    );
    for (const e of events) assert.equal(e.reconnecting, true, 'no goodbye: a broken link');
    // Same command line, same address; nobody else is restarted.
    const restarted = performance.now();
    await start('gamma');
    await until(all(), isFullMesh, 'gamma back in the mesh');
    t.diagnostic(`full mesh again ${elapsed(restarted)} after the restart`);
    for (const h of ['alpha', 'beta'] as const) {
      const again = peer(h)
        .events.slice(marks.get(h))
        .filter((e) => e.type === 'connected');
      assert.deepEqual(
        again.map((e) => e.peer),
        [`gamma:${PORT}`],
        `${h} linked gamma again, once`,
      );
    }
    await allGossip();
  });

  test('a link that goes down is noticed, and the mesh heals when it comes back up', async (t) => {
    await mesh();
    const marks = markAll();
    const downAt = performance.now();
    await lab.link('beta', 'down');
    try {
      // An idle connection would not notice; gossip every 0.3 s keeps data unacknowledged, so
      // TCP's retransmission timeout (shortened in our namespaces) breaks the connections.
      const events = await noticed(['alpha', 'gamma'], 'beta', marks);
      t.diagnostic(
        `alpha and gamma noticed ${elapsed(downAt)} after link down: ${events.map((e) => e.reason).join(', ')}`,
      );
      await until([peer('beta')], () => peer('beta').view.length === 0, 'beta on its own');
      t.diagnostic(`beta noticed ${elapsed(downAt)} after link down`);
      // the rest of the mesh is untouched
      assert.deepEqual(peer('alpha').view, [`gamma:${PORT}`]);
      assert.deepEqual(peer('gamma').view, [`alpha:${PORT}`]);
    } finally {
      await lab.link('beta', 'up');
    }
    const upAt = performance.now();
    // Nobody is restarted: the peers redial each other with backoff.
    await until(all(), isFullMesh, 'beta back in the mesh after its link came up');
    t.diagnostic(`full mesh again ${elapsed(upAt)} after link up`);
    await allGossip();
  });

  test('the peer everyone joined through crashes and comes back: the others reconnect to it', async (t) => {
    await mesh();
    const marks = markAll();
    await peer('alpha').kill('SIGKILL');
    for (const e of await noticed(['beta', 'gamma'], 'alpha', marks, 10_000)) {
      assert.equal(e.reconnecting, true);
    }
    // alpha has no --connect: only beta and gamma redialing it can rebuild the mesh.
    const restarted = performance.now();
    await start('alpha');
    await until(all(), isFullMesh, 'alpha back in the mesh');
    t.diagnostic(`full mesh again ${elapsed(restarted)} after alpha restarted`);
    await allGossip();
  });
});
