import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  chainBootstrap,
  chainOptions,
  peerPorts,
  portRangeProblem,
} from '../src/emulator/bootstrap.js';
import { Durations } from '../src/emulator/durations.js';
import { latencyStats, MessageLog } from '../src/emulator/latency.js';
import { countLinks, MeshState, missingLinks } from '../src/emulator/mesh.js';
import {
  formatDuration,
  formatProgress,
  MARK,
  renderCompact,
  renderMatrix,
  renderReport,
  renderSummary,
} from '../src/emulator/render.js';
import {
  filesForShare,
  filesNeeded,
  MAX_PROCESSES,
  maxPeersFor,
  openFileProblem,
  processesFor,
} from '../src/emulator/resources.js';
import type { EmulationResult } from '../src/emulator/result.js';
import type { PeerEvent } from '../src/peer/events.js';

const addr = (port: number): string => `127.0.0.1:${port}`;
const connected = (port: number, at = 0): PeerEvent => ({
  type: 'connected',
  peer: addr(port),
  direction: 'outbound',
  at,
});
const disconnected = (port: number, at = 0): PeerEvent => ({
  type: 'disconnected',
  peer: addr(port),
  reason: 'test',
  reconnecting: false,
  at,
});

/** A result as runEmulation would return it for these neighbour lists (by port). */
function fakeResult(
  ports: readonly number[],
  neighbours: readonly (readonly number[])[],
  overrides: Partial<EmulationResult> = {},
): EmulationResult {
  return {
    status: 'mesh',
    config: {
      peers: ports.length,
      basePort: ports[0] ?? 0,
      threads: 2,
      processes: 1,
      periodMs: 2_000,
      durationMs: 0,
      timeoutMs: 30_000,
      overlay: 'full',
      rate: null,
    },
    launchedAt: 1_700_000_000_000,
    elapsedMs: 1_234,
    allListeningMs: 100,
    mesh: { fromLaunchMs: 300, fromFirstStartMs: 250, fromLastStartMs: 200 },
    links: countLinks(ports, neighbours),
    sockets: { formed: null, end: null },
    connections: {
      opened: 0,
      attempted: 0,
      perLink: null,
      peerListBytes: 0,
      peerListBytesPerLink: null,
      links: 0,
    },
    openFiles: { limit: 20_000, peak: 400, perProcess: [400] },
    missingLinks: missingLinks(ports, neighbours),
    messages: { windowMs: 0, drainMs: 0, sent: 0, expected: 0, received: 0 },
    latencyMs: null,
    peers: ports.map((port, i) => ({
      port,
      address: addr(port),
      listenedMs: 10 + i,
      neighbours: neighbours[i] ?? [],
      foreign: [],
      error: null,
    })),
    overlay: null,
    failures: [],
    seed: 1,
    faults: [],
    ...overrides,
  };
}

/** Every peer linked to every other. */
function fullMesh(ports: readonly number[]): number[][] {
  return ports.map((p) => ports.filter((q) => q !== p));
}

describe('MeshState', () => {
  const ports = [9000, 9001, 9002];
  const mesh = (): MeshState => new MeshState(ports.map(addr));

  test('counts a link once both ends report it', () => {
    const state = mesh();
    assert.equal(state.expectedLinks, 3);
    assert.equal(state.apply(0, connected(9001)), true);
    assert.equal(state.mutualLinks, 0);
    state.apply(1, connected(9000));
    assert.equal(state.mutualLinks, 1);
    assert.deepEqual(state.neighbours(0), [1]);
    assert.equal(state.complete, false);
  });

  test('is complete when every pair is linked both ways, and not after a disconnect', () => {
    const state = mesh();
    for (const [i, port] of ports.entries()) {
      for (const other of ports) if (other !== port) state.apply(i, connected(other));
    }
    assert.equal(state.mutualLinks, 3);
    assert.equal(state.complete, true);
    assert.equal(state.apply(2, disconnected(9000)), true);
    assert.equal(state.mutualLinks, 2);
    assert.equal(state.complete, false);
    assert.deepEqual(state.neighbours(2), [1]);
  });

  test('a link reported twice stays until both are gone', () => {
    const state = mesh();
    state.apply(0, connected(9001));
    assert.equal(state.apply(0, connected(9001)), false);
    assert.equal(state.apply(0, disconnected(9001)), false);
    assert.deepEqual(state.neighbours(0), [1]);
    assert.equal(state.apply(0, disconnected(9001)), true);
    assert.deepEqual(state.neighbours(0), []);
  });

  test('counts as live receivers the linked peers still running and links outside the emulation', () => {
    const state = mesh();
    state.apply(0, connected(9001));
    state.apply(0, connected(9002));
    state.apply(0, connected(7777));
    assert.equal(state.liveReceivers(0), 3);
    // Peer 2 was killed: peer 0 still reports the link, but nothing sent on it can arrive.
    state.ended(2);
    assert.deepEqual(state.neighbours(0), [1, 2]);
    assert.equal(state.liveReceivers(0), 2);
    state.started(2);
    assert.equal(state.liveReceivers(0), 3);
    assert.equal(state.liveReceivers(1), 0);
  });

  test('keeps addresses of no emulated peer apart, and ignores other events', () => {
    const state = mesh();
    state.apply(1, connected(7777));
    assert.deepEqual(state.neighbours(1), []);
    assert.deepEqual(state.foreign(1), [addr(7777)]);
    assert.equal(state.apply(1, { type: 'stopped', at: 0 }), false);
    assert.equal(state.apply(5, connected(9000)), false);
  });
});

describe('countLinks and missingLinks', () => {
  const ports = [1, 2, 3, 4];
  test('a full mesh has every link and none missing', () => {
    assert.deepEqual(countLinks(ports, fullMesh(ports)), { formed: 6, expected: 6, oneSided: 0 });
    assert.deepEqual(missingLinks(ports, fullMesh(ports)), []);
  });
  test('a chain with one one-sided link', () => {
    const neighbours = [[2], [1, 3], [2, 4], []];
    assert.deepEqual(countLinks(ports, neighbours), { formed: 2, expected: 6, oneSided: 1 });
    assert.deepEqual(missingLinks(ports, neighbours), [
      [1, 3],
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
  });
});

describe('latency', () => {
  /** Equal within what an HDR histogram of 3 significant digits at 1 µs keeps. */
  const near = (actual: number | undefined, expected: number): void => {
    assert.ok(actual !== undefined, `expected ${expected}, got nothing`);
    assert.ok(
      Math.abs(actual - expected) <= expected / 1_000 + 0.001,
      `${actual} is not ${expected} within HDR precision`,
    );
  };

  test('Durations: percentiles, mean and max of unsorted samples, within HDR precision', () => {
    const d = new Durations();
    for (let i = 100; i >= 1; i--) d.record(i + 0.25);
    assert.equal(d.count, 100);
    near(d.percentile(50), 50.25);
    near(d.percentile(90), 90.25);
    near(d.percentile(99), 99.25);
    near(d.max, 100.25);
    near(d.mean, 50.75);
    assert.equal(d.negative, 0);
  });
  test('Durations: none recorded reads 0; a negative value is counted and recorded as 0', () => {
    const d = new Durations();
    assert.equal(d.count, 0);
    assert.equal(d.percentile(50), 0);
    assert.equal(d.max, 0);
    assert.equal(d.mean, 0);
    d.record(-0.4);
    d.record(2);
    assert.equal(d.negative, 1);
    assert.equal(d.percentile(50), 0);
    near(d.max, 2);
  });

  test('MessageLog matches receipts to sends by text, in either order, inside the window', () => {
    const log = new MessageLog();
    log.onReceived('unseen', 4); // not open yet
    log.onSent('before', 5, 2);
    log.onReceived('before', 6);
    log.open(10);
    log.onReceived('before', 11); // its send was before the window
    log.onReceived('a', 13); // its send arrives later, from another thread
    log.onSent('a', 11, 2);
    log.onReceived('a', 12);
    assert.equal(log.complete, true);
    log.onSent('b', 20, 1);
    assert.equal(log.complete, false);
    log.close(25);
    log.onReceived('late', 28); // overtakes a send after the window
    log.onSent('late', 26, 3);
    log.onReceived('b', 27); // a window message may arrive after it closes
    log.onReceived('late', 29);
    log.onReceived('unknown', 30);
    assert.equal(log.messages, 2);
    assert.equal(log.expected, 3);
    assert.equal(log.deliveries, 3);
    assert.equal(log.complete, true);
    const figures = log.latency();
    assert.equal(figures?.count, 3);
    near(figures?.p50, 2);
    near(figures?.p90, 7);
    near(figures?.p99, 7);
    near(figures?.max, 7);
    near(figures?.mean, 10 / 3);
    assert.equal(figures?.negative, 0);
    assert.deepEqual(latencyStats(figures ?? null), {
      count: 3,
      p50: figures?.p50,
      p90: figures?.p90,
      p99: figures?.p99,
      max: figures?.max,
    });
  });
  test('MessageLog counts a message for its receivers at most, and a skewed receipt as 0 ms', () => {
    const log = new MessageLog();
    assert.equal(log.latency(), null);
    assert.equal(latencyStats(log.latency()), null);
    log.open(0);
    log.onSent('m', 10, 2);
    log.onReceived('m', 9.5); // another process's clock, a little behind
    log.onReceived('m', 14);
    log.onReceived('m', 15); // more receipts than receivers: a text collision
    assert.equal(log.deliveries, 2);
    assert.equal(log.complete, true);
    const figures = log.latency();
    assert.equal(figures?.count, 2);
    assert.equal(figures?.negative, 1);
    assert.equal(figures?.p50, 0);
    near(figures?.max, 4);
  });
});

describe('bootstrap and resources', () => {
  test('ports in a row, each peer joining through the one before', () => {
    const ports = peerPorts(8080, 3);
    assert.deepEqual(ports, [8080, 8081, 8082]);
    const options = chainOptions(ports, { periodMs: 500 });
    // Nobody joins at start: the joins are sent once every peer listens.
    assert.ok(options.every((o) => o.connect === undefined && o.bindHost === '127.0.0.1'));
    assert.equal(options[2]?.port, 8082);
    assert.equal(options[2]?.periodMs, 500);
    assert.deepEqual(chainBootstrap(ports), [undefined, '127.0.0.1:8080', '127.0.0.1:8081']);
  });
  test('a range past the last port is refused', () => {
    assert.equal(portRangeProblem(65_530, 6), null);
    assert.match(portRangeProblem(65_530, 7) ?? '', /65530-65536/);
  });
  test('the open-file check names both numbers', () => {
    assert.equal(openFileProblem(20, 20_000), null);
    assert.equal(openFileProblem(1_000, null), null);
    const problem = openFileProblem(200, 20_000, 1) ?? '';
    assert.match(problem, new RegExp(`${filesNeeded(200)}`));
    assert.match(problem, /20000/);
    const max = maxPeersFor(20_000);
    assert.ok(filesNeeded(max) <= 20_000 && filesNeeded(max + 1) > 20_000);
  });
  test("a mesh past one process's open files is spread over as few processes as it fits in", () => {
    assert.equal(processesFor(maxPeersFor(20_000), 20_000), 1);
    assert.equal(processesFor(maxPeersFor(20_000) + 1, 20_000), 2);
    const k = processesFor(200, 20_000) ?? 0;
    assert.equal(k, 3);
    assert.ok(filesForShare(Math.ceil(200 / k), 200) <= 20_000);
    assert.ok(filesForShare(Math.ceil(200 / (k - 1)), 200) > 20_000);
    assert.equal(openFileProblem(200, 20_000), null);
    const most = maxPeersFor(20_000, MAX_PROCESSES);
    assert.equal(processesFor(most, 20_000), MAX_PROCESSES);
    assert.equal(processesFor(most + 1, 20_000), null);
    assert.match(
      openFileProblem(most + 1, 20_000) ?? '',
      new RegExp(`${filesNeeded(most + 1)}.*20000`),
    );
  });
});

describe('render', () => {
  const ports = [8080, 8081, 8082];

  test('the matrix has a row per peer with its marks and degree', () => {
    const text = renderMatrix(fakeResult(ports, fullMesh(ports)));
    const rows = text.split('\n').filter((l) => /^\d{4,5} /.test(l));
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.match(row, /2$/);
      assert.equal([...row].filter((c) => c === MARK.link).length, 2);
    }
    assert.doesNotMatch(text, / \n/, 'no trailing spaces');
  });

  test('a missing and a one-sided link show in the matrix', () => {
    const neighbours = [[8081], [8080, 8082], []];
    const text = renderMatrix(fakeResult(ports, neighbours));
    const row = (port: number): string =>
      text.split('\n').find((l) => l.startsWith(String(port))) ?? '';
    assert.match(row(8081), new RegExp(`${MARK.link} +${MARK.oneSided} +2$`));
    assert.match(row(8082), new RegExp(`${MARK.none} +${MARK.none} +0$`));
    assert.match(text, /only the row's peer/);
  });

  test('a peer that never listened is marked so', () => {
    const result = fakeResult(ports, [[], [], []]);
    const peers = result.peers.map((p, i) =>
      i === 1 ? { ...p, listenedMs: null, error: 'port 8081 is already in use' } : p,
    );
    const text = renderReport({
      ...result,
      status: 'failed',
      peers,
      failures: ['port 8081 is already in use'],
    });
    assert.match(text, /^port 8081 is already in use/);
    assert.match(text, /8081 .*not listening/);
  });

  test('above 40 peers: a degree histogram and the missing links, unless the matrix is forced', () => {
    const many = peerPorts(9000, 45);
    const neighbours = fullMesh(many);
    neighbours[0] = neighbours[0]?.filter((p) => p !== 9044) ?? [];
    neighbours[44] = neighbours[44]?.filter((p) => p !== 9000) ?? [];
    const result = fakeResult(many, neighbours);
    const compact = renderReport(result);
    assert.match(compact, /missing links \(1\): 9000-9044/);
    assert.match(compact, /^ *44 +43$/m);
    assert.match(compact, /^ *43 +2$/m);
    assert.doesNotMatch(compact, new RegExp(MARK.link));
    assert.equal(renderCompact(fakeResult(many, fullMesh(many))).includes('none'), true);
    const forced = renderReport(result, { matrix: true });
    assert.match(forced, new RegExp(MARK.link));
  });

  test('the summary states every figure', () => {
    const text = renderSummary(
      fakeResult(ports, fullMesh(ports), {
        messages: { windowMs: 5_000, drainMs: 120, sent: 15, expected: 30, received: 29 },
        latencyMs: { count: 29, p50: 0.5, p90: 1.5, p99: 12, max: 40 },
        sockets: { formed: 5, end: 3 },
        connections: {
          opened: 8,
          attempted: 9,
          perLink: 8 / 3,
          peerListBytes: 300,
          peerListBytesPerLink: 100,
          links: 3,
        },
      }),
    );
    assert.match(text, /status +full mesh formed/);
    assert.match(text, /all listening +100 ms after launch/);
    assert.match(text, /250 ms after the first peer started, 200 ms after the last/);
    assert.match(text, /links +3 of 3/);
    assert.match(text, /sockets +5 when the mesh formed, 3 at the end \(established TCP/);
    assert.match(
      text,
      /connections +8 opened for 3 links \(2\.67 per link, probes included; 9 attempted\), peer lists 100 bytes per link/,
    );
    assert.match(text, /15 sent, 29 of 30 deliveries received in 5 s \(then 120 ms drained\)/);
    assert.match(text, /p50 0\.50 ms, p90 1\.50 ms, p99 12 ms, max 40 ms over 29 deliveries/);
  });

  test('a timeout says how many links are missing', () => {
    const text = renderSummary(
      fakeResult(ports, [[8081], [8080], []], { status: 'timeout', mesh: null }),
    );
    assert.match(text, /no full mesh within 30 s: 2 of 3 links missing/);
    assert.match(text, /full mesh +not formed/);
  });

  test('durations and progress', () => {
    assert.equal(formatDuration(0.123), '0.12 ms');
    assert.equal(formatDuration(840.4), '840 ms');
    assert.equal(formatDuration(2_000), '2 s');
    assert.equal(formatDuration(12_345), '12.3 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    const line = formatProgress({
      phase: 'forming',
      peers: 3,
      listening: 3,
      links: 1,
      expectedLinks: 3,
      messages: 0,
      deliveries: 0,
      elapsedMs: 150,
    });
    assert.equal(line, 'forming the mesh: 1/3 links, 150 ms');
  });
});
