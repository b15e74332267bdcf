import type { Socket } from 'node:net';
import { createRng, type Rng } from '../core/rng.js';
import { oneWayDelay, RTO_MIN_MS, retransmitAfter, transmitMs } from '../scenario/delay.js';
import type { LinkShape } from '../scenario/model.js';
import { now } from './clock.js';

/**
 * Link shaping inside the process (`tc netem` is not available): every frame a peer writes waits
 * here before it reaches its socket, so the peers do not know. One way per end: each end delays
 * what it sends, so a message between two shaped peers crosses one shaped direction.
 *
 * - Latency with jitter, loss as TCP shows it (retransmission delay, never a missing byte) and
 *   bandwidth: `scenario/delay.ts`, the simulator's model, drawn from a generator per link seeded
 *   by the run's seed and the two peers' indices. Order is kept (a stream).
 * - Partitions hold traffic: a frame to a peer in another group waits until the heal, then goes
 *   out at TCP's next retransmission after it. New connections across groups are refused at once
 *   (the dial fails with EHOSTUNREACH), since the kernel would complete a loopback connect.
 *   Not modelled: a close (FIN/RST) still crosses a partition at once, and held bytes do not
 *   time the connection out (the heartbeat, `heartbeat.ts`, does that).
 *
 * The network's state is shared memory the emulator writes: which peer a port belongs to
 * (listening ports, and the local port of every outbound connection, registered here) and each
 * peer's partition group. A change of shape or a heal is told to each peer (`update`).
 */
export interface ShapingConfig {
  readonly seed: number;
  /** This peer's index in the network. */
  readonly self: number;
  /** Shape of every link, or null for none (partitions only). */
  readonly shape: LinkShape | null;
  /** Int32Array: port -> peer index + 1 (0: no peer of ours). */
  readonly ports: SharedArrayBuffer;
  /** Int32Array: peer index -> partition group (all equal: no partition). */
  readonly groups: SharedArrayBuffer;
}

interface Queued {
  readonly frame: Buffer;
  readonly sentAt: number;
  due: number;
}

/** An error like the kernel's for a host that cannot be reached. */
function unreachable(): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error('partitioned from this peer (EHOSTUNREACH)');
  error.code = 'EHOSTUNREACH';
  return error;
}

/** One direction of one link: what this peer writes to one socket. */
export class ShapedWriter {
  readonly #socket: Socket;
  readonly #network: LinkShaping;
  readonly #direction: 'inbound' | 'outbound';
  readonly #dialedPort: number;
  readonly #queue: Queued[] = [];
  #remote = -1;
  #rng: Rng | null = null;
  #timer: NodeJS.Timeout | undefined;
  #lastDue = 0;
  #busyUntil = 0;
  #held = false;
  #ending = false;
  queuedBytes = 0;

  constructor(
    socket: Socket,
    network: LinkShaping,
    direction: 'inbound' | 'outbound',
    remote: string | undefined,
  ) {
    this.#socket = socket;
    this.#network = network;
    this.#direction = direction;
    this.#dialedPort = direction === 'outbound' ? Number(remote?.split(':').pop()) : Number.NaN;
    if (direction === 'outbound') {
      if (network.blockedFrom(this.#remoteIndex())) {
        // Refused before any byte: destroy after the caller attached its listeners.
        queueMicrotask(() => socket.destroy(unreachable()));
        return;
      }
      // Our local port names us to the accepting end, which sees only this port.
      socket.once('connect', () => network.register(socket.localPort));
    }
  }

  /** The index of the peer at the other end, once known (-1 until then). */
  #remoteIndex(): number {
    if (this.#remote < 0) {
      const port = this.#direction === 'outbound' ? this.#dialedPort : this.#socket.remotePort;
      this.#remote =
        port === undefined || !Number.isInteger(port) ? -1 : this.#network.peerAt(port);
    }
    return this.#remote;
  }

  /**
   * Whether a frame written now would go straight to the socket (no shape, nothing queued, no
   * partition): the connection then writes it itself, corked with the rest of the turn's frames.
   */
  get passThrough(): boolean {
    return (
      this.#network.shape === null &&
      this.#queue.length === 0 &&
      !this.#network.blockedFrom(this.#remoteIndex())
    );
  }

  /** Queues a frame that does not pass through (see `passThrough`). */
  write(frame: Buffer): void {
    const shape = this.#network.shape;
    const at = now();
    let due = at;
    if (shape !== null) {
      this.#rng ??= createRng(this.#network.linkSeed(this.#remoteIndex()));
      this.#busyUntil = Math.max(at, this.#busyUntil) + transmitMs(shape, frame.length);
      due = Math.max(this.#lastDue, this.#busyUntil + oneWayDelay(shape, this.#rng));
    }
    this.#lastDue = due;
    this.#queue.push({ frame, sentAt: at, due });
    this.queuedBytes += frame.length;
    if (this.#queue.length === 1) this.pump();
  }

  /** Ends the socket once everything queued went out. */
  end(): void {
    this.#ending = true;
    if (this.#queue.length === 0) this.#socket.end();
  }

  drop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.queuedBytes = 0;
    this.#network.forget(this);
  }

  /** Writes what is due, holds what crosses a partition, and sets a timer for the rest. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#socket.destroyed) {
      this.drop();
      return;
    }
    if (this.#network.blockedFrom(this.#remoteIndex())) {
      // Held until the heal's `update` pumps it again.
      this.#held = true;
      this.#network.track(this);
      return;
    }
    const at = now();
    if (this.#held) {
      // Healed: TCP resends what it held at its next backed-off retransmission.
      this.#held = false;
      const shape = this.#network.shape;
      const rto = Math.max(RTO_MIN_MS, 2 * (shape?.latencyMs ?? 0) + 4 * (shape?.jitterMs ?? 0));
      for (const q of this.#queue) {
        q.due = Math.max(q.due, retransmitAfter(q.sentAt, at, rto));
        this.#lastDue = Math.max(this.#lastDue, q.due);
      }
    }
    let written = 0;
    while (written < this.#queue.length && (this.#queue[written] as Queued).due <= at) {
      const q = this.#queue[written] as Queued;
      this.#socket.write(q.frame);
      this.queuedBytes -= q.frame.length;
      written++;
    }
    this.#queue.splice(0, written);
    const head = this.#queue[0];
    if (head !== undefined) {
      this.#timer = setTimeout(() => this.pump(), Math.max(0, head.due - at));
      this.#network.track(this);
    } else {
      this.#network.forget(this);
      if (this.#ending) this.#socket.end();
    }
  }
}

/** The shaping of one peer's links; `attach` one writer per socket. */
export class LinkShaping {
  readonly #config: ShapingConfig;
  readonly #ports: Int32Array;
  readonly #groups: Int32Array;
  /** Writers with frames queued or held: a heal or a new shape re-pumps them. */
  readonly #waiting = new Set<ShapedWriter>();
  shape: LinkShape | null;

  constructor(config: ShapingConfig) {
    this.#config = config;
    this.#ports = new Int32Array(config.ports);
    this.#groups = new Int32Array(config.groups);
    this.shape = config.shape;
  }

  attach(socket: Socket, direction: 'inbound' | 'outbound', remote?: string): ShapedWriter {
    return new ShapedWriter(socket, this, direction, remote);
  }

  /** A new shape (or the same, after a heal): every held or queued frame is looked at again. */
  update(shape?: LinkShape | null): void {
    if (shape !== undefined) this.shape = shape;
    for (const writer of [...this.#waiting]) writer.pump();
  }

  peerAt(port: number): number {
    return port > 0 && port < this.#ports.length ? Atomics.load(this.#ports, port) - 1 : -1;
  }

  register(port: number | undefined): void {
    if (port !== undefined && port > 0 && port < this.#ports.length)
      Atomics.store(this.#ports, port, this.#config.self + 1);
  }

  /** Whether traffic to peer `remote` crosses a partition (false for peers not ours). */
  blockedFrom(remote: number): boolean {
    if (remote < 0 || remote >= this.#groups.length) return false;
    return Atomics.load(this.#groups, remote) !== Atomics.load(this.#groups, this.#config.self);
  }

  /** One generator per direction of a link: the run's seed and the two ends. */
  linkSeed(remote: number): number {
    return (
      (Math.imul(this.#config.seed ^ 0x9e3779b9, 65_599) + this.#config.self * 131_071 + remote) >>>
      0
    );
  }

  track(writer: ShapedWriter): void {
    this.#waiting.add(writer);
  }

  forget(writer: ShapedWriter): void {
    this.#waiting.delete(writer);
  }
}
