import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/** Bytes moved since the last `take()`, by owner. */
export type ByteDeltas = Map<string, { bytesIn: number; bytesOut: number }>;

interface Tracked {
  readonly owner: string;
  readIn: number;
  readOut: number;
}

/**
 * Counts the bytes of every TCP socket this thread opens or accepts, without the code that owns
 * the sockets knowing: Node publishes each new socket on the `net.client.socket` and
 * `net.server.socket` diagnostics channels, and a socket keeps its `bytesRead` / `bytesWritten`
 * after it closes. `owner` names the peer a new socket belongs to (undefined: not counted, e.g.
 * the metrics server's own connections); it is asked once, when the socket appears.
 */
export class SocketBytes {
  readonly #owner: (socket: Socket) => string | undefined;
  readonly #live = new Map<Socket, Tracked>();
  readonly #pending: ByteDeltas = new Map();
  readonly #onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (socket === undefined) return;
    const owner = this.#owner(socket);
    if (owner === undefined) return;
    this.#live.set(socket, { owner, readIn: 0, readOut: 0 });
    socket.once('close', () => {
      const tracked = this.#live.get(socket);
      this.#live.delete(socket);
      if (tracked !== undefined) this.#add(tracked, socket);
    });
  };

  constructor(owner: (socket: Socket) => string | undefined) {
    this.#owner = owner;
    subscribe('net.client.socket', this.#onSocket);
    subscribe('net.server.socket', this.#onSocket);
  }

  /** Bytes moved since the last call, by owner (live sockets included). */
  take(): ByteDeltas {
    for (const [socket, tracked] of this.#live) this.#add(tracked, socket);
    const taken = new Map(this.#pending);
    this.#pending.clear();
    return taken;
  }

  stop(): void {
    unsubscribe('net.client.socket', this.#onSocket);
    unsubscribe('net.server.socket', this.#onSocket);
    this.#live.clear();
  }

  #add(tracked: Tracked, socket: Socket): void {
    const bytesIn = socket.bytesRead - tracked.readIn;
    const bytesOut = socket.bytesWritten - tracked.readOut;
    tracked.readIn = socket.bytesRead;
    tracked.readOut = socket.bytesWritten;
    if (bytesIn === 0 && bytesOut === 0) return;
    const sum = this.#pending.get(tracked.owner) ?? { bytesIn: 0, bytesOut: 0 };
    sum.bytesIn += bytesIn;
    sum.bytesOut += bytesOut;
    this.#pending.set(tracked.owner, sum);
  }
}
