import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import type { Peer } from '../src/peer/peer.js';
import { encodeMessage, Feature, type Message } from '../src/protocol/messages.js';
import { accomplice, lonelyPeer, record } from './support/fixtures.js';
import { OriginalDouble } from './support/original-double.js';
import { RawClient } from './support/raw-client.js';
import { listener } from './support/server.js';
import { nextEvent, WAIT_TIMEOUT_MS } from './support/wait.js';

/** Short enough to keep the tests quick, long enough for a loaded machine to answer a probe. */
const PROOF_TIMEOUT_MS = 1_500;
const OURS = [Feature.exchange, Feature.goodbye, Feature.proof];

/** A raw client of ours (with a node id) that joins `peer` and returns the peers of its reply. */
async function listedBy(t: TestContext, peer: Peer): Promise<readonly string[]> {
  const client = await RawClient.open(t, peer.port);
  const address = await accomplice(t);
  await client.write(
    encodeMessage({ type: 'public_address', address, nodeId: 'cd'.repeat(16), features: OURS }),
  );
  const reply = await client.frame((m) => m.type === 'known_peers');
  client.destroy();
  return reply.type === 'known_peers' ? reply.peers : [];
}

function claim(address: string, nodeId?: string): Buffer {
  const message: Message = {
    type: 'public_address',
    address,
    ...(nodeId === undefined ? {} : { nodeId, features: OURS }),
  };
  return encodeMessage(message);
}

test('an honest newcomer proves its address; only then is it passed on', async (t) => {
  const victim = await lonelyPeer(t);
  const honest = await lonelyPeer(t, { connect: victim.advertised });
  const proven = await nextEvent(victim, 'address-proven', (e) => e.peer === honest.advertised);
  assert.ok(Number.isFinite(proven.ms) && proven.ms >= 0);
  assert.deepEqual(await listedBy(t, victim), [honest.advertised]);
});

test("a claim of another peer's address and node id is never proven, nor passed on", async (t) => {
  const victim = await lonelyPeer(t, { limits: { proofTimeoutMs: PROOF_TIMEOUT_MS } });
  // A real peer the victim does not know; the impostor copies its address and its node id.
  const real = await lonelyPeer(t);
  const events = record(victim, t);
  const impostor = await RawClient.open(t, victim.port);
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === real.advertised);
  await impostor.write(claim(real.advertised, real.nodeId));
  // While the claim is unproven, a newcomer is not told of it.
  await nextEvent(victim, 'connected', (e) => e.peer === real.advertised);
  assert.deepEqual(await listedBy(t, victim), []);
  // The real peer answers the dial-back, but only over its own links: the nonce never reaches
  // the impostor's connection, so the proof times out and the claim's link is closed.
  const event = await lost;
  assert.equal(event.code, 'PROOF_TIMEOUT');
  assert.equal(event.reconnecting, false, 'an unproven address is not redialed');
  await impostor.waitClosed();
  assert.equal(events.filter((e) => e.type === 'address-proven').length, 0);
  assert.deepEqual(victim.peers, []);
  assert.deepEqual(real.peers, [], 'the dial-back did not make the real peer link to the victim');
});

test('a claim of an address where nothing listens fails at once', async (t) => {
  const victim = await lonelyPeer(t);
  const closedPort = await findFreePortRange(1);
  const liar = await RawClient.open(t, victim.port);
  const address = `127.0.0.1:${closedPort}`;
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === address);
  await liar.write(claim(address, 'ef'.repeat(16)));
  assert.equal((await lost).code, 'PROOF_FAILED');
  await liar.waitClosed();
});

test('a claim of an address where another of our nodes answers fails', async (t) => {
  const victim = await lonelyPeer(t);
  const other = await lonelyPeer(t);
  const liar = await RawClient.open(t, victim.port);
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === other.advertised);
  await liar.write(claim(other.advertised, 'ef'.repeat(16)));
  assert.equal((await lost).code, 'PROOF_FAILED');
  await liar.waitClosed();
});

test('a legacy claim (no node id) of an address where one of our nodes answers fails', async (t) => {
  const victim = await lonelyPeer(t, { limits: { legacyReplyGraceMs: 5_000 } });
  const other = await lonelyPeer(t);
  const liar = await RawClient.open(t, victim.port);
  const lost = nextEvent(victim, 'disconnected', (e) => e.peer === other.advertised);
  await liar.write(claim(other.advertised));
  assert.equal((await lost).code, 'PROOF_FAILED');
});

test('a peer of the original that closes the probe without a word (as the real one does) is proven', async (t) => {
  // The real original closes a connection that claims an address it already has a peer for,
  // about 20 ms after the claim; a probe claims the prober's address, which it has.
  const victim = await lonelyPeer(t, { limits: { legacyReplyGraceMs: 10_000 } });
  const port = await listener(t, '127.0.0.1', (socket) => {
    socket.once('data', () => socket.end());
  });
  const address = `127.0.0.1:${port}`;
  const legacy = await RawClient.open(t, victim.port);
  const proven = nextEvent(victim, 'address-proven', (e) => e.peer === address);
  await legacy.write(claim(address));
  // Well before the 10 s grace: the close itself is the answer.
  assert.ok((await proven).ms < 5_000);
  assert.deepEqual(victim.peers, [address]);
});

test('a peer of the original that joins stays linked past the proof timeout and is passed on', async (t) => {
  const victim = await lonelyPeer(t, { limits: { proofTimeoutMs: PROOF_TIMEOUT_MS } });
  // The double does what the real original does with our dial-back: it already has the victim
  // as a peer under that address, so it closes the probe and answers nothing.
  const original = new OriginalDouble({ connect: victim.advertised, periodMs: 200 });
  t.after(() => original.stop());
  const events = record(victim, t);
  await original.start();
  await nextEvent(victim, 'connected', (e) => e.peer === original.advertised);
  // Gossip from the victim for longer than the proof timeout: the link held.
  const heard = () =>
    original.received.filter((m) => m.type === 'random_message' && m.from === victim.advertised)
      .length;
  await original.until(
    () => heard() * 200 > PROOF_TIMEOUT_MS + 500,
    'gossip from the victim past the proof timeout',
    WAIT_TIMEOUT_MS,
  );
  assert.deepEqual(
    events.filter((e) => e.type === 'disconnected'),
    [],
  );
  assert.deepEqual(await listedBy(t, victim), [original.advertised]);
});

test('with proveAddresses false every claim is trusted at once, as the original does', async (t) => {
  const victim = await lonelyPeer(t, { proveAddresses: false });
  const closedPort = await findFreePortRange(1);
  const address = `127.0.0.1:${closedPort}`;
  const client = await RawClient.open(t, victim.port);
  const connected = nextEvent(victim, 'connected', (e) => e.peer === address);
  await client.write(claim(address, 'ef'.repeat(16)));
  await connected;
  // Nothing listens there, yet the address is passed on: the original's behaviour.
  assert.deepEqual(await listedBy(t, victim), [address]);
  assert.equal(client.socket.destroyed, false);
});

/**
 * Copies the address and node id (both public) of `honest`, linked to `victim`, onto a new
 * connection to `victim`; returns once the victim closed it, having checked that the honest link
 * never dropped at either end, still carries gossip both ways, and sent none to the impostor.
 */
async function impersonationFails(t: TestContext, victim: Peer, honest: Peer): Promise<void> {
  const honestEvents = record(honest, t);
  const victimEvents = record(victim, t);
  const impostor = await RawClient.open(t, victim.port);
  await impostor.write(claim(honest.advertised, honest.nodeId));
  await impostor.waitClosed();
  await nextEvent(honest, 'message-received', (e) => e.peer === victim.advertised);
  await nextEvent(victim, 'message-received', (e) => e.peer === honest.advertised);
  assert.deepEqual(victim.peers, [honest.advertised]);
  for (const events of [honestEvents, victimEvents]) {
    assert.equal(events.filter((e) => e.type === 'disconnected').length, 0);
  }
  assert.equal(
    impostor.frames.filter((m) => m.type === 'random_message').length,
    0,
    'no gossip reached the impostor',
  );
}

test('copying a linked peer that dialed us fails its proof; the honest link is untouched', async (t) => {
  const victim = await lonelyPeer(t, { limits: { proofTimeoutMs: PROOF_TIMEOUT_MS } });
  const honest = await lonelyPeer(t, { connect: victim.advertised });
  await nextEvent(victim, 'address-proven', (e) => e.peer === honest.advertised);
  await impersonationFails(t, victim, honest);
});

test('copying a linked peer we dialed (the tie-break would prefer it) fails its proof', async (t) => {
  // The honest peer has the smaller id, so a connection it dials would win the tie-break.
  const honest = await lonelyPeer(t, { nodeId: '0'.repeat(32) });
  const victim = await lonelyPeer(t, {
    nodeId: 'f'.repeat(32),
    connect: honest.advertised,
    limits: { proofTimeoutMs: PROOF_TIMEOUT_MS },
  });
  await nextEvent(honest, 'address-proven', (e) => e.peer === victim.advertised);
  // The real peer answers the dial-back over its own link, never over the impostor's.
  await impersonationFails(t, victim, honest);
  assert.deepEqual(
    victim.links.map((l) => l.direction),
    ['outbound'],
    'still the link the victim dialed',
  );
});
