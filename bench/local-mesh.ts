import {
  chainBootstrap,
  chainOptions,
  findFreePortRange,
  LOOPBACK,
  peerPorts,
} from '../src/emulator/bootstrap.js';
import { MeshState } from '../src/emulator/mesh.js';
import { now } from '../src/peer/clock.js';
import type { PeerEvent } from '../src/peer/events.js';
import { Peer } from '../src/peer/peer.js';
import { formatHostPort } from '../src/protocol/address.js';

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
 * N peers hosted on the calling thread, set up as the emulator sets up its own (its free port
 * range, peer options and chain bootstrap once all listen, and its mesh check over the peers'
 * events), so the hosts differ only in where the peers run.
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
    const ports = peerPorts(await findFreePortRange(size), size);
    const state = new MeshState(ports.map((port) => formatHostPort({ host: LOOPBACK, port })));
    let fullAt = 0;
    let onFull: (() => void) | undefined;
    const begin = now();
    let lastListening = begin;
    try {
      const peerOptions = chainOptions(ports, { periodMs: options.periodMs });
      for (const [i, peerOption] of peerOptions.entries()) {
        // A random phase of the period, as the emulator gives its peers: comparable latency.
        const peer = new Peer({ ...peerOption, firstGossipMs: Math.random() * options.periodMs });
        mesh.peers.push(peer);
        mesh.#unsubscribe.push(
          peer.events.subscribe((event) => {
            if (event.type === 'listening') lastListening = Math.max(lastListening, event.at);
            if (state.apply(i, event) && state.complete && fullAt === 0) {
              fullAt = event.at;
              onFull?.();
            }
            for (const listener of mesh.#listeners) listener(i, event);
          }),
        );
        await peer.start();
      }
      chainBootstrap(ports).forEach((address, i) => {
        if (address !== undefined) mesh.peers[i]?.join(address);
      });
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
