import { meterPeer } from '../metrics/thread-bytes.js';
import { countTraffic } from '../metrics/traffic.js';
import { isOverlayOptions, OverlayPeer } from '../peer/overlay-peer.js';
import { ListenError, Peer } from '../peer/peer.js';
import { serveCommands } from './commands.js';
import type { HostedPeerTask, HostMessage, HostResult } from './messages.js';

/**
 * The worker-thread adapter: a piscina task that runs one Peer. It forwards every peer event over
 * the task's port, obeys commands coming in on it, and resolves once the peer has stopped (or
 * could not listen). Many of these tasks share one thread; the peer never knows it is hosted.
 */
export default async function hostPeer({
  options,
  port,
  meterBytes,
}: HostedPeerTask): Promise<HostResult> {
  countTraffic();
  const peer = isOverlayOptions(options) ? new OverlayPeer(options) : new Peer(options);
  const post = (message: HostMessage): void => port.postMessage(message);
  const metered = meterBytes
    ? meterPeer((bytesIn, bytesOut) => post({ type: 'bytes', bytesIn, bytesOut }))
    : undefined;
  const as = <T>(fn: () => T): T => (metered === undefined ? fn() : metered.run(fn));
  peer.events.subscribe((event) => post({ type: 'event', event }));

  let killed = false;
  const stopRequested = serveCommands(port, {
    // Sockets a command opens belong to this peer's byte meter too.
    join: (address) => as(() => peer.join(address)),
    breakLink: (address) => {
      as(() => peer.breakLink(address));
    },
    pauseGossip: () => peer.pauseGossip(),
    broadcast: () => as(() => peer.gossip()),
    counters: () => {
      if (peer instanceof OverlayPeer) peer.reportCounters();
    },
    kill: () => {
      killed = true;
    },
    reshape: (shape) => {
      if (peer instanceof Peer) peer.reshape(shape);
    },
  });

  try {
    await as(() => peer.start());
  } catch (error) {
    metered?.leave();
    port.close();
    if (error instanceof ListenError) {
      return {
        outcome: 'listen-failed',
        code: error.code,
        address: error.address,
        message: error.message,
      };
    }
    throw error;
  }
  await stopRequested;
  if (peer instanceof OverlayPeer) await peer.stop(!killed);
  else await (killed ? peer.kill() : peer.stop());
  metered?.leave();
  // Closing after the last event: the host's 'close' comes after every message posted before it.
  port.close();
  return { outcome: 'stopped' };
}
