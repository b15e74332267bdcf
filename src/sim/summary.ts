import { reachCurve } from '../report/curves.js';
import { summarizeGraph } from '../report/graph.js';
import {
  type LatencyStats,
  latencyStatsOf,
  type MessageTotals,
  type OverlaySummary,
  percentileOf,
} from '../report/summary.js';
import type { SimNetwork } from './network.js';
import type { SimulationOptions } from './options.js';
import type { FaultRecord, Recorder, Sample } from './recorder.js';

export interface MessageReach {
  readonly id: string;
  readonly origin: number;
  /** From the start of the measured phase. */
  readonly sentAtMs: number;
  readonly expected: number;
  readonly received: number;
  /** Time until the last expected peer got it; null if some never did. */
  readonly completeMs: number | null;
  /** [ms after sending, fraction of expected peers reached], on a grid of 40 steps. */
  readonly curve: ReadonlyArray<readonly [number, number]>;
}

export interface SimulationResult {
  readonly mode: 'simulate';
  readonly protocol: string;
  readonly seed: number;
  readonly config: {
    readonly peers: number;
    readonly messages: number;
    readonly joinPerSecond: number;
    readonly sampleMs: number;
  };
  readonly status: 'delivered' | 'incomplete';
  readonly messages: MessageTotals;
  readonly latencyMs: LatencyStats | null;
  readonly overlay: OverlaySummary & {
    readonly largestComponent: number;
    readonly diameter: number;
    readonly degreeHistogram: readonly number[];
  };
  readonly simulated: {
    /** Virtual time when the last initial peer started. */
    readonly joinedMs: number;
    /** From the last start to a connected, settled overlay; null if it never settled. */
    readonly convergeMs: number | null;
    /** Virtual time the measured phase began at (the scenario's zero). */
    readonly measureFromMs: number;
    readonly endMs: number;
  };
  readonly reach: readonly MessageReach[];
  readonly faults: readonly FaultRecord[];
  readonly wall: {
    readonly elapsedMs: number;
    readonly events: number;
    readonly heapUsedMb: number;
    readonly rssMb: number;
  };
}

export interface SimulationRun {
  readonly result: SimulationResult;
  readonly samples: readonly Sample[];
  /** [latency ms, fraction of deliveries at or below], at most CDF_POINTS points. */
  readonly latencyCdf: ReadonlyArray<readonly [number, number]>;
}

/** When the phases of a run happened (virtual ms, but `wallStart`), and the sends before measuring. */
export interface RunTimes {
  readonly joinedMs: number;
  readonly convergedAt: number | null;
  readonly measureFrom: number;
  readonly wallStart: number;
  readonly payloadSendsBefore: number;
}

/** The result of a finished run, from its network and what the recorder saw. */
export function summarize<M, E>(
  net: SimNetwork<M, E>,
  recorder: Recorder,
  options: SimulationOptions,
  times: RunTimes,
  /** Filled with every delivery's latency, ascending. */
  latencies: number[],
): SimulationResult {
  const alive = (i: number): boolean => net.alive(i);
  let expected = 0;
  let received = 0;
  const hops: number[] = [];
  const reach: MessageReach[] = recorder.messages.map((record) => {
    const eligible = recorder.eligible(record, alive);
    const delays: number[] = [];
    for (const i of eligible) {
      const at = record.deliveredAt[i] as number;
      if (Number.isNaN(at)) continue;
      delays.push(at - record.sentAt);
      hops.push(record.hops[i] as number);
    }
    delays.sort((a, b) => a - b);
    for (const d of delays) latencies.push(d);
    expected += eligible.length;
    received += delays.length;
    const last = delays.length === 0 ? 0 : (delays[delays.length - 1] as number);
    const curve = reachCurve(delays, eligible.length);
    return {
      id: record.id,
      origin: record.origin,
      sentAtMs: record.sentAt - times.measureFrom,
      expected: eligible.length,
      received: delays.length,
      completeMs: delays.length === eligible.length ? last : null,
      curve,
    };
  });
  latencies.sort((a, b) => a - b);
  hops.sort((a, b) => a - b);
  const adjacency = net.adjacency();
  const live: number[] = [];
  const position = new Int32Array(adjacency.length).fill(-1);
  adjacency.forEach((_, i) => {
    if (alive(i)) {
      position[i] = live.length;
      live.push(i);
    }
  });
  const graph = summarizeGraph(
    live.map((i) => (adjacency[i] ?? []).map((j) => position[j] as number).filter((j) => j >= 0)),
    options.seed,
  );
  const memory = process.memoryUsage();
  return {
    mode: 'simulate',
    protocol: net.protocol.name,
    seed: options.seed,
    config: {
      peers: options.peers,
      messages: options.messages,
      joinPerSecond: options.joinPerSecond,
      sampleMs: options.sampleMs,
    },
    status:
      received === expected && recorder.messages.length === options.messages
        ? 'delivered'
        : 'incomplete',
    messages: { sent: recorder.messages.length, expected, received },
    latencyMs: latencyStatsOf(latencies),
    overlay: {
      components: graph.components,
      degree: { min: graph.degree.min, mean: graph.degree.mean, max: graph.degree.max },
      hops: {
        p50: percentileOf(hops, 0.5),
        p99: percentileOf(hops, 0.99),
        max: hops.length === 0 ? 0 : (hops[hops.length - 1] as number),
      },
      payloadSendsPerDelivery:
        recorder.deliveries === 0
          ? 0
          : (net.payloadSends - times.payloadSendsBefore) / recorder.deliveries,
      largestComponent: graph.largestComponent,
      diameter: graph.diameter,
      degreeHistogram: graph.degree.histogram,
    },
    simulated: {
      joinedMs: times.joinedMs,
      convergeMs: times.convergedAt === null ? null : times.convergedAt - times.joinedMs,
      measureFromMs: times.measureFrom,
      endMs: net.now,
    },
    reach,
    faults: recorder.faults,
    wall: {
      elapsedMs: performance.now() - times.wallStart,
      events: net.events,
      heapUsedMb: Math.round(memory.heapUsed / 2 ** 20),
      rssMb: Math.round(memory.rss / 2 ** 20),
    },
  };
}
