import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { reason } from '../src/core/reasons.js';
import { Connection } from '../src/peer/connection.js';
import { FrameDecoder } from '../src/protocol/frame.js';
import { decodeMessage } from '../src/protocol/messages.js';

/** Texts of the gossip frames that arrive on `socket`, until `count` have come. */
function receive(socket: Socket, count: number): Promise<string[]> {
  const decoder = new FrameDecoder();
  const texts: string[] = [];
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        const decoded = decodeMessage(frame);
        if (decoded.ok && decoded.value.type === 'random_message') texts.push(decoded.value.text);
      }
      if (texts.length >= count) resolve(texts);
    });
  });
}

test('a link paced as a peer of the original sends what waited first, in order, once its reply shows one of ours', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: address.port });
  await once(client, 'connect');
  const [remote] = await accepted;
  const arrived = receive(remote, 4);
  const connection = new Connection(client, 'outbound', {
    message: () => {},
    invalid: () => {},
    close: () => {},
  });
  try {
    // A minute between frames: without the pacing ending, 'b' and 'c' would wait that long.
    connection.pace(60_000);
    for (const text of ['a', 'b', 'c']) connection.send({ type: 'random_message', text });
    connection.pace(0);
    connection.send({ type: 'random_message', text: 'd' });
    assert.deepEqual(await arrived, ['a', 'b', 'c', 'd']);
  } finally {
    connection.destroy(reason('STOPPING', 'test over'));
    remote.destroy();
    server.close();
  }
});
