import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Peer } from '../src/peer/peer.js';
import { startPeer, stopAll } from './support/network.js';
import { isFullMesh, nextEvent, until } from './support/wait.js';

function tracked(t: TestContext): Peer[] {
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  return peers;
}

test('a name that does not resolve fails that address alone, with a clear reason, and is retried', async (t) => {
  const peers = tracked(t);
  // `.invalid` is reserved (RFC 2606): it never resolves, and resolving it asks no outside server.
  const lonely = await startPeer(undefined, {
    connect: 'no-such-peer.invalid:8080',
    limits: { bootstrapBackoff: { baseMs: 10, maxMs: 20, maxAttempts: Number.POSITIVE_INFINITY } },
  });
  peers.push(lonely);
  const first = await nextEvent(lonely, 'dial-failed');
  assert.equal(first.peer, 'no-such-peer.invalid:8080');
  // NAME_NOT_FOUND where a resolver answers; NAME_NOT_RESOLVED_NOW where none can be reached.
  assert.equal(first.code, 'SOCKET_ERROR');
  assert.ok(
    first.detail === 'NAME_NOT_FOUND' || first.detail === 'NAME_NOT_RESOLVED_NOW',
    `detail ${first.detail}`,
  );
  assert.ok(first.retryInMs !== undefined, 'retried with backoff');
  await nextEvent(lonely, 'dial-failed');
  // The peer itself carries on: others can still join it.
  const other = await startPeer(lonely);
  peers.push(other);
  await until(peers, () => isFullMesh(peers), 'the peer still serving others');
});

test('one peer is one peer under every name: localhost and 127.0.0.1 give one link', async (t) => {
  const peers = tracked(t);
  const hub = await startPeer();
  peers.push(hub);
  const byNumber = await startPeer(hub);
  peers.push(byNumber);
  await until(peers, () => isFullMesh(peers), 'two peers linked');
  // A third peer joins through the hub's other name; it must still end with one link to the hub.
  const byName = await startPeer(undefined, { connect: `localhost:${hub.port}` });
  peers.push(byName);
  // Linked by node id: each peer holds exactly one link to each of the two others.
  const meshedById = () =>
    peers.every((p) => {
      const ids = p.links.map((l) => l.nodeId).sort();
      const others = peers
        .filter((q) => q !== p)
        .map((q) => q.nodeId)
        .sort();
      return JSON.stringify(ids) === JSON.stringify(others);
    });
  await until(peers, meshedById, 'three peers linked once each');
  // The hub is in byName's view once, under the name byName reached it by.
  assert.deepEqual(
    byName.links.filter((l) => l.nodeId === hub.nodeId).map((l) => l.peer),
    [`localhost:${hub.port}`],
  );
  // Learning the hub's 127.0.0.1 address later (from byNumber's list) did not add a second link.
  assert.equal(byName.links.length, 2);
});

test('IPv6 literals: peers on [::1] join and mesh by bracketed addresses', async (t) => {
  const peers = tracked(t);
  const ipv6 = { bindHost: '::1', advertisedHost: '::1' };
  const first = await startPeer(undefined, ipv6);
  peers.push(first);
  assert.match(first.advertised, /^\[::1\]:\d+$/);
  // The first peer proves the newcomers' bracketed addresses by dialing them back.
  const proven = nextEvent(first, 'address-proven');
  peers.push(await startPeer(first, ipv6));
  peers.push(await startPeer(first, ipv6));
  await until(peers, () => isFullMesh(peers), 'three IPv6 peers meshed');
  assert.match((await proven).peer, /^\[::1\]:\d+$/);
});
