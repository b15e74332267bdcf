import type { TestContext } from 'node:test';
import { findFreePortRange } from '../../src/emulator/bootstrap.js';
import { Peer, type PeerOptions } from '../../src/peer/peer.js';

/** Options every test peer shares: loopback only, short gossip period. */
export const TEST_PEER: PeerOptions = { bindHost: '127.0.0.1', port: 0, periodMs: 200 };

/** Starts a peer on a free port; `connect` is the peer to join through, if any. */
export async function startPeer(connect?: Peer, options: PeerOptions = {}): Promise<Peer> {
  const peer = new Peer({
    ...TEST_PEER,
    ...(connect === undefined ? {} : { connect: connect.advertised }),
    ...options,
  });
  await peer.start();
  return peer;
}

/** Stops every peer (each stop closes all its sockets and timers). */
export async function stopAll(peers: Iterable<Peer>): Promise<void> {
  await Promise.all([...peers].map((p) => p.stop()));
}

/**
 * `count` peers on a free port range, each joining its predecessor, all started at one instant
 * (stopped when the test ends).
 */
export async function startChain(
  t: TestContext,
  count: number,
): Promise<{ readonly peers: Peer[]; readonly base: number }> {
  const base = await findFreePortRange(count);
  const peers = Array.from(
    { length: count },
    (_, i) =>
      new Peer({
        ...TEST_PEER,
        port: base + i,
        ...(i === 0 ? {} : { connect: `127.0.0.1:${base + i - 1}` }),
      }),
  );
  t.after(() => stopAll(peers));
  await Promise.all(peers.map((p) => p.start()));
  return { peers, base };
}
