import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  formatHostPort,
  normalizeAddress,
  parseHost,
  parseHostPort,
  parsePort,
} from '../src/protocol/address.js';
import type { AddressErrorCode, DecodeErrorCode, ParseResult } from '../src/protocol/errors.js';
import { encodeFrame } from '../src/protocol/frame.js';
import {
  FRAME_HEADER_BYTES,
  MAX_ADDRESS_LENGTH,
  MAX_GOSSIP_TEXT_LENGTH,
  MAX_PEERS_PER_MESSAGE,
} from '../src/protocol/limits.js';
import { decodeMessage, encodeMessage, type Message } from '../src/protocol/messages.js';

/** Frames captured from the original naive-peer on loopback (a copy of the reference's capture). */
const SAMPLES_FILE = fileURLToPath(new URL('./fixtures/wire-samples.txt', import.meta.url));

/** Every frame of the captured samples, as bytes, with the JSON the capture says it holds. */
function samples(): Array<{ frame: Buffer; json: string }> {
  return readFileSync(SAMPLES_FILE, 'utf8')
    .split('\n')
    .filter((line) => /^[0-9a-f]{8}/.test(line))
    .map((line) => {
      const [hex = '', comment = ''] = line.split('#');
      return {
        frame: Buffer.from(hex.trim(), 'hex'),
        json: comment.slice(comment.indexOf('{')).trim(),
      };
    });
}

function body(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}

function decodeOk(value: unknown): Message {
  const result = decodeMessage(body(value));
  assert.ok(
    result.ok,
    `expected ${JSON.stringify(value)} to decode: ${result.ok ? '' : result.error}`,
  );
  return result.value;
}

/** The refusal of a body that must not decode: its code, and a message for people. */
function decodeError(bytes: Buffer): { code: DecodeErrorCode; error: string } {
  const result = decodeMessage(bytes);
  assert.ok(!result.ok, `expected ${bytes.toString('utf8').slice(0, 80)} to be refused`);
  assert.ok(result.error.length > 0);
  return { code: result.code, error: result.error };
}

describe('the captured frames of the original', () => {
  const captured = samples();

  test('are three frames whose header is the length of their body', () => {
    assert.equal(captured.length, 3);
    for (const { frame, json } of captured) {
      assert.equal(frame.readUInt32BE(0), frame.length - FRAME_HEADER_BYTES);
      assert.equal(frame.subarray(FRAME_HEADER_BYTES).toString('utf8'), json);
    }
  });

  test('decode to the fields they carry', () => {
    const decoded = captured.map(({ frame }) => {
      const result = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.ok(result.ok, result.ok ? '' : result.error);
      return result.value;
    });
    assert.deepEqual(decoded, [
      { type: 'public_address', address: '127.0.0.1:18399' },
      { type: 'known_peers', peers: ['127.0.0.1:18381'] },
      { type: 'random_message', text: 'tfocNBrZlo' },
    ]);
  });

  test('re-encode to exactly the same bytes', () => {
    for (const { frame } of captured) {
      const result = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.ok(result.ok);
      assert.deepEqual(encodeMessage(result.value), frame);
    }
  });
});

describe('decodeMessage: what it accepts', () => {
  test('extension fields node_id and features, on both handshake messages', () => {
    const nodeId = '0123456789abcdef0123456789abcdef';
    assert.deepEqual(
      decodeOk({
        type: 'public_address',
        data: { address: '127.0.0.1:1', node_id: nodeId, features: ['exchange', 'goodbye'] },
      }),
      { type: 'public_address', address: '127.0.0.1:1', nodeId, features: ['exchange', 'goodbye'] },
    );
    assert.deepEqual(
      decodeOk({ type: 'known_peers', data: { peers: [], node_id: nodeId, features: [] } }),
      { type: 'known_peers', peers: [], nodeId, features: [] },
    );
  });

  test('unknown fields, inside data and beside it, are ignored', () => {
    assert.deepEqual(
      decodeOk({
        type: 'random_message',
        data: { data: 'abc', ttl: 3, extra: { nested: [1] } },
        version: 2,
      }),
      { type: 'random_message', text: 'abc' },
    );
    assert.deepEqual(
      decodeOk({ type: 'public_address', data: { address: '127.0.0.1:9', future: 'x' } }),
      { type: 'public_address', address: '127.0.0.1:9' },
    );
  });

  test('unknown feature names are accepted (they are for newer peers)', () => {
    const message = decodeOk({
      type: 'public_address',
      data: { address: 'example.com:80', node_id: 'abcdef01', features: ['teleport'] },
    });
    assert.deepEqual(message, {
      type: 'public_address',
      address: 'example.com:80',
      nodeId: 'abcdef01',
      features: ['teleport'],
    });
  });

  test('addresses are stored in canonical form', () => {
    assert.deepEqual(
      decodeOk({
        type: 'known_peers',
        data: { peers: ['[0:0:0:0:0:0:0:1]:80', 'LocalHost:8080', '127.0.0.1:00081'] },
      }),
      { type: 'known_peers', peers: ['[::1]:80', 'localhost:8080', '127.0.0.1:81'] },
    );
  });

  test('the goodbye extension and gossip text up to the limit, unicode included', () => {
    assert.deepEqual(decodeOk({ type: 'goodbye', data: {} }), { type: 'goodbye' });
    const long = 'é'.repeat(MAX_GOSSIP_TEXT_LENGTH);
    assert.deepEqual(decodeOk({ type: 'random_message', data: { data: long } }), {
      type: 'random_message',
      text: long,
    });
  });

  test('a list of exactly MAX_PEERS_PER_MESSAGE peers', () => {
    const peers = Array.from(
      { length: MAX_PEERS_PER_MESSAGE },
      (_, i) => `10.0.${i >> 8}.${i & 255}:1`,
    );
    const message = decodeOk({ type: 'known_peers', data: { peers } });
    assert.equal(message.type === 'known_peers' && message.peers.length, MAX_PEERS_PER_MESSAGE);
  });
});

describe('encodeMessage', () => {
  test('round-trips every message type, extensions included', () => {
    const messages: Message[] = [
      { type: 'public_address', address: '[::1]:8080', nodeId: 'ab'.repeat(16), features: ['x'] },
      { type: 'known_peers', peers: ['127.0.0.1:1', 'example.org:2'], nodeId: 'cd'.repeat(16) },
      { type: 'known_peers', peers: [] },
      { type: 'random_message', text: 'BhGkNWbA1g' },
      { type: 'goodbye' },
    ];
    for (const message of messages) {
      const frame = encodeMessage(message);
      assert.equal(frame.readUInt32BE(0), frame.length - FRAME_HEADER_BYTES);
      const result = decodeMessage(frame.subarray(FRAME_HEADER_BYTES));
      assert.ok(result.ok);
      assert.deepEqual(result.value, message);
    }
  });

  test('writes the original field names, in its order', () => {
    assert.equal(
      encodeMessage({ type: 'public_address', address: '127.0.0.1:1', nodeId: 'abcdef01' })
        .subarray(FRAME_HEADER_BYTES)
        .toString(),
      '{"type":"public_address","data":{"address":"127.0.0.1:1","node_id":"abcdef01"}}',
    );
  });
});

describe('decodeMessage: hostile bodies are refused with a code', () => {
  const reject = (what: string, bytes: Buffer, code: DecodeErrorCode) =>
    test(what, () => assert.equal(decodeError(bytes).code, code));

  reject('invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'NOT_UTF8');
  reject(
    'an IPv6 address with a zone id in public_address',
    body('{"type":"public_address","data":{"address":"[fe80::1%eth0]:8080"}}'),
    'BAD_ADDRESS',
  );
  reject(
    'a zone id in a peer list',
    body('{"type":"known_peers","data":{"peers":["[fe80::1%eth0]:8080"]}}'),
    'BAD_ADDRESS',
  );
  reject(
    'an overlong UTF-8 encoding inside a string',
    Buffer.concat([
      body('{"type":"random_message","data":{"data":"'),
      Buffer.from([0xc0, 0xaf]),
      body('"}}'),
    ]),
    'NOT_UTF8',
  );
  reject(
    'a lone UTF-16 surrogate encoded in UTF-8',
    Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
    'NOT_UTF8',
  );
  reject('invalid JSON', body('{"type":"random_message",'), 'NOT_JSON');
  reject('an empty body', Buffer.alloc(0), 'NOT_JSON');
  for (const value of ['null', '[]', '"public_address"', '42', 'true']) {
    reject(`a JSON ${value} instead of an object`, body(value), 'NOT_ENVELOPE');
  }
  reject('an object without data', body({ type: 'random_message' }), 'NOT_ENVELOPE');
  reject('data that is a list', body({ type: 'random_message', data: ['x'] }), 'NOT_ENVELOPE');
  reject('data that is a string', body({ type: 'random_message', data: 'x' }), 'NOT_ENVELOPE');
  reject('an unknown type', body({ type: 'teleport', data: {} }), 'UNKNOWN_TYPE');
  reject('a missing type', body({ data: {} }), 'UNKNOWN_TYPE');
  reject('a type that is not a string', body({ type: 1, data: {} }), 'UNKNOWN_TYPE');
  reject(
    'a type differing in case',
    body({ type: 'Random_Message', data: { data: 'x' } }),
    'UNKNOWN_TYPE',
  );
  test('an unknown type name that is very long is quoted only in part', () => {
    const refusal = decodeError(body({ type: 'x'.repeat(10_000), data: {} }));
    assert.equal(refusal.code, 'UNKNOWN_TYPE');
    assert.ok(refusal.error.length <= 80, `${refusal.error.length} characters`);
  });

  // wrong field types
  reject(
    'public_address without address',
    body({ type: 'public_address', data: {} }),
    'BAD_ADDRESS',
  );
  reject(
    'a numeric address',
    body({ type: 'public_address', data: { address: 8080 } }),
    'BAD_ADDRESS',
  );
  reject(
    'an address without port',
    body({ type: 'public_address', data: { address: '127.0.0.1' } }),
    'BAD_ADDRESS',
  );
  reject(
    'an address with port 0',
    body({ type: 'public_address', data: { address: '127.0.0.1:0' } }),
    'BAD_ADDRESS',
  );
  reject(
    'an address that is a list',
    body({ type: 'public_address', data: { address: ['127.0.0.1:1'] } }),
    'BAD_ADDRESS',
  );
  reject('random_message without data', body({ type: 'random_message', data: {} }), 'BAD_TEXT');
  reject(
    'gossip text that is a number',
    body({ type: 'random_message', data: { data: 5 } }),
    'BAD_TEXT',
  );
  reject('empty gossip text', body({ type: 'random_message', data: { data: '' } }), 'BAD_TEXT');

  // peer lists
  reject('known_peers without peers', body({ type: 'known_peers', data: {} }), 'NOT_A_LIST');
  reject(
    'peers that is a string',
    body({ type: 'known_peers', data: { peers: '127.0.0.1:1' } }),
    'NOT_A_LIST',
  );
  reject(
    'peers that is an object',
    body({ type: 'known_peers', data: { peers: { 0: '127.0.0.1:1' } } }),
    'NOT_A_LIST',
  );
  // every entry of a peer list must be host:port
  const badEntries: Array<[string, unknown[]]> = [
    ['a peer that is a number', [8080]],
    ['a peer that is null', ['127.0.0.1:1', null]],
    ['a peer without port', ['127.0.0.1']],
    ['a peer with a bad port', ['127.0.0.1:70000']],
    ['a peer with a URL', ['http://a:1']],
    ['a peer with a space', ['a b:1']],
    ['a peer address over MAX_ADDRESS_LENGTH', [`${'a.'.repeat(MAX_ADDRESS_LENGTH)}a:1`]],
  ];
  for (const [what, peers] of badEntries) {
    reject(what, body({ type: 'known_peers', data: { peers } }), 'BAD_ADDRESS');
  }
  reject(
    'over MAX_PEERS_PER_MESSAGE peers',
    body({
      type: 'known_peers',
      data: { peers: Array.from({ length: MAX_PEERS_PER_MESSAGE + 1 }, () => '127.0.0.1:1') },
    }),
    'TOO_MANY_PEERS',
  );

  // gossip text
  for (const [name, text] of [
    ['a newline', 'abc\ndef'],
    ['a carriage return', 'abc\rdef'],
    ['an escape sequence', '\u001b[2J'],
    ['a NUL', 'a\u0000'],
    ['a DEL', 'a\u007f'],
    ['a C1 control', 'a\u009b31m'],
    ['a bidi override', 'a\u202eb'],
    ['a line separator', 'a\u2028b'],
  ] as const) {
    reject(
      `gossip text with ${name}`,
      body({ type: 'random_message', data: { data: text } }),
      'BAD_TEXT',
    );
  }
  reject(
    'gossip text over MAX_GOSSIP_TEXT_LENGTH',
    body({ type: 'random_message', data: { data: 'a'.repeat(MAX_GOSSIP_TEXT_LENGTH + 1) } }),
    'BAD_TEXT',
  );

  // identity extensions
  for (const [name, nodeId] of [
    ['a number', 1234567890],
    ['not hex', 'zzzzzzzzzzzz'],
    ['upper-case hex', 'ABCDEF0123'],
    ['too short', 'abc'],
    ['too long', 'a'.repeat(65)],
    ['empty', ''],
    ['null', null],
  ] as const) {
    reject(
      `a node_id that is ${name}`,
      body({ type: 'public_address', data: { address: '127.0.0.1:1', node_id: nodeId } }),
      'BAD_NODE_ID',
    );
  }
  reject(
    'a bad node_id on known_peers',
    body({ type: 'known_peers', data: { peers: [], node_id: 'not-hex!' } }),
    'BAD_NODE_ID',
  );
  for (const [name, features] of [
    ['a string', 'exchange'],
    ['a list of numbers', [1, 2]],
    ['a list of 17 names', Array.from({ length: 17 }, (_, i) => `f${i}`)],
    ['a list holding a long name', ['x'.repeat(33)]],
  ] as const) {
    reject(
      `features that is ${name}`,
      body({ type: 'public_address', data: { address: '127.0.0.1:1', features } }),
      'BAD_FEATURES',
    );
  }
});

describe('address.ts', () => {
  const ok = (text: string, host: string, port: number) => {
    const result = parseHostPort(text);
    assert.ok(result.ok, `${text}: ${result.ok ? '' : result.error}`);
    assert.deepEqual(result.value, { host, port });
  };
  const bad = (text: string, code: AddressErrorCode) => {
    const result = parseHostPort(text);
    assert.ok(!result.ok, `${text} should be refused`);
    assert.equal(result.code, code, `${text}: ${result.error}`);
    assert.equal(normalizeAddress(text), undefined);
  };

  test('parseHostPort: IPv4', () => {
    ok('127.0.0.1:8080', '127.0.0.1', 8080);
    ok('0.0.0.0:1', '0.0.0.0', 1);
    ok('255.255.255.255:65535', '255.255.255.255', 65535);
  });

  test('parseHostPort: bracketed IPv6, in canonical form', () => {
    ok('[::1]:8080', '::1', 8080);
    ok('[0:0:0:0:0:0:0:1]:8080', '::1', 8080);
    ok('[2001:DB8:0:0:0:0:0:1]:80', '2001:db8::1', 80);
    ok('[::ffff:127.0.0.1]:80', '::ffff:7f00:1', 80);
    assert.equal(normalizeAddress('[0:0::1]:8080'), '[::1]:8080');
    assert.equal(formatHostPort({ host: '::1', port: 1 }), '[::1]:1');
  });

  test('parseHostPort: host names, lower-cased', () => {
    ok('localhost:8080', 'localhost', 8080);
    ok('Example.COM:443', 'example.com', 443);
    ok('my-host.local.:1', 'my-host.local', 1); // a trailing dot names the same host
    ok('peer-1:2', 'peer-1', 2);
    assert.equal(normalizeAddress('LOCALHOST:8080'), 'localhost:8080');
  });

  test('parseHostPort: every numeric IPv4 spelling the resolver accepts becomes the dotted quad', () => {
    ok('2130706433:8080', '127.0.0.1', 8080);
    ok('127.1:8080', '127.0.0.1', 8080);
    ok('127.0.1:8080', '127.0.0.1', 8080);
    ok('0x7f.0.0.1:8080', '127.0.0.1', 8080);
    ok('0x7F000001:8080', '127.0.0.1', 8080);
    ok('0177.0.0.1:8080', '127.0.0.1', 8080);
    ok('017700000001:1', '127.0.0.1', 1);
    ok('127.0.0.1.:1', '127.0.0.1', 1);
    assert.equal(normalizeAddress('2130706433:8080'), '127.0.0.1:8080');
  });

  test('parseHostPort: numbers that are no IPv4 address are refused, not taken as names', () => {
    bad('4294967296:1', 'NOT_IPV4');
    bad('256.1.1.1:1', 'NOT_IPV4');
    bad('1.2.3.4.5:1', 'NOT_IPV4');
    bad('0x100000000:1', 'NOT_IPV4');
    bad('peer.123:1', 'NOT_IPV4');
    bad('08.0.0.1:1', 'NOT_IPV4'); // 08 is not octal
  });

  test('parseHostPort: bad ports', () => {
    bad('127.0.0.1:0', 'PORT_OUT_OF_RANGE');
    bad('127.0.0.1:70000', 'PORT_OUT_OF_RANGE');
    bad('127.0.0.1:65536', 'PORT_OUT_OF_RANGE');
    bad('127.0.0.1:abc', 'NOT_A_PORT');
    bad('127.0.0.1:', 'NOT_A_PORT');
    bad('127.0.0.1:-1', 'NOT_A_PORT');
    bad('127.0.0.1:+80', 'NOT_A_PORT');
    bad('127.0.0.1:8080 ', 'NOT_A_PORT');
    bad('127.0.0.1:123456', 'NOT_A_PORT');
  });

  test('parseHostPort: IPv6 without brackets, and other malformed text', () => {
    bad('::1:8080', 'IPV6_WITHOUT_BRACKETS');
    bad('2001:db8::1:80', 'IPV6_WITHOUT_BRACKETS');
    bad('[::1:8080', 'IPV6_WITHOUT_BRACKETS');
    bad('::1]:8080', 'IPV6_WITHOUT_BRACKETS');
    bad('[127.0.0.1]:80x', 'NOT_A_PORT');
    bad('127.0.0.1', 'NOT_HOST_PORT');
    bad(':8080', 'NOT_HOST_PORT');
    bad('', 'NOT_HOST_PORT');
    bad('-bad-.com:1', 'BAD_HOST_NAME');
    bad('a..b:1', 'BAD_HOST_NAME');
    bad('under_score:1', 'BAD_HOST_NAME');
    bad('[nothost]:1', 'BAD_HOST_NAME');
    bad(`${'a'.repeat(64)}:1`, 'BAD_HOST_NAME');
    bad(`${'a.'.repeat(140)}a:1`, 'ADDRESS_TOO_LONG');
    // A zone id names an interface of the sender's host; it once crashed the URL-based canonicaliser.
    bad('[fe80::1%eth0]:8080', 'ZONE_ID');
    bad('[fe80::1%25lo]:1', 'ZONE_ID');
  });

  const refusal = (result: ParseResult<unknown>) => (result.ok ? 'accepted' : result.code);

  test('parsePort and parseHost', () => {
    assert.deepEqual(parsePort('0', true), { ok: true, value: 0 });
    assert.equal(refusal(parsePort('0')), 'PORT_OUT_OF_RANGE');
    assert.deepEqual(parsePort('65535'), { ok: true, value: 65535 });
    assert.deepEqual(parseHost('[::1]'), { ok: true, value: '::1' });
    assert.deepEqual(parseHost('::1'), { ok: true, value: '::1' });
    assert.deepEqual(parseHost('Peer.Example'), { ok: true, value: 'peer.example' });
    assert.equal(refusal(parseHost('[peer.example]')), 'BAD_HOST_NAME');
  });
});

test('encodeFrame of an encoded message body equals encodeMessage', () => {
  const message: Message = { type: 'random_message', text: 'BhGkNWbA1g' };
  const frame = encodeMessage(message);
  assert.deepEqual(encodeFrame(frame.subarray(FRAME_HEADER_BYTES)), frame);
});
