import type { DegreeStats } from '../report/graph.js';

/**
 * What an emulation of a partial overlay (`--overlay hyparview`) measured beyond a full mesh's
 * figures: the shape of the overlay and what its messages did. Plain data, in the JSON document.
 */
export interface OverlayReport {
  readonly kind: string;
  readonly activeView: number | null;
  readonly passiveView: number | null;
  /** From the last peer listening (the joins start then) to one connected overlay; null: never. */
  readonly formedMs: number | null;
  readonly components: number;
  readonly largestComponent: number;
  /** Longest shortest path seen by BFS from `diameterSamples` seeded peers. */
  readonly diameter: number;
  readonly diameterSamples: number;
  readonly degree: DegreeStats;
  /** Links crossed by each (message, receiver) pair of the window. */
  readonly hops: { readonly p50: number; readonly p99: number; readonly max: number } | null;
  /** Per message of the window: the share of the other peers it reached. */
  readonly reach: {
    readonly messages: number;
    /** Messages that reached every other peer. */
    readonly complete: number;
    readonly min: number;
    readonly mean: number;
  } | null;
  /** Payload frames sent (eager pushes, GRAFT answers) per first delivery, over the window. */
  readonly payloadSendsPerDelivery: number | null;
  /**
   * Process RSS once the overlay formed, beyond the process before the pool started, per peer
   * (the worker threads' own isolates included).
   */
  readonly memory: { readonly rssPerPeerBytes: number } | null;
  /** Most files the process held open at once while the overlay formed (sampled every 50 ms). */
  readonly peakOpenFiles: number;
  /** TCP connections the kernel shows between the peers once formed, beside the links reported. */
  readonly sockets: { readonly connections: number; readonly links: number } | null;
}
