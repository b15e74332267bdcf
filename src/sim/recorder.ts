import { type LatencyStats, latencyStatsOf } from '../report/summary.js';

/**
 * What a simulation run observes as it goes: each broadcast and who got it when, and a time series
 * sampled at a fixed virtual-time step (the figures a researcher plots). Memory grows with
 * messages × peers (one float and one short each) and with the number of samples.
 */

export interface MessageRecord {
  readonly id: string;
  readonly origin: number;
  readonly sentAt: number;
  /** Virtual time of delivery per peer index; NaN: not delivered. */
  readonly deliveredAt: Float64Array;
  readonly hops: Uint16Array;
  count: number;
}

export interface Sample {
  /** Virtual milliseconds since the run began. */
  readonly t: number;
  readonly phase: string;
  readonly peers: number;
  readonly links: number;
  readonly degree: { readonly min: number; readonly mean: number; readonly max: number };
  readonly components: number;
  readonly largestComponent: number;
  readonly inFlight: number;
  readonly deliveriesPerSecond: number;
  /** Latency of the deliveries made since the previous sample. */
  readonly latencyMs: LatencyStats | null;
  /** Peers reached so far by each message, in the order they were sent. */
  readonly reach: readonly number[];
}

export interface FaultRecord {
  /** Virtual time it was applied (from the start of the run). */
  readonly t: number;
  /** When the timeline asked for it, from the start of the measured phase (emulate's `atMs`). */
  readonly atMs: number;
  readonly kind: string;
  /** Peers it took or started (groups for a partition, links for a cut). */
  readonly peers: number;
  /** The peers it took or started, by index (emulate's ports minus its base port). */
  readonly indices?: readonly number[];
}

/** The live part of a graph: degrees and components (union-find) without copying it. */
export function liveGraph(
  adjacency: readonly (readonly number[])[],
  alive: (i: number) => boolean,
): Omit<Sample, 't' | 'phase' | 'inFlight' | 'deliveriesPerSecond' | 'latencyMs' | 'reach'> {
  const n = adjacency.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[i] !== r) {
      const next = parent[i] as number;
      parent[i] = r;
      i = next;
    }
    return r;
  };
  let peers = 0;
  let ends = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < n; i++) {
    if (!alive(i)) continue;
    peers++;
    const neighbours = adjacency[i] as readonly number[];
    ends += neighbours.length;
    if (neighbours.length < min) min = neighbours.length;
    if (neighbours.length > max) max = neighbours.length;
    for (const j of neighbours) {
      const a = find(i);
      const b = find(j);
      if (a !== b) parent[a] = b;
    }
  }
  const sizes = new Map<number, number>();
  for (let i = 0; i < n; i++) if (alive(i)) sizes.set(find(i), (sizes.get(find(i)) ?? 0) + 1);
  let largest = 0;
  for (const size of sizes.values()) if (size > largest) largest = size;
  return {
    peers,
    links: ends / 2,
    degree: { min: peers === 0 ? 0 : min, mean: peers === 0 ? 0 : ends / peers, max },
    components: sizes.size,
    largestComponent: largest,
  };
}

export class Recorder {
  readonly messages: MessageRecord[] = [];
  readonly #byId = new Map<string, MessageRecord>();
  readonly samples: Sample[] = [];
  readonly faults: FaultRecord[] = [];
  /** When each peer (by index) last started; NaN: never. */
  readonly startedAt: Float64Array;
  #windowLatencies: number[] = [];
  deliveries = 0;

  constructor(readonly slots: number) {
    this.startedAt = new Float64Array(slots).fill(Number.NaN);
  }

  sent(id: string, origin: number, at: number): void {
    const record: MessageRecord = {
      id,
      origin,
      sentAt: at,
      deliveredAt: new Float64Array(this.slots).fill(Number.NaN),
      hops: new Uint16Array(this.slots),
      count: 0,
    };
    this.messages.push(record);
    this.#byId.set(id, record);
  }

  delivered(node: number, id: string, hops: number, at: number): void {
    const record = this.#byId.get(id);
    if (record === undefined || !Number.isNaN(record.deliveredAt[node] as number)) return;
    record.deliveredAt[node] = at;
    record.hops[node] = Math.min(hops, 65_535);
    record.count++;
    this.deliveries++;
    this.#windowLatencies.push(at - record.sentAt);
  }

  /** Takes the deliveries since the previous call: their count and latency figures. */
  takeWindow(): { count: number; latency: LatencyStats | null } {
    const window = this.#windowLatencies;
    this.#windowLatencies = [];
    window.sort((a, b) => a - b);
    return { count: window.length, latency: latencyStatsOf(window) };
  }

  /**
   * The peers that should get `record`: alive at the end, started before it was sent (and not
   * restarted since), not its origin.
   */
  eligible(record: MessageRecord, alive: (i: number) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots; i++) {
      if (i === record.origin || !alive(i)) continue;
      const started = this.startedAt[i] as number;
      if (started <= record.sentAt) out.push(i);
    }
    return out;
  }
}
