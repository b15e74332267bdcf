import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { type EmulationProgress, runEmulation } from '../src/emulator/emulate.js';
import { renderMatrix } from '../src/emulator/render.js';
import { filesNeeded, readOpenFileLimit } from '../src/emulator/resources.js';
import type { EmulationResult } from '../src/emulator/result.js';
import { DELIVERY_MS } from './support/gossip-stand-in.js';
import { WAIT_TIMEOUT_MS } from './support/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Generous bound on a whole child run; the runs below are far shorter. */
const CHILD_TIMEOUT_MS = 60_000;

interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `naive-peer emulate ...args` as a child process. `onStderr` sees stderr as it grows and may
 * signal the child (to test Ctrl-C) once it reads what it waits for.
 */
function emulateCli(
  args: readonly string[],
  onStderr?: (text: string, kill: (signal: NodeJS.Signals) => void) => void,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'emulate', ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(stderr, (signal) => child.kill(signal));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emulate ${args.join(' ')} ran over ${CHILD_TIMEOUT_MS} ms:\n${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.resume());
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Binds every port at once and releases them: throws if any is still held. */
async function assertPortsFree(ports: readonly number[]): Promise<void> {
  const servers = await Promise.all(ports.map(listen));
  await Promise.all(servers.map(close));
}

/** Threads alive in this process (the tsx loader has one of its own). */
function workerThreads(): number {
  const report = process.report.getReport() as unknown as { workers: unknown[] };
  return report.workers.length;
}

function ports(result: EmulationResult): number[] {
  return result.peers.map((p) => p.port);
}

function assertFullMesh(result: EmulationResult): void {
  const n = result.config.peers;
  assert.equal(result.status, 'mesh');
  assert.equal(result.peers.length, n);
  for (const peer of result.peers) {
    assert.deepEqual(
      peer.neighbours,
      ports(result).filter((p) => p !== peer.port),
      `neighbours of ${peer.port}`,
    );
    assert.equal(peer.error, null);
  }
  assert.deepEqual(result.links, {
    formed: (n * (n - 1)) / 2,
    expected: (n * (n - 1)) / 2,
    oneSided: 0,
  });
  assert.deepEqual(result.missingLinks, []);
  assert.deepEqual(result.failures, []);
}

describe('runEmulation', () => {
  test('20 peers form the full mesh, shown as 20 rows of degree 19, and leave nothing behind', async () => {
    const threadsBefore = workerThreads();
    const phases: string[] = [];
    const result = await runEmulation(
      { peers: 20, basePort: 0, threads: 2, timeoutMs: WAIT_TIMEOUT_MS },
      (p: EmulationProgress) => {
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
      },
    );
    assertFullMesh(result);
    assert.deepEqual(phases, ['starting', 'forming', 'stopping']);
    assert.equal(result.config.threads, 2);
    assert.deepEqual(
      ports(result),
      Array.from({ length: 20 }, (_, i) => result.config.basePort + i),
    );

    const rows = renderMatrix(result)
      .split('\n')
      .filter((line) => /^\d+ /.test(line));
    assert.equal(rows.length, 20);
    for (const [i, row] of rows.entries()) {
      assert.ok(row.startsWith(String(result.config.basePort + i)), row);
      assert.match(row, / 19$/);
    }

    const mesh = result.mesh;
    assert.ok(mesh !== null && result.allListeningMs !== null);
    assert.ok(mesh.fromLastStartMs >= 0 && mesh.fromFirstStartMs >= mesh.fromLastStartMs);
    assert.ok(mesh.fromLaunchMs >= result.allListeningMs);
    assert.ok(result.peers.every((p) => p.listenedMs !== null && p.listenedMs >= 0));

    // Counted from outside the peers: the kernel's connections, the threads' sockets.
    assert.ok(result.sockets.formed === null || result.sockets.formed >= 190);
    assert.ok(result.sockets.end === null || result.sockets.end >= 190);
    assert.equal(result.connections.links, 190);
    assert.ok(result.connections.opened >= 190, 'at least one connection per link');
    assert.ok(result.connections.attempted >= result.connections.opened);
    assert.equal(result.connections.perLink, result.connections.opened / 190);
    assert.ok(result.connections.peerListBytes > 0, 'peer lists were counted');

    await assertPortsFree(ports(result));
    assert.equal(workerThreads(), threadsBefore, 'every worker thread ended');
  });

  test('measures gossip during --duration and can be interrupted', async () => {
    const controller = new AbortController();
    const result = await runEmulation(
      {
        peers: 4,
        basePort: 0,
        threads: 2,
        periodMs: 50,
        durationMs: 10 * WAIT_TIMEOUT_MS,
        timeoutMs: WAIT_TIMEOUT_MS,
        signal: controller.signal,
      },
      (p) => {
        if (p.phase === 'running' && p.deliveries >= 30) controller.abort();
      },
    );
    assert.equal(result.status, 'interrupted');
    assert.ok(result.mesh !== null, 'the mesh formed before the interruption');
    assert.ok(result.messages.windowMs > 0);
    assert.ok(result.messages.received >= 30, 'messages were delivered');
    assert.ok(result.messages.received <= result.messages.expected);
    assert.equal(result.latencyMs?.count, result.messages.received);
    await assertPortsFree(ports(result));
  });

  test('counts every delivery of the window, those still in flight when it closes included', async () => {
    // Stand-ins whose messages take DELIVERY_MS to arrive: at the close, many are on their way.
    const result = await runEmulation({
      peers: 6,
      basePort: 0,
      threads: 2,
      durationMs: 2 * DELIVERY_MS,
      timeoutMs: WAIT_TIMEOUT_MS,
      host: {
        filename: fileURLToPath(new URL('./support/gossip-stand-in.ts', import.meta.url)),
        joins: (all) =>
          all.map((port) => all.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`)),
      },
    });
    assert.equal(result.status, 'mesh');
    const { sent, expected, received } = result.messages;
    assert.ok(sent > 0, 'messages were sent in the window');
    assert.equal(expected, sent * 5, 'each message counted for every receiver');
    assert.equal(received, expected, 'every delivery counted, the late ones too');
    assert.ok((result.latencyMs?.p50 ?? 0) >= DELIVERY_MS);
  });

  test('a taken port fails the run, naming the port', async (t: TestContext) => {
    const base = await findFreePortRange(5);
    const blocker = await listen(base + 2);
    t.after(() => close(blocker));
    const result = await runEmulation({ peers: 5, basePort: base, timeoutMs: WAIT_TIMEOUT_MS });
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.failures, [`port ${base + 2} is already in use`]);
    assert.equal(result.peers[2]?.listenedMs, null);
    assert.ok(result.mesh === null);
    assert.ok(result.missingLinks.some(([a, b]) => a === base + 2 || b === base + 2));
    await close(blocker);
    await assertPortsFree(ports(result));
  });
});

describe('naive-peer emulate', () => {
  test('--json prints one document whose numbers agree with the matrix', async () => {
    const run = await emulateCli([
      '--peers',
      '6',
      '--base-port',
      '0',
      '--threads',
      '2',
      '--period',
      '0.05',
      '--duration',
      '0.5',
      '--json',
      '--quiet',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const result = JSON.parse(run.stdout) as EmulationResult;
    for (const field of [
      'status',
      'config',
      'launchedAt',
      'elapsedMs',
      'allListeningMs',
      'mesh',
      'links',
      'sockets',
      'connections',
      'missingLinks',
      'messages',
      'latencyMs',
      'peers',
      'failures',
    ]) {
      assert.ok(field in result, `field ${field}`);
    }
    assertFullMesh(result);
    const degrees = result.peers.reduce((sum, p) => sum + p.neighbours.length, 0);
    assert.equal(result.links.formed, degrees / 2);
    assert.ok(result.messages.sent > 0);
    assert.ok(result.messages.expected >= result.messages.received);
    assert.equal(result.latencyMs?.count, result.messages.received);
    const { p50, p90, p99, max } = result.latencyMs ?? { p50: 0, p90: 0, p99: 0, max: 0 };
    assert.ok(p50 <= p90 && p90 <= p99 && p99 <= max);
  });

  test('a taken port exits 1 and names the port', async (t: TestContext) => {
    const base = await findFreePortRange(4);
    const blocker = await listen(base + 1);
    t.after(() => close(blocker));
    const run = await emulateCli(['--peers', '4', '--base-port', String(base), '--quiet']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, new RegExp(`port ${base + 1} is already in use`));
    assert.match(run.stdout, new RegExp(`${base + 1} .*not listening`));
  });

  test('a timeout exits 1 after printing the matrix', async () => {
    const run = await emulateCli(['--peers', '3', '--base-port', '0', '--timeout', '0.001']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /degree/);
    assert.match(run.stdout, /no full mesh within/);
  });

  test('Ctrl-C stops every peer and still prints the measurements', async () => {
    let sent = false;
    const run = await emulateCli(
      ['--peers', '4', '--base-port', '0', '--duration', '600', '--period', '0.1'],
      (stderr, kill) => {
        if (!sent && stderr.includes('full mesh')) {
          sent = true;
          kill('SIGINT');
        }
      },
    );
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stdout, /status +interrupted/);
    assert.match(run.stdout, /links +6 of 6/);
  });

  const badArguments: Array<[string, string[], RegExp]> = [
    ['no --peers', [], /--peers/],
    ['one peer', ['--peers', '1'], /--peers/],
    ['a port out of range', ['--peers', '3', '--base-port', '70000'], /--base-port/],
    ['a range past the last port', ['--peers', '10', '--base-port', '65530'], /65530-65539/],
    ['no threads', ['--peers', '3', '--threads', '0'], /--threads/],
    ['a negative duration', ['--peers', '3', '--duration', '-1'], /--duration/],
  ];
  for (const [what, args, message] of badArguments) {
    test(`bad arguments exit 2: ${what}`, async () => {
      const run = await emulateCli(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    });
  }

  test('more peers than open files allow: refused with both numbers, exit 2', async (t) => {
    const limit = readOpenFileLimit();
    if (limit === null || filesNeeded(1_000) <= limit) {
      t.skip('the open-file limit is unknown or high enough for 1000 peers');
      return;
    }
    const run = await emulateCli(['--peers', '1000', '--base-port', '0']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`${filesNeeded(1_000)}.*${limit}`));
  });
});
