import { createRng } from '../core/rng.js';
import { cdfPoints } from '../report/curves.js';
import { scenarioEnd } from '../scenario/model.js';
import { resolveTimeline } from '../scenario/timeline.js';
import { faultApplier } from './fault-steps.js';
import { SimNetwork } from './network.js';
import { SIM_DEFAULTS, type SimProgress, type SimulationOptions } from './options.js';
import type { SimProtocol } from './protocol.js';
import { liveGraph, Recorder } from './recorder.js';
import { RunningSet } from './running-set.js';
import { type SimulationRun, summarize } from './summary.js';

export {
  plainRun,
  SIM_DEFAULTS,
  type SimProgress,
  type SimulationOptions,
} from './options.js';
export type { MessageReach, SimulationResult, SimulationRun } from './summary.js';

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

/**
 * One simulated run: N peers join (at a rate, each through a random running peer), the overlay
 * converges, then the measured phase sends M broadcasts from random peers while the scenario's
 * faults happen, and a drain waits for the last deliveries. Virtual time; the result carries the
 * same figures as `emulate`'s and the simulated times.
 */
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
  const apply = faultApplier(net, recorder, running, startPeer, rng.fork());
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
