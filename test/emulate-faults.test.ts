/**
 * emulate carries out a scenario on real sockets: the seed's schedule in order, kills and restarts
 * that heal to a full mesh of one TCP connection per pair (counted by the kernel), shaped latency
 * that shows in the measured latency, and loss that shows as delay, never as missing messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { type EmulationOptions, runEmulation } from '../src/emulator/emulate.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import { parseScenario } from '../src/scenario/file.js';
import { resolveTimeline } from '../src/scenario/timeline.js';

const PERIOD_MS = 300;
const common: Partial<EmulationOptions> = {
  threads: 2,
  periodMs: PERIOD_MS,
  timeoutMs: 30_000,
  basePort: 0,
};

test('the timeline runs in order with the schedule of its seed (same seed, same schedule)', async () => {
  const scenario = parseScenario(
    `
steps:
  - { at: 300ms, cut: 2 }
  - { at: 500ms, kill: 1 }
  - { at: 800ms, partition: 2, until: 1600ms }
  - { at: 1s, add: 1 }
  - { at: 500ms, churn: 2/s, until: 2s }
  - { at: 2200ms, restart: all }
`,
    'inline.yaml',
  );
  const seed = 1234;
  const peers = 6;
  const timeline = resolveTimeline(scenario, { peers, seed });
  assert.deepEqual(
    resolveTimeline(scenario, { peers, seed }),
    timeline,
    'same seed, same schedule',
  );
  assert.notDeepEqual(resolveTimeline(scenario, { peers, seed: seed + 1 }), timeline);

  const result = await runEmulation({ ...common, peers, seed, scenario, durationMs: 3_000 });
  assert.equal(result.status, 'mesh', result.failures.join('\n'));
  assert.equal(result.seed, seed);
  const port = (i: number): number => result.config.basePort + i;
  const expected = timeline.actions.map((a) => ({
    kind: a.kind,
    atMs: a.at,
    ...('peers' in a ? { ports: a.peers.map(port) } : {}),
    ...(a.kind === 'partition' ? { groups: a.groups.map((g) => g.map(port)) } : {}),
  }));
  const applied = result.faults.map(({ kind, atMs, ports, groups }) => ({
    kind,
    atMs,
    ...(ports === undefined ? {} : { ports }),
    ...(groups === undefined ? {} : { groups }),
  }));
  assert.deepEqual(applied, expected);
  for (let k = 1; k < result.faults.length; k++)
    assert.ok((result.faults[k]?.appliedMs ?? 0) >= (result.faults[k - 1]?.appliedMs ?? 0));
  const cut = result.faults.find((f) => f.kind === 'cut');
  assert.equal(cut?.count, 2, 'two links were cut');
});

test('killed peers restarted on their ports heal to a full mesh of one TCP connection per pair, counted by the kernel', async (t) => {
  if (!canReadTcpTable()) {
    t.skip('no /proc/net/tcp here');
    return;
  }
  const peers = 8;
  const full = (peers * (peers - 1)) / 2;
  const basePort = await findFreePortRange(peers);
  const scenario = parseScenario('steps: [{ at: 200ms, kill: 3 }, { at: 1s, restart: all }]', 'x');
  const controller = new AbortController();
  let sawKill = false;
  let kernel = -1;
  const result = await runEmulation(
    {
      ...common,
      peers,
      basePort,
      seed: 9,
      scenario,
      // A bound, not a wait: the run is aborted as soon as the mesh healed.
      durationMs: 60_000,
      signal: controller.signal,
    },
    (progress) => {
      if (progress.phase !== 'running') return;
      if (progress.expectedLinks < full) sawKill = true;
      if (!sawKill || progress.links !== full || progress.expectedLinks !== full) return;
      // Re-checked on every report (each gossip sends one) until duplicates are retired.
      kernel = countAcceptedConnections(basePort, basePort + peers - 1);
      if (kernel === full) controller.abort();
    },
  );
  assert.equal(result.status, 'interrupted', 'aborted once healed, within the bound');
  assert.deepEqual(
    result.faults.map((f) => [f.kind, f.ports?.length]),
    [
      ['kill', 3],
      ['restart', 3],
    ],
  );
  assert.equal(kernel, full, 'one established connection per pair');
  assert.equal(result.links.formed, full);
});

test('shaped latency shows in the measured latency, and loss shows as delay, not as missing messages', async () => {
  const run = (latency?: string, loss?: string) =>
    runEmulation({
      ...common,
      peers: 5,
      seed: 3,
      durationMs: 3_000,
      scenario: parseScenario(
        [
          latency === undefined ? '' : `latency: ${latency}`,
          loss === undefined ? '' : `loss: ${loss}`,
        ]
          .filter((l) => l !== '')
          .join('\n') || '{}',
        'shape',
      ),
    });
  const plain = await run();
  const shaped = await run('60ms±10ms');
  const lossy = await run('5ms', '5%');
  for (const r of [plain, shaped, lossy]) assert.equal(r.status, 'mesh', r.failures.join('\n'));
  const p50 = (r: typeof plain) => r.latencyMs?.p50 ?? 0;
  // One shaped direction per delivery: never below latency - jitter (loose, loaded machine).
  assert.ok(p50(shaped) >= 50, `shaped p50 ${p50(shaped)} ms`);
  assert.ok(p50(shaped) > p50(plain), `shaped ${p50(shaped)} ms vs plain ${p50(plain)} ms`);
  // 5 % of transmissions lost: some deliveries wait a retransmission timeout (200 ms), none is lost.
  assert.equal(lossy.messages.received, lossy.messages.expected, 'every delivery arrived');
  assert.ok((lossy.latencyMs?.max ?? 0) >= 200, `lossy max ${lossy.latencyMs?.max} ms`);
});
