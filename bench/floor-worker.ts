import { connect, createServer, type Server, type Socket } from 'node:net';
import { threadId } from 'node:worker_threads';
import type { HostCommand, HostedPeerTask, HostMessage, HostResult } from '../src/host/messages.js';
import { countTraffic, trafficCounts } from '../src/host/traffic.js';
import { now } from '../src/peer/clock.js';
import type { PeerEvent, PeerEventInit } from '../src/peer/events.js';
import { formatHostPort, parseHostPort } from '../src/protocol/address.js';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame.js';

/** The listening side's one frame back: any small body does. */
const ANSWER = encodeFrame(Buffer.from('{}', 'utf8'));

/** Calls `onFrame` with the first frame's body, once; later bytes are ignored. */
function onFirstFrame(socket: Socket, onFrame: (body: string) => void): void {
  const decoder = new FrameDecoder();
  let seen = false;
  socket.on('data', (chunk: Buffer) => {
    if (seen) return;
    const [body] = decoder.push(chunk);
    if (body === undefined) return;
    seen = true;
    onFrame(body.toString('utf8'));
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
 * no proof, no peer list: a mesh of peers can only be slower.
 */
export default async function hostFloor({ options, port }: HostedPeerTask): Promise<HostResult> {
  countTraffic();
  const host = options.bindHost ?? '127.0.0.1';
  const advertised = formatHostPort({
    host: options.advertisedHost ?? host,
    port: options.port ?? 0,
  });
  const sockets = new Set<Socket>();
  const post = (message: HostMessage): void => port.postMessage(message);
  const emit = (event: PeerEventInit): void =>
    post({ type: 'event', event: { ...event, at: now() } as PeerEvent });
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', (error) => emit({ type: 'error', message: error.message }));
    socket.on('close', () => sockets.delete(socket));
  };

  const server = createServer((socket) => {
    track(socket);
    onFirstFrame(socket, (dialer) => {
      socket.write(ANSWER);
      emit({ type: 'connected', peer: dialer, direction: 'inbound' });
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

  let requestStop: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  port.on('message', (command: HostCommand) => {
    switch (command.type) {
      case 'join': {
        const target = parseHostPort(command.address);
        if (!target.ok) {
          emit({ type: 'error', message: target.error });
          return;
        }
        const socket = connect({ host: target.value.host, port: target.value.port });
        track(socket);
        socket.once('connect', () => socket.write(encodeFrame(Buffer.from(advertised, 'utf8'))));
        onFirstFrame(socket, () =>
          emit({ type: 'connected', peer: command.address, direction: 'outbound' }),
        );
        return;
      }
      case 'report':
        post({ type: 'report', threadId, traffic: trafficCounts() });
        return;
      case 'stop':
        requestStop();
        return;
      case 'break-link':
        return;
    }
  });
  port.once('close', () => requestStop());
  await stopRequested;
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  emit({ type: 'stopped' });
  port.close();
  return { outcome: 'stopped' };
}
