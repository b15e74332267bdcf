import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLOOR_HOST } from '../bench/floor.js';
import { runEmulation } from '../src/emulator/emulate.js';
import { FrameTally } from '../src/metrics/frame-tally.js';
import { encodeMessage } from '../src/protocol/messages.js';
import { WAIT_TIMEOUT_MS } from './support/wait.js';

const list = encodeMessage({ type: 'known_peers', peers: ['127.0.0.1:8081', '127.0.0.1:8082'] });
const gossip = encodeMessage({ type: 'random_message', text: 'abcdefghij' });
const claim = encodeMessage({ type: 'public_address', address: '127.0.0.1:8080' });

describe('FrameTally', () => {
  test('counts known_peers frames and their bytes, whatever else the stream holds', () => {
    const tally = new FrameTally();
    assert.deepEqual(tally.push(Buffer.concat([claim, list, gossip, list])), {
      frames: 2,
      bytes: 2 * list.length,
    });
  });

  test('counts a frame split anywhere, even byte by byte', () => {
    const stream = Buffer.concat([gossip, list, claim, list]);
    for (let cut = 1; cut < stream.length; cut++) {
      const tally = new FrameTally();
      const a = tally.push(stream.subarray(0, cut));
      const b = tally.push(stream.subarray(cut));
      assert.equal(a.frames + b.frames, 2, `cut at ${cut}`);
      assert.equal(a.bytes + b.bytes, 2 * list.length, `cut at ${cut}`);
    }
    const tally = new FrameTally();
    let frames = 0;
    for (const byte of stream) frames += tally.push(Buffer.from([byte])).frames;
    assert.equal(frames, 2);
  });
});

describe('connections counted from the threads', () => {
  test('the floor of a mesh opens exactly one connection per pair, and the kernel sees them', async () => {
    const result = await runEmulation({
      peers: 12,
      basePort: 0,
      threads: 2,
      timeoutMs: WAIT_TIMEOUT_MS,
      host: FLOOR_HOST,
    });
    assert.equal(result.status, 'mesh');
    assert.equal(result.connections.opened, 66);
    assert.equal(result.connections.attempted, 66);
    assert.equal(result.connections.perLink, 1);
    assert.equal(result.connections.peerListBytes, 0);
    if (result.sockets.formed !== null) assert.equal(result.sockets.formed, 66);
    if (result.sockets.end !== null) assert.equal(result.sockets.end, 66);
  });
});
