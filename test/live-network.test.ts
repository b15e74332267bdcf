import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerEvent, PeerEventInit } from '../src/peer/events.js';
import { LiveNetwork } from '../src/ui/live-network.js';

const ADDRESSES = ['127.0.0.1:8080', '127.0.0.1:8081', '127.0.0.1:8082'];

function feed(network: LiveNetwork, peer: number, e: PeerEventInit, at = 0): void {
  network.observe(peer, { ...e, at } as PeerEvent);
}

function listening(network: LiveNetwork): void {
  ADDRESSES.forEach((advertised, i) => {
    feed(network, i, { type: 'listening', bound: advertised, advertised, nodeId: String(i) });
  });
}

function link(network: LiveNetwork, a: number, b: number): void {
  feed(network, a, { type: 'connected', peer: ADDRESSES[b] ?? '', direction: 'outbound' });
  feed(network, b, { type: 'connected', peer: ADDRESSES[a] ?? '', direction: 'inbound' });
}

test('a link is drawn once both ends report it, and each frame carries only the changes', () => {
  const network = new LiveNetwork(ADDRESSES, 0);
  listening(network);
  feed(network, 0, { type: 'connected', peer: ADDRESSES[1] ?? '', direction: 'outbound' });
  let frame = network.frame(100);
  assert.deepEqual(frame.up, [0, 1, 2]);
  assert.deepEqual(frame.added, []);
  feed(network, 1, { type: 'connected', peer: ADDRESSES[0] ?? '', direction: 'inbound' });
  link(network, 1, 2);
  frame = network.frame(200);
  assert.deepEqual(frame.up, []);
  assert.deepEqual(frame.added, [
    [0, 1],
    [1, 2],
  ]);
  assert.equal(frame.links, 2);
  assert.deepEqual(frame.degrees, [0, 2, 1]);
  assert.deepEqual(network.frame(300).added, []);
  assert.deepEqual(network.init(300).edges, [
    [0, 1],
    [1, 2],
  ]);
});

test('a stopped peer leaves with its links, though it reports no disconnection', () => {
  const network = new LiveNetwork(ADDRESSES, 0);
  listening(network);
  link(network, 0, 1);
  link(network, 0, 2);
  link(network, 1, 2);
  network.frame(100);
  feed(network, 2, { type: 'stopped' });
  const frame = network.frame(200);
  assert.deepEqual(frame.down, [2]);
  assert.deepEqual(frame.removed, [
    [0, 2],
    [1, 2],
  ]);
  assert.equal(frame.links, 1);
  assert.equal(frame.peers, 2);
});

test('a followed message lists every peer it reached, with its latency', () => {
  const network = new LiveNetwork(ADDRESSES, 0);
  listening(network);
  link(network, 0, 1);
  link(network, 0, 2);
  // Peer 2's receipt overtakes the send's event (another thread): it still counts.
  feed(network, 2, { type: 'message-received', peer: ADDRESSES[0] ?? '', text: 'm' }, 1_003);
  feed(network, 0, { type: 'message-sent', text: 'm', peers: 2 }, 1_000);
  feed(network, 1, { type: 'message-received', peer: ADDRESSES[0] ?? '', text: 'm' }, 1_001);
  const frame = network.frame(1_100);
  assert.equal(frame.deliveries, 2);
  assert.equal(frame.spreads.length, 1);
  assert.equal(frame.spreads[0]?.origin, 0);
  assert.deepEqual(frame.spreads[0]?.reached, [
    [2, 1, 3],
    [1, 1, 1],
  ]);
  assert.equal(
    frame.latency.reduce((a, b) => a + b, 0),
    2,
  );
  // Only what is new goes out in the next frame.
  assert.deepEqual(network.frame(1_200).spreads, []);
});
