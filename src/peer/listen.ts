import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort } from '../protocol/address.js';

/**
 * Connections the kernel may queue before we accept them. A joining mesh sends a peer hundreds of
 * dials (and dial-back probes) at once; past Node's default of 511 the kernel drops SYNs, and each
 * dropped one costs its dialer a full second before the retransmission. (The kernel caps it at
 * net.core.somaxconn.)
 */
const LISTEN_BACKLOG = 4_096;

/** Thrown by `Peer.start()` when the port cannot be bound. */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    readonly address: string,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `port ${address.slice(address.lastIndexOf(':') + 1)} is already in use (${address})`
        : `cannot listen on ${address}: ${code}`,
    );
  }
}

/** Binds a TCP server on `host:port` (port 0: any free one); rejects with ListenError. */
export function listen(
  host: string,
  port: number,
  onSocket: (socket: Socket) => void,
): Promise<Server> {
  const server = createServer(onSocket);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ListenError(error.code ?? error.message, formatHostPort({ host, port }))),
    );
    server.listen({ host, port, exclusive: true, backlog: LISTEN_BACKLOG }, () => resolve(server));
  });
}

/** A peer's listening socket and the addresses it goes by. */
export interface Listening {
  readonly server: Server;
  readonly port: number;
  /** `bindHost:port`, as the `listening` event reports it. */
  readonly bound: string;
  /** `advertisedHost:port`: the address announced to other peers. */
  readonly advertised: string;
}

/**
 * The start-up both kinds of peer share: bind, keep a later server error from crashing the host
 * (rare: e.g. EMFILE on accept; `onError` hears it), and learn the port the kernel gave.
 */
export async function listenAsPeer(
  bindHost: string,
  port: number,
  advertisedHost: string,
  onSocket: (socket: Socket) => void,
  onError: (message: string) => void,
): Promise<Listening> {
  const server = await listen(bindHost, port, onSocket);
  server.on('error', (error) => onError(`listening socket: ${error.message}`));
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    port: bound,
    bound: formatHostPort({ host: bindHost, port: bound }),
    advertised: formatHostPort({ host: advertisedHost, port: bound }),
  };
}
