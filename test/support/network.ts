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
