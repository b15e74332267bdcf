import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type LiveRun, runEmulation } from '../src/emulator/emulate.js';
import type { EmulationResult } from '../src/emulator/result.js';
import { countAcceptedConnections, readTcpTable, socketInodesOf } from '../src/emulator/sockets.js';
import { settlesAt, WAIT_TIMEOUT_MS } from './support/wait.js';

/**
 * A full mesh spread over child processes (`--processes`, process-pool.ts), checked from outside:
 * the kernel's table of connections, and the process table for children left behind.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Bound on a child emulator's run; three children under tsx start in seconds. */
const CHILD_TIMEOUT_MS = 90_000;
/** How long children may take to notice that their parent is gone, and exit. */
const ORPHAN_EXIT_MS = 10_000;
/** How long the kernel's table may take to drop the connections that lost a race. */
const SETTLE_MS = 10_000;

const PEERS = 12;
const PROCESSES = 3;
const LINKS = (PEERS * (PEERS - 1)) / 2;

/** The fields of /proc/PID/stat after the command name (which may hold spaces), or null. */
function statOf(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The processes hosting peers for `pid`: its children running the pool's child entry. */
function hostsOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((child) => {
      if (statOf(child)?.[1] !== String(pid)) return false;
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('pool-process');
      } catch {
        return false;
      }
    });
}

/** Whether `pid` still runs (a zombie does not: only its exit status is left). */
function alive(pid: number): boolean {
  const state = statOf(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

/** Those of `pids` still running after at most `boundMs`. */
async function survivors(pids: readonly number[], boundMs: number): Promise<number[]> {
  const deadline = performance.now() + boundMs;
  while (pids.some(alive) && performance.now() < deadline) await sleep(50);
  return pids.filter(alive);
}

/** A run of PEERS over PROCESSES held once formed (until `controller` aborts), and its ports. */
async function formedRun(): Promise<{
  run: Promise<EmulationResult>;
  controller: AbortController;
  ports: number[];
}> {
  const controller = new AbortController();
  let ports: number[] = [];
  let formed: () => void = () => {};
  const meshFormed = new Promise<void>((resolve) => {
    formed = resolve;
  });
  const run = runEmulation(
    {
      peers: PEERS,
      processes: PROCESSES,
      threads: PROCESSES,
      basePort: 0,
      timeoutMs: WAIT_TIMEOUT_MS,
      hold: true,
      signal: controller.signal,
      onLaunch: (live) => {
        ports = live.addresses.map((a) => Number(a.split(':')[1]));
      },
    },
    (progress) => {
      if (progress.phase === 'running') formed();
    },
  );
  // A run that ends first (a failure) ends the wait too: its result says why.
  const early = await Promise.race([meshFormed.then(() => null), run]);
  assert.equal(early, null, JSON.stringify(early?.failures));
  return { run, controller, ports };
}

test('12 peers over 3 processes form the full mesh, one connection per pair in the kernel, and no process remains', async () => {
  const { run, controller, ports } = await formedRun();
  const hosts = hostsOf(process.pid);
  try {
    assert.equal(hosts.length, PROCESSES);
    const low = ports[0] ?? 0;
    const high = ports.at(-1) ?? 0;
    // From outside: exactly one established connection per pair (each link needs one, and there
    // are as many as pairs), both ends held by the children, 11 for each of a child's 4 peers.
    assert.equal(
      await settlesAt(() => countAcceptedConnections(low, high), LINKS, SETTLE_MS),
      LINKS,
    );
    const established = readTcpTable().filter((e) => e.state === 'ESTABLISHED');
    const endsOf = (pid: number): number => {
      const inodes = socketInodesOf(pid);
      return established.filter((e) => inodes.has(e.inode)).length;
    };
    assert.deepEqual(
      hosts.map(endsOf),
      hosts.map(() => (PEERS / PROCESSES) * (PEERS - 1)),
    );
    assert.equal(endsOf(process.pid), 0);
  } finally {
    controller.abort();
  }
  const result = await run;
  assert.equal(result.status, 'mesh');
  assert.equal(result.links.formed, LINKS);
  assert.deepEqual(result.failures, []);
  assert.equal(result.config.processes, PROCESSES);
  assert.equal(result.config.threads, PROCESSES);
  assert.equal(result.openFiles.perProcess.length, PROCESSES);
  assert.ok((result.openFiles.peak ?? 0) >= (PEERS / PROCESSES) * PEERS, 'sockets and listeners');
  assert.ok(result.connections.opened >= LINKS, 'the traffic of every process is counted');
  assert.deepEqual(await survivors(hosts, ORPHAN_EXIT_MS), []);
});

test('a partition dealt across 3 processes drops exactly the links across it, and its heal restores the mesh', async () => {
  const controller = new AbortController();
  let live: LiveRun | undefined;
  let links = 0;
  const waiters = new Set<() => void>();
  const linksReach = (want: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`links stayed at ${links}, not ${want}`));
      }, WAIT_TIMEOUT_MS);
      const check = (): void => {
        if (links !== want) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const run = runEmulation(
    {
      peers: PEERS,
      processes: PROCESSES,
      threads: PROCESSES,
      basePort: 0,
      periodMs: 200,
      // Twelve peers queue no connections: the peer default finds the cut links in 0.6 s, where
      // a spread mesh's 60 silent periods (12 s) would come close to the wait's bound.
      limits: { heartbeatDeadAfterPeriods: 3 },
      timeoutMs: WAIT_TIMEOUT_MS,
      hold: true,
      signal: controller.signal,
      onLaunch: (handle) => {
        live = handle;
      },
    },
    (progress) => {
      links = progress.links;
      for (const check of [...waiters]) check();
    },
  );
  try {
    const half = PEERS / 2;
    const early = await Promise.race([linksReach(LINKS).then(() => null), run]);
    assert.equal(early, null, JSON.stringify(early?.failures));
    // Peers go to processes in turn: each half spans all three.
    const left = Array.from({ length: half }, (_, i) => i);
    const right = Array.from({ length: half }, (_, i) => half + i);
    live?.partition([left, right]);
    await linksReach(2 * ((half * (half - 1)) / 2));
    live?.heal();
    await linksReach(LINKS);
    const ports = (live?.addresses ?? []).map((a) => Number(a.split(':')[1]));
    const count = () => countAcceptedConnections(ports[0] ?? 0, ports.at(-1) ?? 0);
    assert.equal(
      await settlesAt(count, LINKS, SETTLE_MS),
      LINKS,
      'one connection per pair (kernel)',
    );
  } finally {
    controller.abort();
  }
  const result = await run;
  assert.equal(result.status, 'mesh', result.failures.join('\n'));
  assert.deepEqual(
    result.faults.map((f) => f.kind),
    ['partition', 'heal'],
  );
});

test('a process hosting peers that dies fails the run, naming it, and leaves no process behind', async () => {
  const { run, controller } = await formedRun();
  const hosts = hostsOf(process.pid);
  assert.equal(hosts.length, PROCESSES);
  const [victim] = hosts;
  process.kill(victim ?? 0, 'SIGKILL');
  // The run ends by itself (a failure), well before this bound.
  const bound = setTimeout(() => controller.abort(), WAIT_TIMEOUT_MS);
  const result = await run;
  clearTimeout(bound);
  assert.equal(result.status, 'failed');
  assert.equal(result.failures.length, PEERS / PROCESSES, result.failures.join('\n'));
  for (const failure of result.failures)
    assert.match(failure, new RegExp(`pid ${victim}\\).*SIGKILL`));
  assert.deepEqual(await survivors(hosts, ORPHAN_EXIT_MS), []);
});

interface CliRun {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves once standard error has shown `text`. */
  readonly shows: (text: string) => Promise<void>;
  readonly closed: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `naive-peer emulate` in a process group of its own, as a shell's foreground job is. */
function emulateCli(t: TestContext, args: readonly string[]): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'emulate', ...args],
    { cwd: ROOT, detached: true },
  );
  let stdout = '';
  let stderr = '';
  const waiting = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const check of [...waiting]) check();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      for (const check of [...waiting]) check();
      resolve({ code, stdout, stderr });
    }),
  );
  t.after(() => {
    child.kill('SIGKILL');
  });
  const shows = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (stderr.includes(text)) resolve();
        else if (child.exitCode !== null || child.signalCode !== null)
          reject(new Error(`exited before showing "${text}":\n${stderr}`));
        else return;
        waiting.delete(check);
      };
      waiting.add(check);
      check();
    });
  return { child, shows, closed };
}

const cliArgs = [
  '--peers',
  String(PEERS),
  '--processes',
  String(PROCESSES),
  '--threads',
  String(PROCESSES),
  '--base-port',
  '0',
  '--duration',
  '60',
  '--json',
];

test('Ctrl-C reaching every process of the group stops the run: the final --json, and no process remains', async (t) => {
  const cli = emulateCli(t, cliArgs);
  await cli.shows('full mesh:');
  const hosts = hostsOf(cli.child.pid ?? -1);
  assert.equal(hosts.length, PROCESSES);
  // As a terminal's Ctrl-C: to the whole foreground process group, children included.
  process.kill(-(cli.child.pid ?? 0), 'SIGINT');
  const { code, stdout, stderr } = await cli.closed;
  assert.equal(code, 130, stderr);
  const result = JSON.parse(stdout) as EmulationResult;
  assert.equal(result.status, 'interrupted');
  assert.equal(result.links.formed, LINKS);
  assert.deepEqual(result.failures, [], 'no peer died with its process');
  assert.equal(result.config.processes, PROCESSES);
  assert.deepEqual(await survivors(hosts, ORPHAN_EXIT_MS), []);
});

test('the processes hosting peers die with an emulator killed outright', async (t) => {
  const cli = emulateCli(t, cliArgs);
  await cli.shows('full mesh:');
  const hosts = hostsOf(cli.child.pid ?? -1);
  assert.equal(hosts.length, PROCESSES);
  cli.child.kill('SIGKILL');
  await cli.closed;
  assert.deepEqual(await survivors(hosts, ORPHAN_EXIT_MS), []);
});
