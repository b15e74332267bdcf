import { ListenError, Peer } from '../peer/peer.js';
import { serveCommands } from './commands.js';
import type { HostedPeerTask, HostMessage, HostResult } from './messages.js';
import { countTraffic } from './traffic.js';

/**
 * The worker-thread adapter: a piscina task that runs one Peer. It forwards every peer event over
 * the task's port, obeys commands coming in on it, and resolves once the peer has stopped (or
 * could not listen). Many of these tasks share one thread; the peer never knows it is hosted.
 */
export default async function hostPeer({ options, port }: HostedPeerTask): Promise<HostResult> {
  countTraffic();
  const peer = new Peer(options);
  const post = (message: HostMessage): void => port.postMessage(message);
  peer.events.subscribe((event) => post({ type: 'event', event }));

  const stopRequested = serveCommands(port, {
    join: (address) => peer.join(address),
    breakLink: (address) => {
      peer.breakLink(address);
    },
  });

  try {
    await peer.start();
  } catch (error) {
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
  await peer.stop();
  // Closing after the last event: the host's 'close' comes after every message posted before it.
  port.close();
  return { outcome: 'stopped' };
}
