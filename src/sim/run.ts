import { createRng, type Rng } from '../core/rng.js';
import { cdfPoints, reachCurve } from '../report/curves.js';
import { summarizeGraph } from '../report/graph.js';
import {
  type LatencyStats,
  latencyStatsOf,
  type MessageTotals,
  type OverlaySummary,
  percentileOf,
} from '../report/summary.js';
import { EMPTY_SCENARIO, type Scenario, scenarioEnd } from '../scenario/model.js';
import { resolveTimeline, type TimelineAction } from '../scenario/timeline.js';
import { SimNetwork } from './network.js';
import type { SimProtocol } from './protocol.js';
import { type FaultRecord, liveGraph, Recorder, type Sample } from './recorder.js';

/**
 * One simulated run: N peers join (at a rate, each through a random running peer), the overlay
 * converges, then the measured phase sends M broadcasts from random peers while the scenario's
 * faults happen, and a drain waits for the last deliveries. Virtual time; the result carries the
 * same figures as `emulate`'s and the simulated times.
 */
export interface SimulationOptions {
  readonly peers: number;
  readonly messages: number;
  readonly seed: number;
  readonly scenario: Scenario;
  /** Peers starting per virtual second while the network forms. */
  readonly joinPerSecond: number;
  /** Virtual time between two samples of the time series (and convergence checks). */
  readonly sampleMs: number;
  /** Measured phase; null: 1 s, or 10 s past the scenario's last step. */
  readonly durationMs: number | null;
  /** After the measured phase, wait at most this long for deliveries to complete. */
  readonly drainMs: number;
  /** Give up waiting for convergence after this long past the last join. */
  readonly convergeTimeoutMs: number;
  /**
   * Whom a starting peer joins through: the bootstrap (the first running peer of its group, as
   * `--connect` to one address does) or a random running peer.
   */
  readonly contact: 'bootstrap' | 'random';
}

export const SIM_DEFAULTS = {
  joinPerSecond: 10_000,
  sampleMs: 250,
  drainMs: 30_000,
  convergeTimeoutMs: 60_000,
  contact: 'bootstrap',
  /** Settling time after the scenario's last step, so that delivery after healing is measured. */
  settleMs: 10_000,
} as const;

/** A run with no faults: `messages` broadcasts at `peers` peers (the benchmark's and tests' plain run). */
export function plainRun(peers: number, seed: number, messages = 10): SimulationOptions {
  return { ...SIM_DEFAULTS, peers, messages, seed, scenario: EMPTY_SCENARIO, durationMs: null };
}

/**
 * After converging, one broadcast before the measured phase, given this long at most (virtual) to
 * reach everyone: Plumtree's first message floods and prunes the eager links into a tree, so
 * measuring from the second message on is measuring the protocol's steady state. `emulate` does
 * the same (`WARM_UP_MS`), so their figures compare.
 */
const WARM_UP_MAX_MS = 5_000;
const WARM_UP_ID = 'warm-up';

/** Mean degree moving less than this between two samples counts as settled. */
const SETTLED_DEGREE_CHANGE = 0.01;

export interface SimProgress {
  readonly phase: string;
  readonly virtualMs: number;
  readonly peers: number;
  readonly components: number;
  readonly events: number;
}

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

/** The running peers, for drawing one at random in O(1) (swap-remove keeps the list dense). */
class RunningSet {
  readonly #list: number[] = [];
  readonly #position = new Map<number, number>();

  add(i: number): void {
    if (this.#position.has(i)) return;
    this.#position.set(i, this.#list.length);
    this.#list.push(i);
  }

  delete(i: number): void {
    const at = this.#position.get(i);
    if (at === undefined) return;
    const last = this.#list.pop() as number;
    this.#position.delete(i);
    if (last !== i) {
      this.#list[at] = last;
      this.#position.set(last, at);
    }
  }

  /** The first running peer in the list that fits (the bootstrap while it runs), or null. */
  first(fits: (i: number) => boolean): number | null {
    return this.#list.find(fits) ?? null;
  }

  /** A random running peer that fits (found by trying), or null. */
  pick(rng: Rng, fits: (i: number) => boolean = () => true): number | null {
    const list = this.#list;
    if (list.length === 0) return null;
    for (let tries = 0; tries < 64; tries++) {
      const i = list[rng.int(list.length)] as number;
      if (fits(i)) return i;
    }
    return list.find(fits) ?? null;
  }
}

export function runSimulation<M, E>(
  protocol: SimProtocol<M, E>,
  options: SimulationOptions,
  onProgress?: (progress: SimProgress) => void,
): SimulationRun {
  const wallStart = performance.now();
  const timeline = resolveTimeline(options.scenario, { peers: options.peers, seed: options.seed });
  const recorder = new Recorder(timeline.totalPeers);
  const net = new SimNetwork(protocol, timeline.totalPeers, options.seed, {
    onDelivery: (node, id, hops, at) => {
      if (id === WARM_UP_ID) warmUpReached++;
      else recorder.delivered(node, id, hops, at);
    },
  });
  net.shape = timeline.shape;
  const rng = createRng(options.seed ^ 0x51a7e);
  const alive = (i: number): boolean => net.alive(i);
  const running = new RunningSet();
  const startPeer = (i: number, group: number): void => {
    const fits = (j: number): boolean => net.group(j) === group;
    const contact = options.contact === 'random' ? running.pick(rng, fits) : running.first(fits);
    recorder.startedAt[i] = net.now;
    net.start(i, contact, group);
    running.add(i);
  };

  const joinGap = 1_000 / options.joinPerSecond;
  for (let i = 0; i < options.peers; i++) net.at(i * joinGap, () => startPeer(i, 0));
  const joinedMs = (options.peers - 1) * joinGap;

  let phase = 'join';
  let warmUpUntil = 0;
  let warmUpReached = 0;
  let payloadSendsBefore = 0;
  let convergedAt: number | null = null;
  let measureFrom = Number.NaN;
  let measureEnd = Number.NaN;
  let previousMean = -1;
  const durationMs =
    options.durationMs ??
    (options.scenario.steps.length === 0
      ? 1_000
      : scenarioEnd(options.scenario) + SIM_DEFAULTS.settleMs);

  const beginMeasure = (): void => {
    phase = 'measure';
    measureFrom = net.now;
    // The warm-up's sends are not the measured messages'.
    payloadSendsBefore = net.payloadSends;
    measureEnd = measureFrom + durationMs;
    for (const action of timeline.actions) net.at(measureFrom + action.at, () => apply(action));
    const gap = durationMs / Math.max(1, options.messages);
    for (let k = 0; k < options.messages; k++) {
      net.at(measureFrom + k * gap, () => {
        const origin = running.pick(rng);
        if (origin === null) return;
        const id = `m${k}`;
        recorder.sent(id, origin, net.now);
        // The payload is the id: a protocol without ids of its own (the full mesh) names it by text.
        net.input(origin, { kind: 'broadcast', id, payload: id });
      });
    }
  };
  const cutRng = rng.fork();
  const apply = (action: TimelineAction): void => {
    const t = net.now;
    const atMs = action.at;
    switch (action.kind) {
      case 'start':
      case 'restart':
        action.peers.forEach((p, k) => {
          startPeer(p, action.groups[k] ?? 0);
        });
        recorder.faults.push({
          t,
          atMs,
          kind: action.kind,
          peers: action.peers.length,
          indices: action.peers,
        });
        return;
      case 'kill':
      case 'stop':
        for (const p of action.peers) {
          net.kill(p, action.kind === 'kill' ? 'reset' : 'goodbye');
          running.delete(p);
        }
        recorder.faults.push({
          t,
          atMs,
          kind: action.kind,
          peers: action.peers.length,
          indices: action.peers,
        });
        return;
      case 'cut':
        recorder.faults.push({ t, atMs, kind: 'cut', peers: net.cut(action.count, cutRng) });
        return;
      case 'partition':
        net.partition(action.groups);
        recorder.faults.push({ t, atMs, kind: 'partition', peers: action.groups.length });
        return;
      case 'heal':
        net.heal();
        recorder.faults.push({ t, atMs, kind: 'heal', peers: 0 });
        return;
      case 'shape':
        net.shape = action.shape;
        recorder.faults.push({ t, atMs, kind: 'shape', peers: 0 });
        return;
    }
  };
  const allDelivered = (): boolean => {
    for (const record of recorder.messages)
      if (record.count < recorder.eligible(record, alive).length) return false;
    return recorder.messages.length >= options.messages;
  };

  for (let t = 0; ; t += options.sampleMs) {
    net.run(t);
    const graph = liveGraph(net.adjacency(), alive);
    const window = recorder.takeWindow();
    recorder.samples.push({
      t,
      phase,
      ...graph,
      inFlight: net.inFlight,
      deliveriesPerSecond: (window.count * 1_000) / options.sampleMs,
      latencyMs: window.latency,
      reach: recorder.messages.map((m) => m.count),
    });
    onProgress?.({
      phase,
      virtualMs: t,
      peers: graph.peers,
      components: graph.components,
      events: net.events,
    });
    if (phase === 'join' && t >= joinedMs) phase = 'converge';
    if (phase === 'converge') {
      const settled =
        graph.components === 1 &&
        graph.degree.min >= 1 &&
        Math.abs(graph.degree.mean - previousMean) <= SETTLED_DEGREE_CHANGE * graph.degree.mean;
      previousMean = graph.degree.mean;
      if (settled) convergedAt = t;
      if (settled || t - joinedMs >= options.convergeTimeoutMs) {
        phase = 'warm-up';
        warmUpUntil = t + WARM_UP_MAX_MS;
        const origin = running.pick(rng);
        if (origin !== null)
          net.input(origin, { kind: 'broadcast', id: 'warm-up', payload: 'warm-up' });
      }
    } else if (phase === 'warm-up') {
      if (warmUpReached >= graph.peers - 1 || t >= warmUpUntil) beginMeasure();
    } else if (phase === 'measure' && t >= measureEnd) {
      phase = 'drain';
    } else if (phase === 'drain' && (allDelivered() || t >= measureEnd + options.drainMs)) {
      break;
    }
  }
  const latencies: number[] = [];
  const times = { joinedMs, convergedAt, measureFrom, wallStart, payloadSendsBefore };
  const result = summarize(net, recorder, options, times, latencies);
  return { result, samples: recorder.samples, latencyCdf: cdfPoints(latencies) };
}

function summarize<M, E>(
  net: SimNetwork<M, E>,
  recorder: Recorder,
  options: SimulationOptions,
  times: {
    joinedMs: number;
    convergedAt: number | null;
    measureFrom: number;
    wallStart: number;
    payloadSendsBefore: number;
  },
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
