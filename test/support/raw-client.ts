import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameDecoder } from '../../src/protocol/frame.js';
import { decodeMessage, type Message } from '../../src/protocol/messages.js';
import { WAIT_TIMEOUT_MS } from './wait.js';

/** Where a raw client connects from, and to. */
export interface RawClientOptions {
  /** Local address to connect from (e.g. `127.0.0.2`, to stand apart from the honest peers). */
  readonly localAddress?: string;
  /** Host the peer listens on. Default `127.0.0.1`. */
  readonly host?: string;
}

/**
 * A raw TCP connection to a peer, for tests that play a (possibly hostile) remote: it writes
 * whatever bytes the test wants and decodes every frame the peer sends back (a frame that does
 * not decode fails the test). It remembers when it opened and when it closed, and whether the
 * test closed it, so that a close can be attributed to the peer.
 *
 * Open it with `RawClient.open(t, port)`: the test's end destroys it.
 */
export class RawClient {
  /** Every frame received so far, in order. */
  readonly frames: Message[] = [];
  /** Resolves when the connection closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** When the TCP handshake completed (`performance.now()`). */
  openedAt = performance.now();
  /** When the connection closed (`performance.now()`), once it did. */
  closedAt: number | undefined;
  /** True only if the test destroyed it: `waitClosed()` requires a close by the peer. */
  destroyedByUs = false;
  /**
   * How the peer names this connection in its events (`host:port` of this end, an IPv6 host in
   * brackets). Kept from the handshake, since a closed socket forgets its port.
   */
  remote: string;
  readonly #decoder = new FrameDecoder();
  readonly #waiters = new Set<() => void>();

  private constructor(
    /** The underlying socket, for tests that need it directly (e.g. `destroyed`). */
    readonly socket: Socket,
    localAddress: string,
  ) {
    this.remote = `${localAddress}:?`;
    socket.setNoDelay(true);
    // The peer may close while we still write: that is what these tests provoke.
    socket.on('error', () => {});
    // Reading also lets the peer's FIN be seen.
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.#decoder.push(chunk)) {
        const decoded = decodeMessage(body);
        assert.ok(decoded.ok, `the peer sent an invalid frame: ${decoded.ok ? '' : decoded.error}`);
        this.frames.push(decoded.value);
      }
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
  }

  /**
   * Connects to the peer listening on `port` (at `options.host`, default 127.0.0.1), from
   * `options.localAddress` if given; resolves once connected. Destroyed when the test ends.
   */
  static open(t: TestContext, port: number, options: RawClientOptions = {}): Promise<RawClient> {
    const { localAddress, host = '127.0.0.1' } = options;
    const socket = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    const client = new RawClient(socket, localAddress ?? host);
    t.after(() => client.destroy());
    return new Promise((resolve, reject) => {
      socket.once('connect', () => {
        const address = socket.localAddress ?? localAddress ?? host;
        client.remote = `${address.includes(':') ? `[${address}]` : address}:${socket.localPort}`;
        client.openedAt = performance.now();
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  /** How long the connection has been open (until it closed, if it did), in ms. */
  get lifetimeMs(): number {
    return (this.closedAt ?? performance.now()) - this.openedAt;
  }

  /** Writes `bytes`; resolves once they are handed to the kernel (or the write failed). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /**
   * Writes `bytes` one byte per write, each handed to the kernel before the next, waiting `gapMs`
   * between bytes (default 0: none). Stops early if the connection is closed. Resolves with the
   * number of bytes written.
   */
  async trickle(bytes: Uint8Array, gapMs = 0): Promise<number> {
    let sent = 0;
    while (sent < bytes.length && !this.socket.destroyed) {
      await this.write(bytes.subarray(sent, sent + 1));
      sent++;
      if (gapMs > 0 && sent < bytes.length) await sleep(gapMs);
    }
    return sent;
  }

  /**
   * Resolves with the first frame received (already, or later) that matches `filter`; rejects
   * after `timeoutMs`.
   */
  frame(
    filter: (m: Message) => boolean = () => true,
    timeoutMs = WAIT_TIMEOUT_MS,
  ): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(filter);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a frame to ${this.remote}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Resolves once the peer closed the connection; rejects after `timeoutMs`, and fails if the
   * test itself destroyed it.
   */
  async waitClosed(timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the peer kept ${this.remote} open`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
    assert.equal(this.destroyedByUs, false, 'closed by the peer, not by the test');
  }

  /** Closes the connection from this end (marked as such, unless it was already closed). */
  destroy(): void {
    if (!this.socket.destroyed) this.destroyedByUs = true;
    this.socket.destroy();
  }
}
