import { createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { FrameDecoder } from '../../src/protocol/frame.js';
import { decodeMessage, type Message } from '../../src/protocol/messages.js';

/**
 * A TCP listener on `host` (port chosen by the system) that hands each accepted socket to
 * `onSocket`; it and every socket it accepted are destroyed when the test ends (a server's close
 * alone would wait for the peers' connections).
 */
export async function listener(
  t: TestContext,
  host: string,
  onSocket: (socket: Socket) => void,
): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const bound = server.address();
  return typeof bound === 'object' && bound !== null ? bound.port : 0;
}

/** Hands every valid message that arrives on `socket` to `onMessage`, in order (invalid frames are skipped). */
export function onMessages(socket: Socket, onMessage: (message: Message) => void): void {
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      const decoded = decodeMessage(frame);
      if (decoded.ok) onMessage(decoded.value);
    }
  });
}
