import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleLine, formatElapsed, jsonLine } from '../src/host/console.js';
import type { PeerEvent } from '../src/peer/events.js';

const START = 1_700_000_000_000;
const at = (ms: number): number => START + ms;

test('elapsed time is HH:MM:SS, floored, hours growing past 99', () => {
  assert.equal(formatElapsed(0), '00:00:00');
  assert.equal(formatElapsed(999), '00:00:00');
  assert.equal(formatElapsed(61_000), '00:01:01');
  assert.equal(formatElapsed((3 * 3600 + 2 * 60 + 1) * 1000), '03:02:01');
  assert.equal(formatElapsed(100 * 3600 * 1000), '100:00:00');
  assert.equal(formatElapsed(-5), '00:00:00');
});

test('console lines: the original three, then ours', () => {
  const cases: Array<[PeerEvent, string | undefined]> = [
    [
      {
        type: 'listening',
        bound: '0.0.0.0:8080',
        advertised: '127.0.0.1:8080',
        nodeId: 'x',
        at: at(10),
      },
      '# 00:00:00 - My address is: 0.0.0.0:8080',
    ],
    [
      { type: 'connected', peer: '127.0.0.1:8081', direction: 'inbound', at: at(2_500) },
      '# 00:00:02 - Connected to the peer at: 127.0.0.1:8081',
    ],
    [
      { type: 'message-received', peer: '127.0.0.1:8080', text: 'BhGkNWbA1g', at: at(17_000) },
      '# 00:00:17 - Received message [BhGkNWbA1g] from: 127.0.0.1:8080',
    ],
    [
      {
        type: 'disconnected',
        peer: '127.0.0.1:8081',
        reason: 'the peer said goodbye',
        reconnecting: false,
        at: at(0),
      },
      '# 00:00:00 - Disconnected from the peer at: 127.0.0.1:8081 (the peer said goodbye)',
    ],
    [
      {
        type: 'disconnected',
        peer: '127.0.0.1:8081',
        reason: 'closed by the peer',
        reconnecting: true,
        at: at(0),
      },
      '# 00:00:00 - Disconnected from the peer at: 127.0.0.1:8081 (closed by the peer); reconnecting',
    ],
    [
      {
        type: 'dial-failed',
        peer: '127.0.0.1:9',
        reason: 'ECONNREFUSED',
        retryInMs: 1_234,
        at: at(0),
      },
      '# 00:00:00 - Could not connect to 127.0.0.1:9: ECONNREFUSED; retrying in 1.2s',
    ],
    [
      {
        type: 'dial-failed',
        peer: '127.0.0.1:9',
        reason: 'ECONNREFUSED',
        retryInMs: 5_000,
        at: at(0),
      },
      '# 00:00:00 - Could not connect to 127.0.0.1:9: ECONNREFUSED; retrying in 5s',
    ],
    [
      { type: 'dial-failed', peer: '127.0.0.1:9', reason: 'ECONNREFUSED', at: at(0) },
      '# 00:00:00 - Could not connect to 127.0.0.1:9: ECONNREFUSED; giving up',
    ],
    [
      { type: 'rejected', remote: '127.0.0.1:50000', reason: 'bad frame', at: at(0) },
      '# 00:00:00 - Closed the connection from 127.0.0.1:50000: bad frame',
    ],
    [
      { type: 'error', message: 'listening socket: EMFILE', at: at(0) },
      '# 00:00:00 - Error: listening socket: EMFILE',
    ],
    [{ type: 'address-proven', peer: '127.0.0.1:8081', ms: 3, at: at(0) }, undefined],
    [{ type: 'message-sent', text: 'BhGkNWbA1g', peers: 2, at: at(0) }, undefined],
    [{ type: 'stopped', at: at(0) }, undefined],
  ];
  for (const [event, expected] of cases) assert.equal(consoleLine(event, START), expected);
});

test('a JSON line is the event as it is plus elapsedMs', () => {
  const event: PeerEvent = { type: 'message-sent', text: 'abc', peers: 3, at: at(1_500.4) };
  assert.deepEqual(JSON.parse(jsonLine(event, START)), { ...event, elapsedMs: 1_500 });
});
