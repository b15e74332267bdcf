/**
 * The shaping layer between a peer and its socket: frames arrive late by the link's latency, in
 * order; across a partition they are held (never lost) and sent after the heal; a dial across a
 * partition is refused at once.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { NetworkMap } from '../src/emulator/faults.js';
import { now } from '../src/peer/clock.js';
import { LinkShaping } from '../src/peer/shaping.js';
import { DEFAULT_SHAPE } from '../src/scenario/model.js';
import { WAIT_TIMEOUT_MS } from './support/wait.js';

/** A listener and a client socket dialed to it, the accepted end collecting what arrives. */
async function pair(): Promise<{
  server: Server;
  client: Socket;
  received: () => Promise<string>;
}> {
  let accepted: (s: Socket) => void = () => {};
  const acceptedSocket = new Promise<Socket>((resolve) => {
    accepted = resolve;
  });
  const server = createServer((s) => accepted(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const remote = await acceptedSocket;
  let text = '';
  remote.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  /** What arrived once `want` characters did (bounded). */
  const received = () => Promise.resolve(text);
  Object.assign(received, { remote });
  return { server, client, received: () => waitFor(() => text, remote) };
}

function waitFor(read: () => string, socket: Socket, length = 3): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nothing arrived')), WAIT_TIMEOUT_MS);
    const check = (): void => {
      if (read().length >= length) {
        clearTimeout(timer);
        socket.off('data', check);
        resolve(read());
      }
    };
    socket.on('data', check);
    check();
  });
}

test('shaped frames arrive after the link latency, in order', async (t) => {
  const { server, client, received } = await pair();
  t.after(() => {
    client.destroy();
    server.close();
  });
  const network = new NetworkMap([]);
  const shaping = new LinkShaping({
    ...network.shaping(0, 1, { ...DEFAULT_SHAPE, latencyMs: 50, jitterMs: 20 }),
  });
  const writer = shaping.attach(client, 'inbound');
  const sentAt = now();
  for (const c of ['a', 'b', 'c']) writer.write(Buffer.from(c));
  assert.equal(await received(), 'abc', 'in order');
  assert.ok(now() - sentAt >= 30, `arrived after ${now() - sentAt} ms (latency 50 ± 20)`);
});

test('across a partition frames are held, not lost, and go out after the heal; dials are refused', async (t) => {
  const { server, client, received } = await pair();
  t.after(() => {
    client.destroy();
    server.close();
  });
  const address = server.address();
  const serverPort = typeof address === 'object' && address !== null ? address.port : 0;
  // Peer 0 (us) and peer 1 (listening on serverPort), in two groups.
  const ports = [1, serverPort];
  const network = new NetworkMap(ports);
  const shaping = new LinkShaping(network.shaping(0, 1, null));
  // Connected before the partition.
  const writer = shaping.attach(client, 'outbound', `127.0.0.1:${serverPort}`);
  network.setGroup(1, 1);
  for (const c of ['x', 'y', 'z']) writer.write(Buffer.from(c));
  assert.equal(writer.queuedBytes, 3, 'held');

  const refused = connect({ host: '127.0.0.1', port: serverPort });
  shaping.attach(refused, 'outbound', `127.0.0.1:${serverPort}`);
  const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
    refused.once('error', resolve),
  );
  assert.equal(error.code, 'EHOSTUNREACH');

  network.heal();
  shaping.update();
  assert.equal(await received(), 'xyz');
  assert.equal(writer.queuedBytes, 0);
});
