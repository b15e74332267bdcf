import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { PeerEvent } from '../src/peer/events.js';
import type { Peer } from '../src/peer/peer.js';
import { startPeer, stopAll } from './support/network.js';
import { isFullMesh, nextEvent, until } from './support/wait.js';

async function mesh(t: TestContext, size: number): Promise<Peer[]> {
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  const first = await startPeer();
  peers.push(first);
  for (let i = 1; i < size; i++) peers.push(await startPeer(first));
  await until(peers, () => isFullMesh(peers), `a full mesh of ${size}`);
  return peers;
}

function log(peer: Peer, t: TestContext): PeerEvent[] {
  const events: PeerEvent[] = [];
  t.after(peer.events.subscribe((e) => events.push(e)));
  return events;
}

test('a link broken under both peers is restored, by one connection, without anyone restarting', async (t) => {
  const [a, b, c] = (await mesh(t, 3)) as [Peer, Peer, Peer];
  const eventsA = log(a, t);
  const eventsB = log(b, t);
  const lostAtA = nextEvent(a, 'disconnected', (e) => e.peer === b.advertised);
  const lostAtB = nextEvent(b, 'disconnected', (e) => e.peer === a.advertised);
  assert.equal(a.breakLink(b.advertised), true);
  assert.equal((await lostAtA).reconnecting, true);
  assert.equal((await lostAtB).reconnecting, true);
  await until([a, b], () => isFullMesh([a, b, c]), 'the broken link restored');
  assert.equal(a.links.filter((l) => l.peer === b.advertised).length, 1);
  // Messages flow over the restored link again, both ways.
  await nextEvent(a, 'message-received', (e) => e.peer === b.advertised);
  await nextEvent(b, 'message-received', (e) => e.peer === a.advertised);
  // The link the peers kept is the same one at both ends: each saw one loss and one new link.
  const count = (events: PeerEvent[], type: PeerEvent['type']) =>
    events.filter((e) => e.type === type).length;
  assert.equal(count(eventsA, 'disconnected'), 1);
  assert.equal(count(eventsB, 'disconnected'), 1);
  assert.equal(count(eventsA, 'connected'), 1);
  assert.equal(count(eventsB, 'connected'), 1);
  assert.equal(a.breakLink('127.0.0.1:1'), false);
});

test('a peer that stops cleanly says goodbye: its peers drop it at once and do not redial it', async (t) => {
  const [a, b, c] = (await mesh(t, 3)) as [Peer, Peer, Peer];
  const eventsA = log(a, t);
  const lost = nextEvent(a, 'disconnected', (e) => e.peer === c.advertised);
  await c.stop();
  const event = await lost;
  assert.equal(event.reconnecting, false);
  assert.equal(event.code, 'GOODBYE');
  // Wait a few gossip rounds between the remaining two: no dial toward the departed peer.
  for (let i = 0; i < 3; i++)
    await nextEvent(a, 'message-received', (e) => e.peer === b.advertised);
  assert.deepEqual(a.peers, [b.advertised]);
  assert.equal(eventsA.filter((e) => e.type === 'dial-failed').length, 0);
});

test('a peer gone without goodbye is retried with backoff, one event per try, then given up', async (t) => {
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  const reconnectBackoff = { baseMs: 10, maxMs: 40, maxAttempts: 3 };
  const a = await startPeer(undefined, { limits: { reconnectBackoff } });
  peers.push(a);
  const proven = nextEvent(a, 'address-proven');
  const b = await startPeer(a);
  peers.push(b);
  await until(peers, () => isFullMesh(peers), 'two peers linked');
  // Only an address a has proven is worth redialing: wait for a's dial-back to b to succeed.
  assert.equal((await proven).peer, b.advertised);
  const failures: number[] = [];
  const gaveUp = new Promise<void>((resolve) =>
    t.after(
      a.events.subscribe((e) => {
        if (e.type !== 'dial-failed' || e.peer !== b.advertised) return;
        failures.push(e.retryInMs ?? -1);
        if (e.retryInMs === undefined) resolve();
      }),
    ),
  );
  // Break the link and take b's port away before it can answer: what a crash looks like from a.
  b.breakLink(a.advertised);
  await b.stop();
  await gaveUp;
  assert.equal(failures.length, 3, `tries: ${failures.join(', ')}`);
  assert.ok(failures.slice(0, -1).every((ms) => ms >= 5 && ms <= 40));
  assert.equal(failures.at(-1), -1);
  assert.deepEqual(a.peers, []);
});
