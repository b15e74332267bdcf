import type { MessagePort } from 'node:worker_threads';
import { meterPeer } from '../metrics/thread-bytes.js';
import { countTraffic } from '../metrics/traffic.js';
import { isOverlayOptions, OverlayPeer } from '../peer/overlay-peer.js';
import { ListenError, Peer } from '../peer/peer.js';
import { batcherOfThread } from './batcher.js';
import { serveCommands } from './commands.js';
import type { BatchedNotice, HostedPeerTask, HostMessage, HostResult } from './messages.js';

/**
 * The worker-thread adapter: a piscina task that runs one Peer. It forwards every peer event over
 * the task's port, obeys commands coming in on it, and resolves once the peer has stopped (or
 * could not listen). Many of these tasks share one thread; the peer never knows it is hosted.
 */
export default async function hostPeer({
  options,
  port,
  meterBytes,
  key,
}: HostedPeerTask): Promise<HostResult> {
  countTraffic();
  const peer = isOverlayOptions(options) ? new OverlayPeer(options) : new Peer(options);
  let post = (message: HostMessage): void => port.postMessage(message);
  /** Closes the task's way to the host: after its last message, whichever way they went. */
  let end = (): void => port.close();
  if (key !== undefined) {
    let handed: MessagePort | undefined;
    const batcher = batcherOfThread((hostEnd) => {
      handed = hostEnd;
    });
    port.postMessage(
      { type: 'batched', port: handed } satisfies BatchedNotice,
      handed === undefined ? [] : [handed],
    );
    post = (message) => batcher.post(key, message);
    end = () => {
      batcher.post(key, { type: 'end' });
      batcher.flush();
      port.close();
    };
  }
  const metered = meterBytes
    ? meterPeer((bytesIn, bytesOut) => post({ type: 'bytes', bytesIn, bytesOut }))
    : undefined;
  const as = <T>(fn: () => T): T => (metered === undefined ? fn() : metered.run(fn));
  peer.events.subscribe((event) => post({ type: 'event', event }));

  let killed = false;
  const stopRequested = serveCommands(
    port,
    {
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
      reshape: (shape) => peer.reshape(shape),
    },
    post,
  );

  try {
    await as(() => peer.start());
  } catch (error) {
    metered?.leave();
    end();
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
  // Ending after the last event: the host's 'close' (or `end`) comes after every message before it.
  end();
  return { outcome: 'stopped' };
}
