import type { Socket } from 'node:net';
import type { Direction, LinkConnection, RemoteIdentity } from '../core/links.js';
import { type Reason, reason } from '../core/reasons.js';
import { formatHostPort } from '../protocol/address.js';
import { FrameDecoder, FrameTooLargeError } from '../protocol/frame.js';
import { decodeMessage, encodeMessage, type Message } from '../protocol/messages.js';
import { now } from './clock.js';
import type { LinkShaping, ShapedWriter } from './shaping.js';

/**
 * Bytes we let pile up unsent on one socket before deciding the remote is not reading. A peer
 * that never reads must not grow our memory; 1 MiB is thousands of gossip frames.
 */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * Least time between two frames to a peer of the original. Its reader is rebuilt every 10 ms and
 * drops what it had buffered: two frames that arrive in one read lose the second and break the
 * connection ("frame size too big", then a reset; seen with the real program). A handshake reply
 * followed by a peer list, or a list meeting a gossip frame, must not share a read. 50 ms was not
 * enough on a loaded machine (the reader's polls lag); 200 ms still leaves room for gossip every
 * period and a few lists between.
 */
export const LEGACY_FRAME_GAP_MS = 200;

/** How long a socket we ended may take to close on its own before we destroy it. */
export const CLOSE_GRACE_MS = 1_000;

/**
 * Socket errors that are this host's shortage, not the remote's absence (a mesh near the open-file
 * limit hits EMFILE while it forms): worth trying again without counting it against the remote.
 */
const LOCAL_SHORTAGES: ReadonlySet<string> = new Set([
  'EMFILE',
  'ENFILE',
  'ENOBUFS',
  'EADDRNOTAVAIL',
]);

/** A socket error as a reason: its code, explained where the code alone says little. */
export function describeSocketError(error: NodeJS.ErrnoException): Reason {
  switch (error.code) {
    case 'ENOTFOUND':
      return reason('SOCKET_ERROR', 'the name does not resolve (ENOTFOUND)', 'NAME_NOT_FOUND');
    case 'EAI_AGAIN':
      return reason(
        'SOCKET_ERROR',
        'the name could not be resolved now (EAI_AGAIN)',
        'NAME_NOT_RESOLVED_NOW',
      );
    case undefined:
      return reason('SOCKET_ERROR', error.message);
    default:
      return reason(
        LOCAL_SHORTAGES.has(error.code) ? 'LOCAL_SHORTAGE' : 'SOCKET_ERROR',
        error.code,
      );
  }
}

/** A bug of ours, met while reading from a connection. */
function internal(error: unknown): Reason {
  return reason(
    'INTERNAL',
    `internal error: ${error instanceof Error ? error.message : String(error)}`,
  );
}

export type { RemoteIdentity };

export interface ConnectionHandlers {
  message(connection: Connection, message: Message): void;
  /** The remote broke the protocol (bad frame or body); the owner must end the connection. */
  invalid(connection: Connection, reason: Reason): void;
  close(connection: Connection, reason: Reason): void;
}

/**
 * One TCP socket speaking the frame protocol. It decodes and validates every byte that arrives,
 * hands whole messages to its owner, and turns every socket failure into one `close` call with a
 * reason. Nothing here throws into a socket callback.
 */
let nextId = 1;

export class Connection implements LinkConnection {
  /** Unique in this process: link arbitration tells connections apart by it. */
  readonly id = nextId++;
  identity: RemoteIdentity | undefined;
  readonly remote: string;
  #reason: Reason | undefined;
  #closedLocally = false;
  #closed = false;
  #deadline: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  /** Pacing for a peer of the original: frames wait here until the gap since the last one passed. */
  #gapMs = 0;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  readonly #paced: Buffer[] = [];
  #pacedBytes = 0;
  #paceTimer: NodeJS.Timeout | undefined;
  readonly #decoder = new FrameDecoder();
  /** Link shaping between us and the socket (emulate's latency, loss, partitions), if any. */
  readonly #shaped: ShapedWriter | undefined;
  /** When a byte last arrived, and when we last wrote a frame: the heartbeat reads them. */
  lastHeardAt = now();
  lastSentAt = now();

  constructor(
    readonly socket: Socket,
    readonly direction: Direction,
    private readonly handlers: ConnectionHandlers,
    remote?: string,
    shaping?: LinkShaping,
  ) {
    this.remote =
      remote ?? formatHostPort({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 });
    this.#shaped = shaping?.attach(socket, direction, remote);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#reason ??= describeSocketError(error);
    });
    socket.on('end', () => {
      this.#reason ??= reason('CLOSED_BY_PEER', 'closed by the peer');
    });
    socket.on('close', () => this.#onClose());
  }

  get closed(): boolean {
    return this.#closed || this.#reason !== undefined;
  }

  /**
   * True when this side chose to close (stopping, a protocol violation, a duplicate, a goodbye);
   * false when the link broke or the remote closed it: only those are worth reconnecting.
   */
  get closedLocally(): boolean {
    return this.#closedLocally;
  }

  /** Closes the connection unless it is already closing, once `ms` pass without `clearDeadline`. */
  setDeadline(ms: number, why: Reason | undefined, onExpiry?: () => void): void {
    this.clearDeadline();
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      if (onExpiry) onExpiry();
      else this.destroy(why ?? reason('INTERNAL', 'deadline'));
    }, ms);
  }

  clearDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  send(message: Message): void {
    this.write(encodeMessage(message));
  }

  /** From now on, at least `gapMs` between two frames (a peer of the original, see LEGACY_FRAME_GAP_MS). */
  pace(gapMs: number): void {
    this.#gapMs = gapMs;
    if (gapMs > 0) return;
    // Not paced any more (a late reply showed one of ours): what waited goes now, in order,
    // before anything written later.
    clearTimeout(this.#paceTimer);
    this.#paceTimer = undefined;
    for (const frame of this.#paced.splice(0)) {
      this.#pacedBytes -= frame.length;
      this.#send(frame);
    }
  }

  /** Writes an encoded frame; used to send one gossip frame to many peers without re-encoding. */
  write(frame: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const unsent = this.socket.writableLength + this.#pacedBytes + (this.#shaped?.queuedBytes ?? 0);
    if (unsent + frame.length > MAX_UNSENT_BYTES) {
      this.destroy(reason('NOT_READING', `the peer is not reading (${unsent} bytes unsent)`));
      return;
    }
    this.lastSentAt = now();
    if (this.#gapMs === 0) {
      this.#lastWriteAt = performance.now();
      this.#send(frame);
      return;
    }
    this.#paced.push(frame);
    this.#pacedBytes += frame.length;
    this.#drain();
  }

  /**
   * Hands a frame to the socket, through the link shaping when there is one. Frames written in one
   * turn of the event loop leave in one system call (the socket is corked until the turn's check
   * phase): a handshake reply, a peer list and a proof's nonce to one peer cost one write, not
   * three; and under load, when one poll phase hands over the data of many sockets, the frames
   * each of them makes a peer forward to one neighbour leave together too (setImmediate, not
   * nextTick, which would uncork after every incoming chunk).
   */
  #send(frame: Buffer): void {
    // A live view or a scenario gives every peer shaping; frames that it does not delay or hold
    // are corked like any other, one write a turn per socket instead of one a frame.
    if (this.#shaped !== undefined && !this.#shaped.passThrough) {
      this.#shaped.write(frame);
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.#corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }

  #corked = false;

  #drain(): void {
    if (this.#paceTimer !== undefined || this.closed || this.socket.destroyed) return;
    const wait = this.#lastWriteAt + this.#gapMs - performance.now();
    if (wait > 0) {
      this.#paceTimer = setTimeout(() => {
        this.#paceTimer = undefined;
        this.#drain();
      }, wait);
      return;
    }
    const frame = this.#paced.shift();
    if (frame === undefined) return;
    this.#pacedBytes -= frame.length;
    this.#lastWriteAt = performance.now();
    this.#send(frame);
    if (this.#paced.length > 0) this.#drain();
  }

  /**
   * Closes at once as a broken link: unlike `destroy`, the link is dialed again (the heartbeat
   * found it silent: the remote may be behind a partition, not gone).
   */
  fail(why: Reason): void {
    this.#reason ??= why;
    this.clearDeadline();
    this.socket.destroy();
  }

  /** Sends what is queued, then closes; destroys the socket if it does not close in time. */
  close(why: Reason): void {
    if (this.closed) return;
    this.#reason = why;
    this.#closedLocally = true;
    this.clearDeadline();
    if (this.#shaped === undefined) this.socket.end();
    else this.#shaped.end();
    this.#closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  /** Closes at once, dropping anything unsent. */
  destroy(why: Reason): void {
    if (this.#reason === undefined) {
      this.#reason = why;
      this.#closedLocally = true;
    }
    this.clearDeadline();
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeardAt = now();
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#invalid(
        error instanceof FrameTooLargeError
          ? reason('INVALID_MESSAGE', error.message, error.code)
          : internal(error),
      );
      return;
    }
    for (const frame of frames) {
      try {
        const decoded = decodeMessage(frame);
        if (!decoded.ok) {
          this.#invalid(reason('INVALID_MESSAGE', decoded.error, decoded.code));
          return;
        }
        this.handlers.message(this, decoded.value);
      } catch (error) {
        // A bug of ours must cost this one connection, never the process (or the worker thread
        // and every peer on it).
        this.#invalid(internal(error));
        return;
      }
      if (this.closed) return;
    }
  }

  #invalid(why: Reason): void {
    this.handlers.invalid(this, why);
    // The owner ends it; make sure of it, since nothing more may be read from this stream.
    this.destroy(why);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.clearDeadline();
    clearTimeout(this.#closeTimer);
    this.#shaped?.drop();
    clearTimeout(this.#paceTimer);
    this.handlers.close(this, this.#reason ?? reason('CLOSED_BY_PEER', 'closed'));
  }
}
