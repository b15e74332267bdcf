import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { describe, type TestContext, test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import type { PeerEvent, PeerEventOf } from '../src/peer/events.js';
import { Peer } from '../src/peer/peer.js';
import { startChain, startPeer, stopAll, TEST_PEER } from './support/network.js';
import { isFullMesh, nextEvent, until } from './support/wait.js';

/** Peers a test started; all stopped when the test ends, whatever happened. */
function tracked(t: TestContext): Peer[] {
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  return peers;
}

/** Asserts every peer's view is exactly every other peer's advertised address. */
function assertFullMesh(peers: readonly Peer[]): void {
  for (const peer of peers) {
    const others = peers
      .filter((p) => p !== peer)
      .map((p) => p.advertised)
      .sort();
    assert.deepEqual(peer.peers, others, `view of ${peer.advertised}`);
  }
}

async function meshed(peers: readonly Peer[], what: string): Promise<void> {
  await until(peers, () => isFullMesh(peers), what);
  assertFullMesh(peers);
}

/** Picks, among the peers started so far, the one the next peer joins through. */
type Via = (earlier: readonly Peer[]) => Peer | undefined;
/** Each peer joins through the one started just before it. */
const chain: Via = (earlier) => earlier.at(-1);
/** Every peer joins through the first. */
const star: Via = (earlier) => earlier[0];

/**
 * Starts `count` peers one after another, each after the first joining through the peer `via`
 * picks, and waits for (and asserts) the full mesh. All stopped when the test ends.
 */
async function startMesh(t: TestContext, count: number, via: Via, what: string): Promise<Peer[]> {
  const peers = tracked(t);
  peers.push(await startPeer());
  for (let i = 1; i < count; i++) peers.push(await startPeer(via(peers)));
  await meshed(peers, what);
  return peers;
}

/** Records every event of every given peer from now on. */
function record(peers: readonly Peer[], t: TestContext): Map<Peer, PeerEvent[]> {
  const log = new Map<Peer, PeerEvent[]>();
  for (const peer of peers) {
    const events: PeerEvent[] = [];
    log.set(peer, events);
    t.after(peer.events.subscribe((e) => events.push(e)));
  }
  return log;
}

function eventsOf<T extends PeerEvent['type']>(
  log: Map<Peer, PeerEvent[]>,
  peer: Peer,
  type: T,
): Array<PeerEventOf<T>> {
  return (log.get(peer) ?? []).filter((e): e is PeerEventOf<T> => e.type === type);
}

/**
 * Starts a peer told to `--connect <name>:<its own port>` and checks that it gives that name up at
 * its first dial (failed with `reason`, not retried), and a few gossip rounds later still has no
 * link and made no further attempt.
 */
async function assertGivesUpItself(t: TestContext, name: string): Promise<void> {
  const peers = tracked(t);
  const port = await findFreePortRange(1);
  const peer = new Peer({ ...TEST_PEER, port, connect: `${name}:${port}` });
  peers.push(peer);
  const log = record(peers, t);
  const failed = nextEvent(peer, 'dial-failed');
  await peer.start();
  const event = await failed;
  assert.equal(event.peer, `${name}:${port}`);
  assert.equal(event.code, 'SELF');
  assert.equal(event.retryInMs, undefined, 'not retried');
  // A few gossip rounds later: still no link, no further attempt.
  await until(peers, () => eventsOf(log, peer, 'message-sent').length >= 3, 'gossip rounds');
  assert.deepEqual(peer.peers, []);
  assert.deepEqual(eventsOf(log, peer, 'connected'), []);
  assert.equal(eventsOf(log, peer, 'dial-failed').length, 1);
}

describe('the original test suite', () => {
  test('test_couple_peers_network', async (t) => {
    await startMesh(t, 2, chain, 'two peers linked');
  });

  test('test_a_few_peers_network: a chain of 5', async (t) => {
    await startMesh(t, 5, chain, 'a chain of 5 in a full mesh');
  });

  test('test_a_few_peers_network: a star of 5', async (t) => {
    await startMesh(t, 5, star, 'a star of 5 in a full mesh');
  });

  test('test_many_peers_network: 20 peers, each joining through a random earlier one', async (t) => {
    const random: Via = (earlier) => earlier[Math.floor(Math.random() * earlier.length)];
    await startMesh(t, 20, random, '20 peers in a full mesh');
  });

  test('test_peer_disconnected', async (t) => {
    const peers = await startMesh(t, 5, star, '5 peers in a full mesh');
    const [leaving, ...staying] = peers;
    assert.ok(leaving);
    const log = record(staying, t);
    await leaving.stop();
    await until(
      staying,
      () => staying.every((p) => !p.peers.includes(leaving.advertised)),
      'every other peer dropping the stopped one',
    );
    assertFullMesh(staying);
    for (const peer of staying) {
      const gone: Array<PeerEventOf<'disconnected'>> = eventsOf(log, peer, 'disconnected').filter(
        (e) => e.peer === leaving.advertised,
      );
      assert.equal(gone.length, 1, `${peer.advertised} reports the departure once`);
      assert.ok((gone[0]?.reason ?? '').length > 0);
    }
    // they stay meshed through further gossip rounds, and nobody tries to redial the leaver
    await until(
      staying,
      () => staying.every((p) => eventsOf(log, p, 'message-sent').length >= 3),
      'three more gossip rounds',
    );
    assertFullMesh(staying);
    for (const peer of staying) {
      assert.deepEqual(
        eventsOf(log, peer, 'dial-failed').filter((e) => e.peer === leaving.advertised),
        [],
      );
    }
  });
});

describe('joining', () => {
  test('20 peers started at the same instant in a chain end in a full mesh, burst after burst', async (t) => {
    // The original ended 2 bursts of 4 with an island; every burst here must end meshed.
    for (let burst = 0; burst < 4; burst++) {
      const { peers } = await startChain(t, 20);
      await meshed(peers, `the 20-peer chain of burst ${burst} in a full mesh`);
      await stopAll(peers);
    }
  });

  test('two peers dialing each other at once keep exactly one link each', async (t) => {
    const peers = tracked(t);
    const base = await findFreePortRange(2);
    const a = new Peer({ ...TEST_PEER, port: base, connect: `127.0.0.1:${base + 1}` });
    const b = new Peer({ ...TEST_PEER, port: base + 1, connect: `127.0.0.1:${base}` });
    peers.push(a, b);
    const log = record(peers, t);
    await Promise.all([a.start(), b.start()]);
    await meshed(peers, 'the two peers linked');
    // Each may briefly hold the link the other dials; both end on the same connection: one end's
    // outbound is the other's inbound.
    await until(
      peers,
      () => a.links[0]?.direction !== undefined && a.links[0]?.direction !== b.links[0]?.direction,
      'both ends keeping the same connection',
    );
    assert.equal(a.links.length, 1);
    assert.equal(b.links.length, 1);
    // ...and it stays so: each receives gossip from the other several times over the kept link.
    const received = (p: Peer) => eventsOf(log, p, 'message-received').length;
    const [fromA, fromB] = [received(b), received(a)];
    await until(
      peers,
      () => received(b) >= fromA + 3 && received(a) >= fromB + 3,
      'three more gossip messages each way',
    );
    assert.equal(a.links.length, 1);
    assert.equal(b.links.length, 1);
    assert.notEqual(a.links[0]?.direction, b.links[0]?.direction);
    assertFullMesh(peers);
    for (const peer of peers) {
      assert.deepEqual(eventsOf(log, peer, 'disconnected'), []);
      assert.equal(eventsOf(log, peer, 'connected').length, 1);
    }
  });

  // The numeric spellings of 127.0.0.1 that the resolver accepts (inet_aton) are canonicalised.
  for (const name of [
    'localhost',
    '127.0.0.1',
    '0.0.0.0',
    '127.1.2.3',
    '[::ffff:127.0.0.1]',
    '2130706433',
    '127.1',
    '0x7f.0.0.1',
    '0177.0.0.1',
  ]) {
    test(`a peer given --connect ${name}:<its own port> never links to itself`, async (t) => {
      await assertGivesUpItself(t, name);
    });
  }
  test('a peer reaching itself under a name it cannot recognise gives that name up', async (t) => {
    // The machine's host name resolves to a loopback address here; a peer bound to 127.0.0.1 can
    // only find out it dialed itself from the node id in the reply.
    const name = hostname().toLowerCase();
    const resolved = await lookup(name).catch(() => undefined);
    if (resolved === undefined || !resolved.address.startsWith('127.')) {
      t.skip(`${name} does not resolve to a loopback address`);
      return;
    }
    await assertGivesUpItself(t, name);
  });
});

describe('gossip', () => {
  test('every peer receives messages from every other peer, named by its address', async (t) => {
    const peers = await startMesh(t, 5, chain, '5 peers in a full mesh');
    const senders = new Map<Peer, Set<string>>(peers.map((p) => [p, new Set()]));
    const texts = new Map<Peer, Set<string>>(peers.map((p) => [p, new Set()]));
    for (const peer of peers) {
      t.after(
        peer.events.subscribe((e) => {
          if (e.type === 'message-received') senders.get(peer)?.add(e.peer);
          if (e.type === 'message-received') texts.get(peer)?.add(e.text);
        }),
      );
    }
    const sent = new Map<string, string>();
    for (const peer of peers) {
      t.after(
        peer.events.subscribe((e) => {
          if (e.type === 'message-sent') sent.set(e.text, peer.advertised);
        }),
      );
    }
    await until(
      peers,
      () => peers.every((p) => senders.get(p)?.size === peers.length - 1),
      'a message from every other peer at every peer',
    );
    for (const peer of peers) {
      const expected = peers
        .filter((p) => p !== peer)
        .map((p) => p.advertised)
        .sort();
      assert.deepEqual([...(senders.get(peer) ?? [])].sort(), expected);
      // every text received was sent by someone else, as 10 alphanumeric characters
      for (const text of texts.get(peer) ?? []) {
        assert.match(text, /^[A-Za-z0-9]{10}$/);
        const from = sent.get(text);
        if (from !== undefined) assert.notEqual(from, peer.advertised);
      }
    }
  });

  test('gossip() sends a given text to every linked peer at once', async (t) => {
    const peers = await startMesh(t, 4, star, '4 peers in a full mesh');
    const [speaker, ...listeners] = peers;
    assert.ok(speaker);
    const received = listeners.map((p) =>
      nextEvent(p, 'message-received', (e) => e.text === 'HelloWorld'),
    );
    const sent = nextEvent(speaker, 'message-sent', (e) => e.text === 'HelloWorld');
    speaker.gossip('HelloWorld');
    assert.equal((await sent).peers, 3);
    for (const event of await Promise.all(received)) assert.equal(event.peer, speaker.advertised);
  });
});
