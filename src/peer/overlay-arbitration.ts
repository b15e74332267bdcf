import { reason } from '../core/reasons.js';
import { Feature } from '../protocol/messages.js';
import type { Connection } from './connection.js';

/**
 * Of two identified connections to one node, the one both ends keep: the one dialed by the
 * smaller node id (both ends compute the same), or the newer of two dialed the same way (a
 * reconnect racing its predecessor's close).
 */
export function keptConnection(
  current: Connection,
  candidate: Connection,
  ownId: string,
): Connection {
  if (current.direction === candidate.direction) return candidate;
  const remoteId = candidate.identity?.nodeId ?? '';
  const outbound = current.direction === 'outbound' ? current : candidate;
  const inbound = outbound === current ? candidate : current;
  return ownId < remoteId ? outbound : inbound;
}

/**
 * Closes every connection and resolves once all have closed: `graceful` sends a goodbye to those
 * that understand one and lets what is queued flush (destroying what is left after `graceMs`);
 * otherwise every socket is destroyed at once, as a crash would leave them.
 */
export async function closeAll(
  connections: ReadonlySet<Connection>,
  graceful: boolean,
  graceMs: number,
): Promise<void> {
  const stopping = reason('STOPPING', 'this peer is stopping');
  const closed = [...connections].map(
    (c) =>
      new Promise<void>((resolve) =>
        c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()),
      ),
  );
  for (const connection of connections) {
    if (!graceful) {
      connection.destroy(stopping);
      continue;
    }
    if (connection.identity?.features.has(Feature.goodbye)) connection.send({ type: 'goodbye' });
    connection.close(stopping);
  }
  const grace = setTimeout(() => {
    for (const connection of connections) connection.destroy(stopping);
  }, graceMs);
  await Promise.all(closed);
  clearTimeout(grace);
}
