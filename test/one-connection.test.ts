/**
 * One TCP connection per linked pair, counted by the kernel (`/proc/net/tcp`, as `ss` counts),
 * not by the peers' own bookkeeping; and peer lists from a claim nobody proved make no dials.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import { Peer } from '../src/peer/peer.js';
import { encodeMessage } from '../src/protocol/messages.js';
import { json, record } from './support/fixtures.js';
import { startChain, startPeer, TEST_PEER } from './support/network.js';
import { RawClient } from './support/raw-client.js';
import { listener } from './support/server.js';
import { isFullMesh, nextEvent, settlesAt, until, WAIT_TIMEOUT_MS } from './support/wait.js';

test('20 peers started at once hold exactly one TCP connection per link, counted by the kernel', async (t) => {
  if (!canReadTcpTable()) {
    t.skip('no /proc/net/tcp here');
    return;
  }
  const { peers, base } = await startChain(t, 20);
  await until(peers, () => isFullMesh(peers), 'a full mesh of 20');
  const count = () => countAcceptedConnections(base, base + 19);
  // Duplicates, probes and refused claims are closed within about a second of the mesh forming
  // (the larger node id's grace for a retired duplicate is 1 s, and proofs still running hold a
  // probe each); the bound is the tests' usual one, for a loaded machine. How fast is measured
  // by the emulator, not here.
  assert.equal(
    await settlesAt(count, 190, WAIT_TIMEOUT_MS),
    190,
    'established connections on the ports',
  );
  // And it stays so: a few gossip rounds later, still one connection per link.
  const log = record(peers[0] as Peer, t);
  await until(peers, () => log.filter((e) => e.type === 'message-sent').length >= 3, 'gossip');
  assert.equal(count(), 190);
  assert.ok(isFullMesh(peers));
});

/** A listener that counts the connections made to it on every 127.x address (the dials). */
async function dialCounter(t: TestContext): Promise<{ port: number; dials: () => number }> {
  let dials = 0;
  const port = await listener(t, '0.0.0.0', () => {
    dials++;
  });
  return { port, dials: () => dials };
}

/** 1,000 distinct loopback addresses, all reaching the counter. */
const thousand = (port: number) =>
  Array.from({ length: 1_000 }, (_, i) => `127.0.${2 + (i >> 8)}.${i & 255}:${port}`);

test('a claim that fails its proof: the thousand addresses it listed are never dialed', async (t) => {
  const counter = await dialCounter(t);
  const victim = await startPeer();
  t.after(() => victim.stop());
  const nothing = await findFreePortRange(1);
  const client = await RawClient.open(t, victim.port);
  const unproven = nextEvent(victim, 'disconnected');
  // The claim and the list in one write, as the attacker does.
  await client.write(
    Buffer.concat([
      json({ type: 'public_address', data: { address: `127.0.0.1:${nothing}` } }),
      encodeMessage({ type: 'known_peers', peers: thousand(counter.port) }),
    ]),
  );
  const event = await unproven;
  assert.equal(event.code, 'PROOF_FAILED', event.reason);
  // Two gossip periods after the proof failed: not one dial.
  await sleep(2 * (TEST_PEER.periodMs ?? 200));
  assert.equal(counter.dials(), 0);
});

test('a hostile bootstrap peer listing a thousand addresses gets only its address budget dialed', async (t) => {
  const counter = await dialCounter(t);
  // The bootstrap peer: answers a join with a thousand addresses, as the original would.
  const hostilePort = await listener(t, '127.0.0.1', (socket) => {
    socket.write(encodeMessage({ type: 'known_peers', peers: thousand(counter.port) }));
  });
  const burst = 50;
  const victim = new Peer({
    ...TEST_PEER,
    connect: `127.0.0.1:${hostilePort}`,
    limits: { addressBudget: { burst, refillPerSecond: 1, maxBuckets: 16 } },
  });
  t.after(() => victim.stop());
  const startedAt = performance.now();
  await victim.start();
  await settlesAt(counter.dials, burst, WAIT_TIMEOUT_MS);
  await sleep(1_000);
  const seconds = (performance.now() - startedAt) / 1_000;
  // The burst, then one a second (each dial also retried on failure, but these all connect).
  assert.ok(counter.dials() >= burst, `${counter.dials()} dials`);
  assert.ok(
    counter.dials() <= burst + Math.ceil(seconds),
    `${counter.dials()} dials in ${seconds} s`,
  );
});
