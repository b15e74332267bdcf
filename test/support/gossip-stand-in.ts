import { BroadcastChannel } from 'node:worker_threads';
import { serveCommands } from '../../src/host/commands.js';
import type { HostedPeerTask, HostMessage, HostResult } from '../../src/host/messages.js';
import { now } from '../../src/peer/clock.js';
import type { PeerEvent, PeerEventInit } from '../../src/peer/events.js';

/** How long a gossip message takes to reach the stand-ins: longer than the tests' windows' tail. */
export const DELIVERY_MS = 150;
const GOSSIP_EVERY_MS = 20;
/** One emulation at a time per test process: one name is enough. */
const CHANNEL = 'naive-peer-gossip-stand-in';

/**
 * A stand-in peer for testing the emulator's measurement window without sockets: linked to every
 * address it is told to join, it gossips every 20 ms over a BroadcastChannel, and each message
 * reaches the stand-ins linked to its sender DELIVERY_MS later, so messages are in flight whenever
 * the window closes. Deliveries still pending when it stops are lost, as with a real peer.
 */
export default async function gossipStandIn({
  options,
  port,
}: HostedPeerTask): Promise<HostResult> {
  const self = `127.0.0.1:${options.port ?? 0}`;
  const linked = new Set<string>();
  const pending = new Set<NodeJS.Timeout>();
  const channel = new BroadcastChannel(CHANNEL);
  const post = (message: HostMessage): void => port.postMessage(message);
  const emit = (event: PeerEventInit): void =>
    post({ type: 'event', event: { ...event, at: now() } as PeerEvent });

  channel.onmessage = (message) => {
    const { from, text } = (message as { data: { from: string; text: string } }).data;
    if (!linked.has(from)) return;
    const timer = setTimeout(() => {
      pending.delete(timer);
      emit({ type: 'message-received', peer: from, text });
    }, DELIVERY_MS);
    pending.add(timer);
  };
  let sequence = 0;
  const gossip = setInterval(() => {
    if (linked.size === 0) return;
    const text = `${self}#${sequence++}`;
    channel.postMessage({ from: self, text });
    emit({ type: 'message-sent', text, peers: linked.size });
  }, GOSSIP_EVERY_MS);

  const stopRequested = serveCommands(port, {
    join(address) {
      linked.add(address);
      emit({ type: 'connected', peer: address, direction: 'outbound' });
    },
    breakLink() {},
    pauseGossip: () => clearInterval(gossip),
  });
  emit({ type: 'listening', bound: self, advertised: self, nodeId: '' });
  await stopRequested;
  clearInterval(gossip);
  for (const timer of pending) clearTimeout(timer);
  channel.close();
  emit({ type: 'stopped' });
  port.close();
  return { outcome: 'stopped' };
}
