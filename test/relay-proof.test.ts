import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import { watchSockets } from '../src/metrics/traffic.js';
import type { PeerEvent } from '../src/peer/events.js';
import type { Peer, PeerOptions } from '../src/peer/peer.js';
import { encodeMessage, Feature } from '../src/protocol/messages.js';
import { lonelyPeer, record } from './support/fixtures.js';
import { startPeer, stopAll } from './support/network.js';
import { RawClient } from './support/raw-client.js';
import { listener, onMessages } from './support/server.js';
import { isFullMesh, nextEvent, until } from './support/wait.js';

/**
 * Issue 11: a claim is proven through a peer linked to both ends (Feature.relayProof) instead of
 * a probe connection, and of two peers that learn of each other only the smaller address dials
 * (Feature.introduce). What the peers did is counted outside them: every connection a listener
 * accepted, as Node's `net.server.socket` channel publishes it, and the kernel's table.
 */

/**
 * Long enough that neither fallback fires on a loaded machine: a relayed proof that did not
 * arrive fails its test instead of being rescued by a probe connection.
 */
const NO_FALLBACK: PeerOptions = {
  limits: { proofChannelFallbackMs: 60_000, introductionWaitMs: 60_000, proofTimeoutMs: 60_000 },
};

/** Counts the connections accepted by listeners of this process from now on. */
function countAccepted(t: TestContext): () => number {
  let accepted = 0;
  const stop = watchSockets((_socket, side) => {
    if (side === 'accepted') accepted++;
  });
  t.after(stop);
  return () => accepted;
}

function proofs(events: readonly PeerEvent[]) {
  return events.flatMap((e) => (e.type === 'address-proven' ? [e] : []));
}

test('newcomers joining one at a time open one connection per link, and one probe each', async (t) => {
  const N = 6;
  const base = await findFreePortRange(N);
  const accepted = countAccepted(t);
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  const events: PeerEvent[][] = [];
  for (let i = 0; i < N; i++) {
    const peer = await startPeer(peers.at(-1), { ...NO_FALLBACK, port: base + i });
    peers.push(peer);
    events.push(record(peer, t));
    await until(peers, () => isFullMesh(peers), `${i + 1} peers meshed`);
    // Every claim is proven before the next peer comes, so each step is counted whole.
    await until(
      peers,
      () => events.reduce((n, e) => n + proofs(e).length, 0) === (i * (i + 1)) / 2,
      `the ${i} claims of peer ${i} proven`,
    );
  }
  const links = (N * (N - 1)) / 2;
  const all = events.flatMap(proofs);
  // The bootstrap claim is proven by a probe (nobody vouches for a newcomer yet); every other
  // link's claim through the newcomer's bootstrap, which is linked to both ends.
  assert.equal(all.filter((e) => e.by === 'probe').length, N - 1);
  assert.equal(all.filter((e) => e.by === 'relay').length, links - (N - 1));
  assert.equal(accepted(), links + (N - 1), 'connections accepted: one per link, one probe each');
  if (canReadTcpTable()) {
    await until(
      peers,
      () => countAcceptedConnections(base, base + N - 1) === links,
      'one established connection per pair in the kernel table',
    );
  }
});

test('of two peers told of each other, the larger address waits and the smaller one dials', async (t) => {
  const base = await findFreePortRange(3);
  const accepted = countAccepted(t);
  const hub = await lonelyPeer(t, { ...NO_FALLBACK, port: base });
  const small = await lonelyPeer(t, { ...NO_FALLBACK, port: base + 1, connect: hub.advertised });
  await nextEvent(hub, 'address-proven', (e) => e.peer === small.advertised);
  // The larger one learns of the smaller from the hub's reply and asks the hub to introduce it.
  const dialed = nextEvent(
    small,
    'connected',
    (e) => e.direction === 'outbound' && e.peer.endsWith(`:${base + 2}`),
  );
  const large = await lonelyPeer(t, { ...NO_FALLBACK, port: base + 2, connect: hub.advertised });
  const link = await dialed;
  assert.equal(link.peer, large.advertised);
  const proven = await nextEvent(large, 'address-proven', (e) => e.peer === small.advertised);
  assert.equal(proven.by, 'relay');
  assert.equal(
    large.links.find((l) => l.peer === small.advertised)?.direction,
    'inbound',
    'the larger address never dialed the smaller',
  );
  assert.equal(accepted(), 3 + 2, 'three links and the two bootstrap probes');
});

test('a copied claim that names a relay linked to the real peer is still never proven', async (t) => {
  // The relay is linked to the victim and to the real peer, which never link each other (they
  // act on no peer list), so the real peer has no connection to the victim to echo a nonce on.
  const deaf: PeerOptions = {
    limits: {
      addressBudget: { burst: 0, refillPerSecond: 0, maxBuckets: 16 },
      proofTimeoutMs: 1_500,
      proofChannelFallbackMs: 200,
    },
  };
  const relay = await lonelyPeer(t);
  const real = await lonelyPeer(t, { ...deaf, connect: relay.advertised });
  const victim = await lonelyPeer(t, { ...deaf, connect: relay.advertised });
  await nextEvent(relay, 'address-proven', (e) => e.peer === real.advertised);
  await nextEvent(relay, 'address-proven', (e) => e.peer === victim.advertised);
  const events = record(victim, t);
  const impostor = await RawClient.open(t, victim.port);
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === real.advertised);
  await impostor.write(
    encodeMessage({
      type: 'public_address',
      address: real.advertised,
      nodeId: real.nodeId,
      features: [Feature.exchange, Feature.proof, Feature.inlineProof, Feature.relayProof],
      via: relay.nodeId,
    }),
  );
  // The relay passes the nonce to the real peer, the fallback probe reaches the real peer too;
  // neither can put it on the impostor's connection.
  const event = await lost;
  assert.equal(event.code, 'PROOF_TIMEOUT');
  await impostor.waitClosed();
  assert.deepEqual(proofs(events), []);
  assert.deepEqual(victim.peers, [relay.advertised]);
  assert.deepEqual(real.peers, [relay.advertised], 'the real peer never linked the victim');
  assert.equal(
    impostor.frames.filter((m) => m.type === 'random_message').length,
    0,
    'no gossip reached the impostor',
  );
});

test('a peer that takes no relay proofs proves every claim by its own dial-back', async (t) => {
  const accepted = countAccepted(t);
  const strict: PeerOptions = { ...NO_FALLBACK, relayProofs: false };
  const hub = await lonelyPeer(t, NO_FALLBACK);
  const a = await lonelyPeer(t, { ...NO_FALLBACK, connect: hub.advertised });
  await nextEvent(hub, 'address-proven', (e) => e.peer === a.advertised);
  const events = record(a, t);
  const b = await lonelyPeer(t, { ...strict, connect: hub.advertised });
  const bEvents = record(b, t);
  const all = [hub, a, b];
  await until(all, () => isFullMesh(all), 'three peers meshed');
  await until(
    all,
    () => proofs(events).length + proofs(bEvents).length === 1,
    'the link between a and b proven',
  );
  // Whichever end accepted the link between a and b, it dialed the other end back.
  assert.deepEqual(
    [...proofs(events), ...proofs(bEvents)].map((e) => e.by),
    ['probe'],
  );
  assert.equal(accepted(), 3 + 3, 'three links, three probes');
});

/**
 * A hostile relay: a listener that answers a join like a peer of ours (so a victim that dials it
 * proves it), and hands every nonce it is asked to relay to `onNonce` instead of to the peer named.
 */
async function hostileRelay(t: TestContext): Promise<{
  port: number;
  nodeId: string;
  asked: string[];
  onNonce: (hand: (nonce: string) => void) => void;
}> {
  const nodeId = 'e'.repeat(32);
  const asked: string[] = [];
  let hand: (nonce: string) => void = () => {};
  const port = await listener(t, '127.0.0.1', (socket) =>
    onMessages(socket, (m) => {
      if (m.type === 'public_address' && m.probe === undefined) {
        socket.write(
          encodeMessage({ type: 'known_peers', peers: [], nodeId, features: RELAY_FEATURES }),
        );
      }
      if (m.type === 'relay_probe') {
        asked.push(m.address);
        hand(m.nonce);
      }
    }),
  );
  return {
    port,
    nodeId,
    asked,
    onNonce: (h) => {
      hand = h;
    },
  };
}

const RELAY_FEATURES = [Feature.exchange, Feature.proof, Feature.relayProof];

/** A claim of `address` and `nodeId` naming the hostile relay, which echoes its nonce onto it. */
async function vouchedClaim(
  t: TestContext,
  victim: Peer,
  relay: Awaited<ReturnType<typeof hostileRelay>>,
  address: string,
  nodeId: string,
): Promise<RawClient> {
  const impostor = await RawClient.open(t, victim.port);
  relay.onNonce((nonce) => void impostor.write(encodeMessage({ type: 'address_proof', nonce })));
  await impostor.write(
    encodeMessage({
      type: 'public_address',
      address,
      nodeId,
      features: RELAY_FEATURES,
      via: relay.nodeId,
    }),
  );
  return impostor;
}

test('a hostile relay cannot take a link over: a claim of a linked node is proven by our own dial-back only', async (t) => {
  const relay = await hostileRelay(t);
  const victim = await lonelyPeer(t, {
    connect: `127.0.0.1:${relay.port}`,
    limits: { proofTimeoutMs: 1_500 },
  });
  const honest = await lonelyPeer(t, { connect: victim.advertised });
  await nextEvent(victim, 'address-proven', (e) => e.peer === honest.advertised);
  const honestEvents = record(honest, t);
  const victimEvents = record(victim, t);
  const impostor = await vouchedClaim(t, victim, relay, honest.advertised, honest.nodeId);
  await impostor.waitClosed();
  assert.deepEqual(relay.asked, [], 'the relay was never asked');
  for (const events of [honestEvents, victimEvents]) {
    assert.equal(events.filter((e) => e.type === 'disconnected').length, 0);
  }
  assert.deepEqual(victim.peers.sort(), [`127.0.0.1:${relay.port}`, honest.advertised].sort());
});

test('a squatter a hostile relay vouched for is proven again by dial-back when the real peer claims its address', async (t) => {
  const relay = await hostileRelay(t);
  const victim = await lonelyPeer(t, { connect: `127.0.0.1:${relay.port}` });
  const real = await lonelyPeer(t);
  await until([victim], () => victim.links.length === 1, 'the victim linked to the relay');
  const squatted = nextEvent(victim, 'address-proven', (e) => e.peer === real.advertised);
  const squatter = await vouchedClaim(t, victim, relay, real.advertised, 'f'.repeat(32));
  assert.equal((await squatted).by, 'relay');
  // The real peer's claim collides: refused, and the squatter's address is dialed back, where
  // the real peer answers with its own node id: the squatter goes, the real peer gets in.
  real.join(victim.advertised);
  await squatter.waitClosed();
  await until(
    [victim, real],
    () => victim.links.some((l) => l.peer === real.advertised && l.nodeId === real.nodeId),
    'the real peer linked to the victim',
  );
});

test('an address only a relay vouched for is not redialed after its link breaks', async (t) => {
  const relay = await hostileRelay(t);
  const victim = await lonelyPeer(t, { connect: `127.0.0.1:${relay.port}` });
  await until([victim], () => victim.links.length === 1, 'the victim linked to the relay');
  // A free port where nothing listens: anything a relay can vouch for.
  const nowhere = `127.0.0.1:${await findFreePortRange(1)}`;
  const proven = nextEvent(victim, 'address-proven', (e) => e.peer === nowhere);
  const impostor = await vouchedClaim(t, victim, relay, nowhere, 'f'.repeat(32));
  assert.equal((await proven).by, 'relay');
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === nowhere);
  impostor.socket.resetAndDestroy();
  assert.equal((await lost).reconnecting, false);
});
