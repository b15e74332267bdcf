import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A test double of the original naive-peer (`rozhkovdmitrii/naive-peer-exchange`), written from its
 * source (`naive-p2p-lib/src/{naive_peer,peer_mng,peer_interactor}.rs`) and checked against a real
 * build (see the note of issue 8): it does what the original does, defects included, so that
 * tests of ours against "a peer of the original" do not depend on a raw client's guess.
 *
 * What it models, and where the original does it:
 * - one registry of connections by id, and `peers`: address string -> connection id (PeerMng);
 *   nothing else holds a connection, so removing one from the registry closes its socket (the
 *   reader holds only a `Weak`: seen on the real binary as a FIN within ~20 ms);
 * - dials (`NaivePeer::connect_to`) are not tracked: the same address may be dialed many times;
 * - every connection is checked once by a 1 s wheel timer, 1-2 s after it opened
 *   (`PeerMng::on_new_connection`, `remove_invalid_conn`): still without an address, it is dropped;
 * - a `public_address` claim (`on_public_address` -> `set_peer_as_valid_impl`): an address already
 *   in `peers` drops the claiming connection and answers nothing; any other address is adopted, even
 *   a second one on the same connection (the first mapping stays), and answered with `known_peers`
 *   only if the list without the claimed address is not empty;
 * - `known_peers` from any connection, even one that never claimed an address (`on_konwn_peers`):
 *   dials every address that is not its own `--address:--port` string and not a key of `peers`;
 * - gossip every period to every connection that has an address (`messaging_loop`);
 * - it closes a connection only on a read or write error (bad JSON, unknown type, a frame over
 *   8 MiB) or when it drops it from the registry; a remote close drops the peer, no reconnect;
 * - its reader is rebuilt after every frame and loses what it had buffered past that frame
 *   (`recv_messages_loop`, defect 1 of the reference): see READ_AHEAD_BYTES.
 */

export interface OriginalDoubleOptions {
  /** `--port`; 0 picks a free one. */
  readonly port?: number;
  /** `--address`: what it advertises (default 127.0.0.1, as the original). */
  readonly address?: string;
  /** `--connect`. */
  readonly connect?: string;
  /** `--period` in ms (the original takes whole seconds; default 2 s). */
  readonly periodMs?: number;
  /** Interface to listen on: loopback in tests (the original binds 0.0.0.0). */
  readonly bindHost?: string;
  /** The validity wheel's tick (KEEPER_TIME_WHEEL_TIC_SEC = 1 s). */
  readonly tickMs?: number;
  /**
   * Lose what was read past a frame, as the original's reader does (default true). Whether two
   * frames meet in one read depends on how late the reader runs: the original's own task polls
   * every 10 ms, this double shares the test's event loop, where one stall makes every double in
   * the process see glued frames at once. Tests of the protocol's logic may turn it off; the real
   * program (NAIVE_PEER_ORIGINAL) keeps the real timing.
   */
  readonly readAheadLoss?: boolean;
}

/** LengthDelimitedCodec's default max_frame_length. */
const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/**
 * What the original's reader reads past the end of a frame when more bytes are already there, and
 * then throws away with the reader: its first read takes 10 bytes (PEER_BUFFER_SIZE), the codec then
 * reserves the frame's length and the next read fills it, 6 bytes beyond the frame. Seen on the
 * real binary: two frames in one write give `frame size too big` and a reset.
 */
const READ_AHEAD_BYTES = 6;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface ConnectionInfo {
  readonly id: number;
  readonly socket: Socket;
  address: string | undefined;
  /** The reader's buffer: bytes of the frame being read. */
  pending: Buffer;
}

type Wire =
  | { type: 'public_address'; address: string }
  | { type: 'known_peers'; peers: string[] }
  | { type: 'random_message'; data: string };

/** One frame of the original's wire format: 4-byte big-endian length, `{"type", "data"}` JSON. */
export function frame(type: string, data: object): Buffer {
  const body = Buffer.from(JSON.stringify({ type, data }), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** serde's view of a frame: `{"type", "data"}`, unknown fields ignored, anything else an error. */
function parse(body: Buffer): Wire | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const { type, data } = json as { type?: unknown; data?: Record<string, unknown> };
  if (typeof data !== 'object' || data === null) return undefined;
  if (type === 'public_address' && typeof data.address === 'string')
    return { type, address: data.address };
  if (type === 'random_message' && typeof data.data === 'string') return { type, data: data.data };
  if (
    type === 'known_peers' &&
    Array.isArray(data.peers) &&
    data.peers.every((p) => typeof p === 'string')
  )
    return { type, peers: data.peers as string[] };
  return undefined;
}

export class OriginalDouble {
  /** Its console lines at the default level (info and above), without the `# HH:MM:SS - `. */
  readonly lines: string[] = [];
  /** What the original logs at debug level, in part: connections dropped, and why. */
  readonly debug: string[] = [];
  /** Emits `change` after anything it logged or did. */
  readonly changes = new EventEmitter();
  readonly #options: OriginalDoubleOptions;
  readonly #connections = new Map<number, ConnectionInfo>();
  /** PeerMngContex::peers: address string -> connection id. */
  readonly #peers = new Map<string, number>();
  /** The validity wheel: slot -> connection ids to check. */
  readonly #wheel = new Map<number, number[]>();
  readonly #dialing = new Set<Socket>();
  #tick = 0;
  #nextId = 0;
  #server: Server | undefined;
  #timers: NodeJS.Timeout[] = [];
  #port = 0;
  #stopped = false;

  constructor(options: OriginalDoubleOptions = {}) {
    this.#options = options;
  }

  get port(): number {
    return this.#port;
  }

  /** `--address:--port`, what it claims and what it refuses to dial (`self_address`). */
  get advertised(): string {
    return `${this.#options.address ?? '127.0.0.1'}:${this.#port}`;
  }

  /** The keys of its `peers` map (`get_peers`), sorted. */
  get peers(): string[] {
    return [...this.#peers.keys()].sort();
  }

  /** The frames it decoded, in order: their type, and the address of their connection then. */
  readonly received: Array<{ readonly type: string; readonly from: string | undefined }> = [];

  /** Resolves once `check()` holds, re-checked after everything it does; rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.changes.off('change', test);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off('change', test);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.changes.on('change', test);
      test();
    });
  }

  /**
   * The ends of every socket it holds open, as `localPort>remotePort` (its listening port for the
   * connections it accepted). A port alone is not enough: Linux gives one ephemeral port to dials
   * toward different destinations, so a dial of another double in this process or of a peer
   * process may share it; and a closed socket still reports the ports it had (Node caches them).
   */
  socketEnds(): Set<string> {
    const ends = new Set<string>();
    const add = (s: Socket) => {
      if (!s.destroyed && s.localPort !== undefined) ends.add(`${s.localPort}>${s.remotePort}`);
    };
    for (const c of this.#connections.values()) add(c.socket);
    for (const s of this.#dialing) add(s);
    return ends;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.#onAccepted(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(
        { host: this.#options.bindHost ?? '127.0.0.1', port: this.#options.port ?? 0 },
        resolve,
      );
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
    this.#log(`My address is: 0.0.0.0:${this.#port}`);
    // PeerMng::execute: tick the wheel every KEEPER_TIME_WHEEL_TIC_SEC.
    this.#timers.push(setInterval(() => this.#onTick(), this.#options.tickMs ?? 1000));
    // NaivePeer::messaging_loop: sleep a period, then gossip to every valid connection.
    this.#timers.push(setInterval(() => this.#gossip(), this.#options.periodMs ?? 2000));
    // NaivePeer::init_peer.
    if (this.#options.connect !== undefined) this.#connectTo(this.#options.connect);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#connections.values()) c.socket.destroy();
    for (const s of this.#dialing) s.destroy();
    this.#connections.clear();
    this.#peers.clear();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #log(line: string): void {
    this.lines.push(line);
    this.changes.emit('change');
  }

  /** NaivePeer::on_peer_accepted: registered, anonymous until it claims an address. */
  #onAccepted(socket: Socket): void {
    if (this.#stopped) return void socket.destroy();
    const info = this.#register(socket);
    this.#listen(info);
  }

  /** NetworkingImpl::connect_to + NaivePeer::on_peer_connected. */
  #connectTo(address: string): void {
    const id = this.#nextId++;
    const colon = address.lastIndexOf(':');
    const socket = connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
    });
    this.#dialing.add(socket);
    socket.once('error', (error) => {
      this.#dialing.delete(socket);
      this.#log(`${this.advertised} - Failed to connect to: ${address}, error: ${error.message}`);
    });
    socket.once('connect', () => {
      this.#dialing.delete(socket);
      socket.removeAllListeners('error');
      if (this.#stopped) return void socket.destroy();
      const info = this.#register(socket, id);
      // on_outgoing_peer_connected: registered under the address it dialed.
      this.#setPeerAsValid(info.id, address);
      if (!this.#connections.has(info.id)) return; // Dropped as a duplicate: nothing is sent.
      this.#listen(info);
      this.#send(info, frame('public_address', { address: this.advertised }));
    });
  }

  /** PeerMng::on_new_connection: registered, and its validity checked on the wheel. */
  #register(socket: Socket, id = this.#nextId++): ConnectionInfo {
    const info: ConnectionInfo = { id, socket, address: undefined, pending: Buffer.alloc(0) };
    this.#connections.set(id, info);
    // schedule(VALIDATE_TIMEOUT_TICKS = 1): the slot after the current one, read on the 2nd tick.
    const slot = this.#tick + 1;
    this.#wheel.set(slot, [...(this.#wheel.get(slot) ?? []), id]);
    socket.on('error', (error) => this.#dropConnection(id, `socket error: ${error.message}`));
    return info;
  }

  /** PeerMng::execute + remove_invalid_conn. */
  #onTick(): void {
    const ids = this.#wheel.get(this.#tick) ?? [];
    this.#wheel.delete(this.#tick);
    this.#tick++;
    for (const id of ids) {
      const info = this.#connections.get(id);
      if (info === undefined) this.#log(`Failed to get connection: ${id}`);
      else if (info.address === undefined) {
        this.#log(`Public address has not been assigned in time, deleted: ${id}`);
        this.#dropConnection(id, 'no public address in time');
      }
    }
  }

  /** PeerInteractorImpl::recv_messages_loop, one frame per fresh reader. */
  #listen(info: ConnectionInfo): void {
    const { socket, id } = info;
    socket.on('data', (chunk: Buffer) => {
      info.pending = Buffer.concat([info.pending, chunk]);
      while (this.#connections.has(id) && info.pending.length >= 4) {
        const length = info.pending.readUInt32BE(0);
        if (length > MAX_FRAME_BYTES) return this.#readError(id, 'frame size too big');
        if (info.pending.length < 4 + length) return;
        const body = info.pending.subarray(4, 4 + length);
        // The next frame gets a fresh reader: the bytes this one read ahead are lost.
        const lost = this.#options.readAheadLoss === false ? 0 : READ_AHEAD_BYTES;
        info.pending = info.pending.subarray(4 + length + lost);
        const message = parse(body);
        if (message === undefined) return this.#readError(id, 'invalid frame');
        this.#onMessage(id, message);
      }
    });
    // process_message: end of stream is PeerEvent::Disconnected -> drop_connection, no log.
    socket.on('end', () => this.#dropConnection(id, 'closed by the remote'));
    socket.on('close', () => this.#dropConnection(id, 'socket closed'));
  }

  #readError(id: number, error: string): void {
    this.#log(`${this.advertised} - Failed to receive message: ${error}. conn_id: ${id}`);
    // The original closes with the rest of the bad frame unread in the kernel: a reset, not a FIN.
    this.#connections.get(id)?.socket.resetAndDestroy();
    this.#dropConnection(id, error);
  }

  #onMessage(id: number, message: Wire): void {
    this.received.push({ type: message.type, from: this.#connections.get(id)?.address });
    this.changes.emit('change');
    switch (message.type) {
      case 'public_address':
        this.#onPublicAddress(id, message.address);
        return;
      case 'random_message': {
        // on_random_message: ignored until the connection has an address.
        const address = this.#connections.get(id)?.address;
        if (address !== undefined) this.#log(`Received message [${message.data}] from: ${address}`);
        return;
      }
      case 'known_peers':
        this.debug.push(
          `Got list of peers, conn_id: ${id}, peers: ${JSON.stringify(message.peers)}`,
        );
        // on_konwn_peers: whoever sent it.
        for (const peer of message.peers) {
          if (peer === this.advertised) {
            this.#log(`Address that is the same as current peer is listening on rejected: ${peer}`);
          } else if (!this.#peers.has(peer)) this.#connectTo(peer);
        }
    }
  }

  /** NaivePeer::on_public_address + PeerMng::on_public_address. */
  #onPublicAddress(id: number, address: string): void {
    this.#setPeerAsValid(id, address);
    const info = this.#connections.get(id);
    if (info === undefined) {
      this.#log(`Connection not found, conn_id: ${id}`);
      return;
    }
    const known = [...this.#peers.keys()].filter((p) => p !== address);
    if (known.length > 0) this.#send(info, frame('known_peers', { peers: known }));
  }

  /** PeerMng::set_peer_as_valid_impl. */
  #setPeerAsValid(id: number, address: string): void {
    // "It happens if there are cross connections": an address it has drops the new connection.
    if (this.#peers.has(address)) {
      this.#dropConnection(id, `${address} is already a peer`);
      return;
    }
    const info = this.#connections.get(id);
    if (info === undefined) return;
    info.address = address; // A previous address of this connection stays in `peers`.
    this.#peers.set(address, id);
    this.#log(`Connected to the peer at: ${address}`);
  }

  /** PeerMng::drop_connection_impl: out of the registry, and so closed. */
  #dropConnection(id: number, cause: string): void {
    const info = this.#connections.get(id);
    if (info === undefined) return;
    this.debug.push(
      `Connection has been removed from registry: ${id} (${info.address ?? 'no address'}: ${cause})`,
    );
    this.#connections.delete(id);
    if (info.address !== undefined) this.#peers.delete(info.address);
    info.socket.destroy();
    this.changes.emit('change');
  }

  #send(info: ConnectionInfo, bytes: Buffer): void {
    info.socket.write(bytes, (error) => {
      if (error) {
        this.#log(
          `${this.advertised} - Failed to send message: ${error.message}. conn_id: ${info.id}`,
        );
        this.#dropConnection(info.id, error.message);
      }
    });
  }

  #gossip(): void {
    for (const info of this.#connections.values()) {
      if (info.address === undefined) continue;
      let text = '';
      for (let i = 0; i < 10; i++) text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
      this.#send(info, frame('random_message', { data: text }));
    }
  }
}
