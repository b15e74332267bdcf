import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DecodeErrorCode } from '../src/protocol/errors.js';
import {
  FRAME_HEADER_BYTES,
  MAX_IHAVE_IDS,
  MAX_MESSAGE_ID_LENGTH,
  MAX_SHUFFLE_NODES,
  MAX_WALK_TTL,
} from '../src/protocol/limits.js';
import { decodeMessage, encodeMessage, type Message } from '../src/protocol/messages.js';
import { isOverlayMessage, type OverlayMessage } from '../src/protocol/overlay-messages.js';

const node = (n: number) => ({ id: `${n}`.padStart(8, 'a'), address: `127.0.0.${n}:7000` });

const body = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/** The code of the refusal of a frame that must not decode. */
function decodeError(value: unknown): DecodeErrorCode {
  const result = decodeMessage(body(value));
  assert.ok(!result.ok, `expected ${JSON.stringify(value).slice(0, 80)} to be refused`);
  assert.ok(result.error.length > 0);
  return result.code;
}

describe('overlay frames', () => {
  const samples: OverlayMessage[] = [
    { type: 'hv_join' },
    { type: 'hv_forward_join', peer: node(1), ttl: 6 },
    { type: 'hv_neighbor', priority: 'high' },
    { type: 'hv_neighbor', priority: 'low' },
    { type: 'hv_neighbor_accept' },
    { type: 'hv_disconnect', alive: true },
    { type: 'hv_shuffle', origin: node(1), nodes: [node(2), node(3)], ttl: 0 },
    { type: 'hv_shuffle_reply', nodes: [node(4)] },
    { type: 'pt_gossip', id: 'ab12:7', payload: 'BhGkNWbA1g', hops: 3 },
    { type: 'pt_ihave', ids: [{ id: 'x', hops: 2 }] },
    { type: 'pt_graft', id: 'x' },
    { type: 'pt_graft' },
    { type: 'pt_prune' },
  ];

  for (const message of samples) {
    test(`${message.type} survives encoding on the original's framing`, () => {
      const frame = encodeMessage(message);
      assert.equal(frame.readUInt32BE(0), frame.length - FRAME_HEADER_BYTES);
      const json = JSON.parse(frame.subarray(FRAME_HEADER_BYTES).toString('utf8'));
      assert.equal(json.type, message.type);
      assert.equal(typeof json.data, 'object');
      const decoded = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.value, message);
      assert.ok(isOverlayMessage(decoded.value as Message));
    });
  }

  test('a gossip frame carries its payload in `data`, as random_message does', () => {
    const frame = encodeMessage({ type: 'pt_gossip', id: 'm', payload: 'hi', hops: 1 });
    assert.deepEqual(JSON.parse(frame.subarray(FRAME_HEADER_BYTES).toString()), {
      type: 'pt_gossip',
      data: { id: 'm', data: 'hi', hops: 1 },
    });
  });

  test('the original message types are not overlay messages', () => {
    assert.ok(!isOverlayMessage({ type: 'random_message' }));
  });
});

describe('overlay frames refused at the validation point', () => {
  const cases: Array<[string, unknown, DecodeErrorCode]> = [
    [
      'a shuffle over MAX_SHUFFLE_NODES',
      {
        type: 'hv_shuffle',
        data: {
          origin: node(1),
          nodes: Array.from({ length: MAX_SHUFFLE_NODES + 1 }, (_, i) => node(i + 2)),
          ttl: 1,
        },
      },
      'TOO_MANY_NODES',
    ],
    [
      'an IHAVE over MAX_IHAVE_IDS',
      {
        type: 'pt_ihave',
        data: {
          ids: Array.from({ length: MAX_IHAVE_IDS + 1 }, (_, i) => ({ id: `m${i}`, hops: 1 })),
        },
      },
      'TOO_MANY_IDS',
    ],
    [
      'a walk TTL over MAX_WALK_TTL',
      { type: 'hv_forward_join', data: { peer: node(1), ttl: MAX_WALK_TTL + 1 } },
      'BAD_INTEGER',
    ],
    [
      'a node ref with a bad id',
      { type: 'hv_forward_join', data: { peer: { id: 'XYZ', address: '1.2.3.4:5' }, ttl: 1 } },
      'BAD_NODE_ID',
    ],
    [
      'a node ref with a bad address',
      { type: 'hv_shuffle_reply', data: { nodes: [{ id: 'aaaaaaaa', address: 'nowhere' }] } },
      'BAD_ADDRESS',
    ],
    [
      'a payload with a control character',
      { type: 'pt_gossip', data: { id: 'm', data: 'a\u001b[2Jb', hops: 1 } },
      'BAD_TEXT',
    ],
    [
      'an id longer than MAX_MESSAGE_ID_LENGTH',
      { type: 'pt_graft', data: { id: 'x'.repeat(MAX_MESSAGE_ID_LENGTH + 1) } },
      'BAD_MESSAGE_ID',
    ],
    [
      'a negative hop count',
      { type: 'pt_gossip', data: { id: 'm', data: 'x', hops: -1 } },
      'BAD_INTEGER',
    ],
    [
      'a fractional TTL',
      { type: 'hv_shuffle', data: { origin: node(1), nodes: [], ttl: 1.5 } },
      'BAD_INTEGER',
    ],
    ['an unknown priority', { type: 'hv_neighbor', data: { priority: 'urgent' } }, 'BAD_FIELD'],
    ['a disconnect without alive', { type: 'hv_disconnect', data: {} }, 'BAD_FIELD'],
  ];
  for (const [what, value, code] of cases) {
    test(`refuses ${what}`, () => assert.equal(decodeError(value), code));
  }

  test('an unknown type is still reported as unknown', () => {
    assert.equal(decodeError({ type: 'hv_teleport', data: {} }), 'UNKNOWN_TYPE');
  });
});
