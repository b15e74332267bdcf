import { connect, createServer, type Server, type Socket } from 'node:net';
import { serveCommands } from '../src/host/commands.js';
import type { HostedPeerTask, HostMessage, HostResult } from '../src/host/messages.js';
import { countTraffic } from '../src/metrics/traffic.js';
import { now } from '../src/peer/clock.js';
import type { PeerEvent, PeerEventInit } from '../src/peer/events.js';
import { randomGossipText } from '../src/peer/gossip.js';
import { formatHostPort, parseHostPort } from '../src/protocol/address.js';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame.js';

/** The listening side's one frame back: any small body does. */
const ANSWER = encodeFrame(Buffer.from('{}', 'utf8'));

/** Calls `onFrame` with every frame's body, `first` telling the handshake from the gossip. */
function onFrames(socket: Socket, onFrame: (body: string, first: boolean) => void): void {
  const decoder = new FrameDecoder();
  let first = true;
  socket.on('data', (chunk: Buffer) => {
    for (const body of decoder.push(chunk)) {
      onFrame(body.toString('utf8'), first);
      first = false;
    }
  });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The floor of a full mesh: its sockets and nothing else. A stand-in for the peer that the
 * emulator's pool hosts exactly as it hosts peers (same task contract, threads, ports, window and
 * mesh check): it listens, and for each address it is told to join it opens one TCP connection,
 * sends its own address in one small frame and waits for one frame back; the listening side
 * answers the first frame it reads. Both ends then report the link as `connected`. No duplicate,
 * no proof, no peer list: a mesh of peers can only be slower. It gossips as a peer does (a random
 * text to every link each period, from `firstGossipMs` on), each text one frame, and reports
 * `message-sent` and `message-received`: the floor of the latency too.
 */
export default async function hostFloor({ options, port }: HostedPeerTask): Promise<HostResult> {
  countTraffic();
  const host = options.bindHost ?? '127.0.0.1';
  const advertised = formatHostPort({
    host: options.advertisedHost ?? host,
    port: options.port ?? 0,
  });
  const sockets = new Set<Socket>();
  /** Linked sockets, by the other end's address. */
  const links = new Map<Socket, string>();
  const post = (message: HostMessage): void => port.postMessage(message);
  const emit = (event: PeerEventInit): void =>
    post({ type: 'event', event: { ...event, at: now() } as PeerEvent });
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', (error) => emit({ type: 'error', message: error.message }));
    socket.on('close', () => {
      sockets.delete(socket);
      links.delete(socket);
    });
  };

  /** After the handshake frame, every frame is a gossip text from `peer`. */
  const linkOn = (socket: Socket, peer: string, direction: 'inbound' | 'outbound'): void => {
    links.set(socket, peer);
    emit({ type: 'connected', peer, direction });
  };
  const received = (socket: Socket, text: string): void =>
    emit({ type: 'message-received', peer: links.get(socket) ?? '?', text });

  const server = createServer((socket) => {
    track(socket);
    onFrames(socket, (body, first) => {
      if (!first) return received(socket, body);
      socket.write(ANSWER);
      linkOn(socket, body, 'inbound');
    });
  });
  try {
    await listen(server, options.port ?? 0, host);
  } catch (error) {
    port.close();
    const e = error as NodeJS.ErrnoException;
    return {
      outcome: 'listen-failed',
      code: e.code ?? 'UNKNOWN',
      address: advertised,
      message: e.message,
    };
  }
  emit({ type: 'listening', bound: advertised, advertised, nodeId: '' });

  const stopRequested = serveCommands(port, {
    join(address) {
      const target = parseHostPort(address);
      if (!target.ok) {
        emit({ type: 'error', message: target.error });
        return;
      }
      const socket = connect({ host: target.value.host, port: target.value.port });
      track(socket);
      socket.once('connect', () => socket.write(encodeFrame(Buffer.from(advertised, 'utf8'))));
      onFrames(socket, (body, first) => {
        if (first) linkOn(socket, address, 'outbound');
        else received(socket, body);
      });
    },
    breakLink() {},
  });
  const gossip = (): void => {
    if (links.size === 0) return;
    const text = randomGossipText();
    const frame = encodeFrame(Buffer.from(text, 'utf8'));
    for (const socket of links.keys()) socket.write(frame);
    emit({ type: 'message-sent', text, peers: links.size });
  };
  const periodMs = options.periodMs ?? 1_000;
  let timer = setTimeout(function tick() {
    gossip();
    timer = setTimeout(tick, periodMs);
  }, options.firstGossipMs ?? periodMs);
  await stopRequested;
  clearTimeout(timer);
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  emit({ type: 'stopped' });
  port.close();
  return { outcome: 'stopped' };
}
