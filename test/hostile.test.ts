import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { PeerEvent } from '../src/peer/events.js';
import { encodeFrame } from '../src/protocol/frame.js';
import { MAX_FRAME_BYTES, MAX_PEERS_PER_MESSAGE } from '../src/protocol/limits.js';
import { encodeMessage } from '../src/protocol/messages.js';
import { type Codes, codes, invalid } from './support/codes.js';
import {
  accomplice,
  assertStillServing,
  header,
  json,
  lonelyPeer,
  network,
  record,
} from './support/fixtures.js';
import { OriginalDouble } from './support/original-double.js';
import { RawClient } from './support/raw-client.js';
import { nextEvent, until, WAIT_TIMEOUT_MS } from './support/wait.js';

/** Attacks from a stranger that never announced itself: each must end in a 'rejected' event. */
const strangerAttacks: Array<[string, () => Buffer, Codes]> = [
  [
    'a header announcing MAX_FRAME_BYTES + 1',
    () => header(MAX_FRAME_BYTES + 1),
    invalid('FRAME_TOO_LARGE'),
  ],
  ['a header announcing 4 GiB', () => header(0xff_ff_ff_ff), invalid('FRAME_TOO_LARGE')],
  [
    'a header announcing 8 MiB followed by some of the body',
    () => Buffer.concat([header(8 * 1024 * 1024), Buffer.alloc(100_000, 0x20)]),
    invalid('FRAME_TOO_LARGE'),
  ],
  ['invalid UTF-8', () => encodeFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), invalid('NOT_UTF8')],
  ['invalid JSON', () => encodeFrame(Buffer.from('{"type":"public_address"')), invalid('NOT_JSON')],
  ['a JSON list', () => json([1, 2]), invalid('NOT_ENVELOPE')],
  ['an unknown type', () => json({ type: 'teleport', data: {} }), invalid('UNKNOWN_TYPE')],
  [
    'public_address with an address that is a number',
    () => json({ type: 'public_address', data: { address: 8080 } }),
    invalid('BAD_ADDRESS'),
  ],
  [
    'public_address with a node_id that is not hex',
    () => json({ type: 'public_address', data: { address: '127.0.0.1:1', node_id: 'xyz!' } }),
    invalid('BAD_NODE_ID'),
  ],
  [
    'known_peers whose peers is not a list',
    () => json({ type: 'known_peers', data: { peers: '127.0.0.1:1' } }),
    invalid('NOT_A_LIST'),
  ],
  [
    'known_peers with an entry that is not host:port',
    () => json({ type: 'known_peers', data: { peers: ['127.0.0.1:1', 'nonsense'] } }),
    invalid('BAD_ADDRESS'),
  ],
  [
    'known_peers over MAX_PEERS_PER_MESSAGE',
    () =>
      json({
        type: 'known_peers',
        data: {
          peers: Array.from({ length: MAX_PEERS_PER_MESSAGE + 1 }, (_, i) => `10.0.0.1:${i + 1}`),
        },
      }),
    invalid('TOO_MANY_PEERS'),
  ],
  [
    'a well-formed known_peers before any public_address',
    () => json({ type: 'known_peers', data: { peers: ['127.0.0.1:1'] } }),
    { code: 'PROTOCOL_VIOLATION', detail: 'BEFORE_HANDSHAKE' },
  ],
  [
    'a well-formed random_message before any public_address',
    () => json({ type: 'random_message', data: { data: 'hello' } }),
    { code: 'PROTOCOL_VIOLATION', detail: 'BEFORE_HANDSHAKE' },
  ],
  [
    'random bytes (their first byte makes a header over 16 MiB)',
    () => {
      const bytes = randomBytes(512);
      bytes[0] = 1 + ((bytes[0] ?? 0) % 255);
      return bytes;
    },
    invalid('FRAME_TOO_LARGE'),
  ],
  [
    'a frame of random bytes',
    () => encodeFrame(Buffer.concat([Buffer.from([0xff]), randomBytes(300)])),
    invalid('NOT_UTF8'),
  ],
];

describe('a hostile stranger gets its connection closed and reported', () => {
  for (const [name, bytes, expected] of strangerAttacks) {
    test(name, async (t) => {
      const net = await network(t);
      const events = record(net.victim, t);
      const client = await RawClient.open(t, net.victim.port);
      const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === client.remote);
      await client.write(bytes());
      await client.waitClosed();
      const event = await rejected;
      assert.deepEqual(codes(event), expected);
      // the stranger got nothing, and never counted as a peer
      assert.deepEqual(client.frames, []);
      assert.deepEqual(
        events.filter((e) => e.type === 'connected' || e.type === 'disconnected'),
        [],
      );
      await assertStillServing(net);
    });
  }

  test('a connection that never announces itself is closed after the handshake timeout', async (t) => {
    const net = await network(t, { limits: { handshakeTimeoutMs: 200 } });
    const client = await RawClient.open(t, net.victim.port);
    const opened = performance.now();
    const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === client.remote);
    await client.waitClosed();
    assert.ok(performance.now() - opened >= 150, 'not closed before the timeout');
    assert.equal((await rejected).code, 'HANDSHAKE_TIMEOUT');
    await assertStillServing(net);
  });

  test('a connection announcing itself in time is not closed by the handshake timeout', async (t) => {
    const net = await network(t, { limits: { handshakeTimeoutMs: 200 } });
    const address = await accomplice(t);
    const client = await RawClient.open(t, net.victim.port);
    const connected = nextEvent(net.victim, 'connected', (e) => e.peer === address);
    const proven = nextEvent(net.victim, 'address-proven', (e) => e.peer === address);
    await client.write(encodeMessage({ type: 'public_address', address }));
    await connected;
    await proven;
    // several gossip periods (200 ms each) later it is still linked and receiving gossip
    await until(
      net.all,
      () => client.frames.filter((m) => m.type === 'random_message').length >= 3,
      'three gossip frames to the raw client',
    );
    assert.ok(net.victim.peers.includes(address));
    assert.equal(client.socket.destroyed, false);
  });
});

describe('a hostile linked peer is disconnected with a reason', () => {
  const linkedAttacks: Array<[string, Buffer, Codes]> = [
    ['a frame over MAX_FRAME_BYTES', header(MAX_FRAME_BYTES + 1), invalid('FRAME_TOO_LARGE')],
    ['invalid JSON', encodeFrame(Buffer.from('not json')), invalid('NOT_JSON')],
    [
      'known_peers whose entries are not host:port',
      json({ type: 'known_peers', data: { peers: [1, 2, 3] } }),
      invalid('BAD_ADDRESS'),
    ],
    [
      'gossip with control characters',
      json({ type: 'random_message', data: { data: '\u001b[2Jgotcha' } }),
      invalid('BAD_TEXT'),
    ],
    [
      'a public_address re-claiming another address',
      json({ type: 'public_address', data: { address: '127.0.0.1:2' } }),
      { code: 'PROTOCOL_VIOLATION', detail: 'RECLAIM' },
    ],
  ];
  for (const [name, bytes, expected] of linkedAttacks) {
    test(name, async (t) => {
      const net = await network(t);
      // A listener at the claimed address, so the victim's dial-back proof does not close the link first.
      const address = await accomplice(t);
      const client = await RawClient.open(t, net.victim.port);
      const connected = nextEvent(net.victim, 'connected', (e) => e.peer === address);
      await client.write(encodeMessage({ type: 'public_address', address }));
      await connected;
      const disconnected = nextEvent(net.victim, 'disconnected', (e) => e.peer === address);
      await client.write(bytes);
      await client.waitClosed();
      assert.deepEqual(codes(await disconnected), expected);
      await assertStillServing(net);
    });
  }

  test('claiming the address of an already linked peer is rejected', async (t) => {
    const net = await network(t);
    const [first] = net.honest;
    const client = await RawClient.open(t, net.victim.port);
    const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === client.remote);
    await client.write(encodeMessage({ type: 'public_address', address: first.advertised }));
    await client.waitClosed();
    assert.equal((await rejected).code, 'ADDRESS_TAKEN');
    await assertStillServing(net);
  });

  test("claiming the victim's own address is rejected", async (t) => {
    const net = await network(t);
    const client = await RawClient.open(t, net.victim.port);
    const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === client.remote);
    await client.write(encodeMessage({ type: 'public_address', address: net.victim.advertised }));
    await client.waitClosed();
    assert.equal((await rejected).code, 'OWN_ADDRESS');
    await assertStillServing(net);
  });
});

describe('framing over a raw socket', () => {
  test('a public_address sent one byte per write is answered with known_peers', async (t) => {
    const net = await network(t);
    const address = await accomplice(t);
    const client = await RawClient.open(t, net.victim.port);
    const connected = nextEvent(net.victim, 'connected', (e) => e.peer === address);
    await client.trickle(encodeMessage({ type: 'public_address', address }));
    const reply = await client.frame();
    // the first frame back is the reply, listing every peer but the newcomer
    assert.equal(reply.type, 'known_peers');
    assert.deepEqual(
      reply.type === 'known_peers' && [...reply.peers].sort(),
      net.honest.map((p) => p.advertised).sort(),
    );
    assert.equal(reply.type === 'known_peers' && reply.nodeId, net.victim.nodeId);
    assert.equal((await connected).direction, 'inbound');
    await assertStillServing(net);
  });

  test('a peer of the original gets no known_peers when the victim knows nobody else', async (t) => {
    const lonely = await lonelyPeer(t);
    const original = new OriginalDouble({ connect: lonely.advertised, periodMs: 200 });
    t.after(() => original.stop());
    await original.start();
    await nextEvent(lonely, 'connected', (e) => e.peer === original.advertised);
    // the first frame it gets over its link is gossip: no (empty) known_peers came before it
    const overLink = () => original.received.filter((m) => m.from === lonely.advertised);
    await original.until(() => overLink().length > 0, 'a frame over the link', WAIT_TIMEOUT_MS);
    assert.equal(overLink()[0]?.type, 'random_message');
    assert.deepEqual(
      overLink().filter((m) => m.type === 'known_peers'),
      [],
    );
  });

  test('a peer of ours always gets a known_peers reply, even an empty one', async (t) => {
    const lonely = await lonelyPeer(t);
    const client = await RawClient.open(t, lonely.port);
    await client.write(
      encodeMessage({ type: 'public_address', address: '127.0.0.1:1', nodeId: 'ab'.repeat(16) }),
    );
    const reply = await client.frame();
    assert.deepEqual(reply, {
      type: 'known_peers',
      peers: [],
      nodeId: lonely.nodeId,
      features: [
        'exchange',
        'goodbye',
        'proof',
        'heartbeat',
        'inline-proof',
        'introduce',
        'relay-proof',
      ],
    });
  });

  test('two frames glued in one write are both processed', async (t) => {
    const net = await network(t);
    const address = await accomplice(t);
    const events = record(net.victim, t);
    const client = await RawClient.open(t, net.victim.port);
    const received = nextEvent(net.victim, 'message-received', (e) => e.text === 'GluedFrame');
    await client.write(
      Buffer.concat([
        encodeMessage({ type: 'public_address', address }),
        encodeMessage({ type: 'random_message', text: 'GluedFrame' }),
      ]),
    );
    assert.equal((await received).peer, address);
    const connectedAt = events.findIndex((e) => e.type === 'connected' && e.peer === address);
    const receivedAt = events.findIndex(
      (e) => e.type === 'message-received' && e.text === 'GluedFrame',
    );
    assert.ok(connectedAt >= 0 && connectedAt < receivedAt, 'connected, then the message');
    assert.equal((await client.frame()).type, 'known_peers');
    assert.equal(client.socket.destroyed, false);
    await assertStillServing(net);
  });

  test('a frame split across writes in the middle of a glued pair is processed', async (t) => {
    const net = await network(t);
    const address = await accomplice(t);
    const client = await RawClient.open(t, net.victim.port);
    const stream = Buffer.concat([
      encodeMessage({ type: 'public_address', address }),
      encodeMessage({ type: 'random_message', text: 'SplitFrame' }),
      encodeMessage({ type: 'random_message', text: 'LastFrame1' }),
    ]);
    const texts: string[] = [];
    const collect = net.victim.events.subscribe((e: PeerEvent) => {
      if (e.type === 'message-received' && e.peer === address) texts.push(e.text);
    });
    t.after(collect);
    const last = nextEvent(net.victim, 'message-received', (e) => e.text === 'LastFrame1');
    const cut = stream.length - 30;
    await client.write(stream.subarray(0, cut));
    await client.write(stream.subarray(cut));
    await last;
    assert.deepEqual(texts, ['SplitFrame', 'LastFrame1']);
  });
});
