import type { TestContext } from 'node:test';
import { listener } from './server.js';

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
  const port = await listener(t, '127.0.0.1', (socket) => {
    const entry: Accepted = { data: Buffer.alloc(0), closed: false };
    accepted.push(entry);
    socket.on('data', (chunk: Buffer) => {
      entry.data = Buffer.concat([entry.data, chunk]);
    });
    socket.on('close', () => {
      entry.closed = true;
    });
  });
  return { address: `127.0.0.1:${port}`, accepted };
}
