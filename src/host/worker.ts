import { meterPeer } from '../metrics/thread-bytes.js';
import { ListenError, Peer } from '../peer/peer.js';
import type { HostCommand, HostedPeerTask, HostMessage, HostResult } from './messages.js';

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
  const peer = new Peer(options);
  const post = (message: HostMessage): void => port.postMessage(message);
  const metered = meterBytes
    ? meterPeer((bytesIn, bytesOut) => post({ type: 'bytes', bytesIn, bytesOut }))
    : undefined;
  const as = <T>(fn: () => T): T => (metered === undefined ? fn() : metered.run(fn));
  peer.events.subscribe((event) => post({ type: 'event', event }));

  let requestStop: () => void = () => {};
  let killed = false;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  port.on('message', (command: HostCommand) => as(() => obey(command)));
  const obey = (command: HostCommand): void => {
    switch (command.type) {
      case 'stop':
        requestStop();
        return;
      case 'join':
        peer.join(command.address);
        return;
      case 'break-link':
        peer.breakLink(command.peer);
        return;
      case 'kill':
        killed = true;
        requestStop();
        return;
      case 'reshape':
        peer.reshape(command.shape);
        return;
    }
  };
  // The host went away without a word: stop rather than run forever.
  port.once('close', () => requestStop());

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
  await (killed ? peer.kill() : peer.stop());
  metered?.leave();
  // Closing after the last event: the host's 'close' comes after every message posted before it.
  port.close();
  return { outcome: 'stopped' };
}
