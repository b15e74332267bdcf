import { createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/** One connection a silent listener accepted: what it was sent, and whether it closed. */
export interface Accepted {
  data: Buffer;
  closed: boolean;
}

/**
 * A listener on 127.0.0.1 that never says anything (as a peer of the original that knows nobody),
 * recording each connection it accepts: who dials an address is counted there, from outside the
 * dialer. Closed, with its connections, when the test ends.
 */
export async function silentListener(
  t: TestContext,
): Promise<{ address: string; accepted: Accepted[] }> {
  const accepted: Accepted[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const entry: Accepted = { data: Buffer.alloc(0), closed: false };
    accepted.push(entry);
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      entry.data = Buffer.concat([entry.data, chunk]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      entry.closed = true;
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  return { address: `127.0.0.1:${port}`, accepted };
}
