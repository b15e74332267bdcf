import { now } from '../src/peer/clock.js';
import type { PeerEvent } from '../src/peer/events.js';
import { Peer } from '../src/peer/peer.js';

/** The phases of bringing up one mesh, in milliseconds. */
export interface MeshTimings {
  /** From the first `start()` call to the last peer listening (hosting cost: here, none). */
  readonly startMs: number;
  /** From the last peer listening to the moment every peer links every other one. */
  readonly meshMs: number;
  /** From the first `start()` call to the full mesh. */
  readonly totalMs: number;
}

export interface LocalMeshOptions {
  readonly periodMs: number;
  /** Reject when the mesh is not full by then. */
  readonly timeoutMs?: number;
}

/** A peer never gossips during a run with this period: for runs that must stay silent. */
export const SILENT_PERIOD_MS = 3_600_000;

/**
 * N peers hosted on the calling thread, bootstrapped as a chain (peer i joins through peer i - 1,
 * as the emulator does), all on 127.0.0.1 with system-picked ports.
 */
export class LocalMesh {
  readonly peers: Peer[] = [];
  readonly #listeners = new Set<(index: number, event: PeerEvent) => void>();
  readonly #unsubscribe: Array<() => void> = [];

  private constructor(readonly size: number) {}

  /** Starts the peers one after the other and resolves once the mesh is full. */
  static async start(
    size: number,
    options: LocalMeshOptions,
  ): Promise<{ mesh: LocalMesh; timings: MeshTimings }> {
    const mesh = new LocalMesh(size);
    const links = new Array<number>(size).fill(0);
    let complete = 0;
    let fullAt = 0;
    let onFull: (() => void) | undefined;
    const begin = now();
    let lastListening = begin;
    try {
      for (let i = 0; i < size; i++) {
        const previous = mesh.peers[i - 1];
        const peer = new Peer({
          port: 0,
          bindHost: '127.0.0.1',
          advertisedHost: '127.0.0.1',
          periodMs: options.periodMs,
          // A random phase of the period, as the emulator gives its peers: comparable latency.
          firstGossipMs: Math.random() * options.periodMs,
          ...(previous === undefined ? {} : { connect: previous.advertised }),
        });
        mesh.peers.push(peer);
        mesh.#unsubscribe.push(
          peer.events.subscribe((event) => {
            if (event.type === 'listening') lastListening = Math.max(lastListening, event.at);
            else if (event.type === 'connected' || event.type === 'disconnected') {
              const before = links[i] ?? 0;
              const after = before + (event.type === 'connected' ? 1 : -1);
              links[i] = after;
              if (before === size - 1) complete--;
              if (after === size - 1) complete++;
              if (complete === size && fullAt === 0 && mesh.isFull()) {
                fullAt = event.at;
                onFull?.();
              }
            }
            for (const listener of mesh.#listeners) listener(i, event);
          }),
        );
        await peer.start();
      }
      if (size === 1) fullAt = lastListening;
      if (fullAt === 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no full mesh of ${size} peers after ${options.timeoutMs} ms`)),
            options.timeoutMs ?? 60_000,
          );
          onFull = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } catch (error) {
      await mesh.stop();
      throw error;
    }
    return {
      mesh,
      timings: {
        startMs: lastListening - begin,
        meshMs: Math.max(0, fullAt - lastListening),
        totalMs: fullAt - begin,
      },
    };
  }

  /** Every peer's view is exactly every other peer. */
  isFull(): boolean {
    const all = this.peers.map((p) => p.advertised);
    if (all.length !== this.size) return false;
    return this.peers.every((p) => {
      const view = new Set(p.peers);
      return view.size === this.size - 1 && all.every((a) => a === p.advertised || view.has(a));
    });
  }

  /** Adds a listener to every peer's events (index of the peer, event). */
  subscribe(listener: (index: number, event: PeerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    for (const u of this.#unsubscribe) u();
    this.#listeners.clear();
  }
}
