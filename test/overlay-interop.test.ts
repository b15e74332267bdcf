import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OverlayPeer } from '../src/peer/overlay-peer.js';
import { MAX_FRAME_BYTES } from '../src/protocol/limits.js';
import { codes, invalid } from './support/codes.js';
import { header, json } from './support/fixtures.js';
import { startPeer } from './support/network.js';
import { OriginalDouble } from './support/original-double.js';
import { TEST_OVERLAY } from './support/overlay.js';
import { RawClient } from './support/raw-client.js';
import { nextEvent } from './support/wait.js';

/**
 * An overlay peer links only with overlay peers: a full mesh and an overlay forward gossip
 * differently, so a mixed network would lose messages silently. Peers of other kinds are refused
 * on either side of the handshake, with a stable code in the overlay peer's log, and a goodbye to
 * a peer of ours so that it does not retry.
 */
async function overlayPeer(t: import('node:test').TestContext): Promise<OverlayPeer> {
  const peer = new OverlayPeer({ ...TEST_OVERLAY, port: 0 });
  t.after(() => peer.stop());
  await peer.start();
  return peer;
}

test('a full-mesh peer of ours that dials an overlay peer is refused with a goodbye, and no link forms', async (t) => {
  const overlay = await overlayPeer(t);
  const refused = nextEvent(overlay, 'rejected');
  const mesh = await startPeer(undefined, { periodMs: 60_000 });
  t.after(() => mesh.stop());
  const failed = nextEvent(mesh, 'dial-failed');
  mesh.join(overlay.advertised);
  assert.equal((await refused).code, 'OVERLAY_FULL_MESH_PEER');
  assert.equal((await failed).code, 'GOODBYE');
  assert.deepEqual(overlay.peers, []);
  assert.deepEqual(mesh.peers, []);
});

test('an overlay peer that joins through a full-mesh peer refuses it and does not retry', async (t) => {
  const overlay = await overlayPeer(t);
  const mesh = await startPeer(undefined, { periodMs: 60_000 });
  t.after(() => mesh.stop());
  const refused = nextEvent(overlay, 'rejected');
  const gaveUp = nextEvent(overlay, 'dial-failed');
  const meshSawGoodbye = nextEvent(mesh, 'disconnected');
  overlay.join(mesh.advertised);
  assert.equal((await refused).code, 'OVERLAY_FULL_MESH_PEER');
  const failure = await gaveUp;
  assert.equal(failure.code, 'OVERLAY_FULL_MESH_PEER');
  assert.equal(failure.retryInMs, undefined, 'a refusal is not retried');
  assert.equal((await meshSawGoodbye).code, 'GOODBYE');
  assert.deepEqual(overlay.peers, []);
});

test('a peer of the original is refused on either side of the handshake', async (t) => {
  const overlay = await overlayPeer(t);
  const original = new OriginalDouble({ port: 0, bindHost: '127.0.0.1', periodMs: 200 });
  t.after(() => original.stop());
  await original.start();

  const refusedInbound = nextEvent(overlay, 'rejected');
  const dialer = new OriginalDouble({
    port: 0,
    bindHost: '127.0.0.1',
    periodMs: 200,
    connect: overlay.advertised,
  });
  t.after(() => dialer.stop());
  await dialer.start();
  assert.equal((await refusedInbound).code, 'OVERLAY_ORIGINAL_PEER');

  // The original says nothing to a dialer while it knows nobody; its first gossip gives it away.
  const gaveUp = nextEvent(overlay, 'dial-failed', (e) => e.peer === original.advertised);
  overlay.join(original.advertised);
  const failure = await gaveUp;
  assert.equal(failure.code, 'OVERLAY_ORIGINAL_PEER');
  assert.equal(failure.retryInMs, undefined);
  assert.deepEqual(overlay.peers, []);
});

test('an overlay peer refuses a stranger that breaks the protocol with the rule it broke', async (t) => {
  const overlay = await overlayPeer(t);
  const port = Number(overlay.advertised.slice(overlay.advertised.lastIndexOf(':') + 1));
  for (const [bytes, expected] of [
    [header(MAX_FRAME_BYTES + 1), invalid('FRAME_TOO_LARGE')],
    [json({ type: 'pt_gossip', data: { id: 'm', data: 'x', hops: -1 } }), invalid('BAD_INTEGER')],
    [
      json({ type: 'random_message', data: { data: 'hello' } }),
      { code: 'PROTOCOL_VIOLATION', detail: 'BEFORE_HANDSHAKE' },
    ],
  ] as const) {
    const client = await RawClient.open(t, port);
    const refused = nextEvent(overlay, 'rejected', (e) => e.remote === client.remote);
    await client.write(bytes);
    await client.waitClosed();
    assert.deepEqual(codes(await refused), expected);
  }
});
