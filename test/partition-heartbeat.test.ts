/**
 * A partition made by the shaping layer (traffic across groups held, dials refused) is noticed by
 * the heartbeat extension: links across it are declared dead (HEARTBEAT_TIMEOUT), links inside a
 * group stay, and after the heal the mesh reforms with one TCP connection per pair (kernel count).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEAD_AFTER_PERIODS, livenessOf } from '../src/core/liveness.js';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { NetworkMap } from '../src/emulator/faults.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import type { PeerEvent } from '../src/peer/events.js';
import { Peer } from '../src/peer/peer.js';
import { stopAll, TEST_PEER } from './support/network.js';
import { isFullMesh, settlesAt, until, WAIT_TIMEOUT_MS } from './support/wait.js';

const PERIOD_MS = TEST_PEER.periodMs as number;

test('liveness: a link silent for the dead-after periods is dead, one we said nothing on for a period is pinged', () => {
  const base = { lastHeardAt: 0, lastSentAt: 0, periodMs: 1_000 };
  assert.equal(livenessOf({ ...base, now: 500 }), 'alive');
  assert.equal(livenessOf({ ...base, now: 1_000 }), 'ping');
  assert.equal(livenessOf({ ...base, now: DEAD_AFTER_PERIODS * 1_000 - 1 }), 'ping');
  assert.equal(livenessOf({ ...base, now: DEAD_AFTER_PERIODS * 1_000 }), 'dead');
  assert.equal(livenessOf({ ...base, lastSentAt: 2_500, now: 2_600 }), 'alive');
});

test('a partition is noticed by the heartbeat within a few periods, and the mesh heals to one connection per pair', async (t) => {
  const n = 6;
  const base = await findFreePortRange(n);
  const ports = Array.from({ length: n }, (_, i) => base + i);
  const network = new NetworkMap(ports);
  const peers = ports.map(
    (port, i) =>
      new Peer({
        ...TEST_PEER,
        port,
        advertisedHost: '127.0.0.1',
        ...(i === 0 ? {} : { connect: `127.0.0.1:${port - 1}` }),
        shaping: network.shaping(i, 42, null),
      }),
  );
  t.after(() => stopAll(peers));
  await Promise.all(peers.map((p) => p.start()));
  await until(peers, () => isFullMesh(peers), 'a full mesh of 6');

  const left = new Set([0, 1, 2]);
  const across = (i: number, address: string): boolean =>
    left.has(i) !== left.has(ports.indexOf(Number(address.split(':')[1])));
  const downs: Array<{ i: number; event: PeerEvent & { type: 'disconnected' } }> = [];
  for (const [i, peer] of peers.entries()) {
    peer.events.subscribe((event) => {
      if (event.type === 'disconnected') downs.push({ i, event });
    });
  }
  const cutAt = performance.timeOrigin + performance.now();
  for (let i = 0; i < n; i++) network.setGroup(i, left.has(i) ? 0 : 1);

  // Every peer loses its 3 links across the line, each end on its own or by the other's close.
  const lostAcross = (): boolean =>
    peers.every((p, i) => p.peers.every((address) => !across(i, address)));
  await until(peers, lostAcross, 'every link across the partition declared dead');
  const byHeartbeat = downs.filter((d) => d.event.code === 'HEARTBEAT_TIMEOUT');
  assert.ok(byHeartbeat.length >= 1, 'the heartbeat found the silent links');
  for (const d of downs)
    assert.ok(across(d.i, d.event.peer), `only links across went down: ${d.event.peer}`);
  // Never sooner than the dead-after periods of silence, the last frame having come at most a
  // period before the cut: a live link is not judged on a pause.
  const first = Math.min(...byHeartbeat.map((d) => d.event.at));
  assert.ok(
    first - cutAt >= (DEAD_AFTER_PERIODS - 1) * PERIOD_MS,
    `declared dead ${first - cutAt} ms after the cut`,
  );
  t.diagnostic(
    `first HEARTBEAT_TIMEOUT ${Math.round(first - cutAt)} ms after the cut (period ${PERIOD_MS} ms)`,
  );
  // Inside each group the mesh stays.
  for (const [i, p] of peers.entries())
    assert.equal(p.peers.length, 2, `peer ${i} keeps its group`);

  network.heal();
  for (const p of peers) p.reshape();
  await until(
    peers,
    () => isFullMesh(peers),
    'the mesh reformed after the heal',
    2 * WAIT_TIMEOUT_MS,
  );
  if (canReadTcpTable()) {
    const count = () => countAcceptedConnections(base, base + n - 1);
    assert.equal(await settlesAt(count, 15, WAIT_TIMEOUT_MS), 15, 'one connection per pair');
  }
});
