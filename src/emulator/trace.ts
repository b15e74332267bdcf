import { now } from '../peer/clock.js';
import { cdfPoints, reachCurve } from '../report/curves.js';
import { writeFiles } from '../report/files.js';
import { type Adjacency, componentsOf, degreeStats } from '../report/graph.js';
import type { AppliedFault } from './faults.js';
import type { EmulationResult } from './result.js';

/**
 * What `emulate --out` records while the measured window runs, for the same files and charts as
 * `simulate --out`: each window message's send and receipts (wall time), and a sample of the
 * network's shape every `TRACE_SAMPLE_MS` (live peers, links, components, degree).
 */

/** Wall milliseconds between two samples of the links (the simulator's default step). */
export const TRACE_SAMPLE_MS = 250;

export interface TraceSample {
  /** Milliseconds since the measured window opened. */
  readonly t: number;
  readonly peers: number;
  readonly links: number;
  readonly degree: { readonly min: number; readonly mean: number; readonly max: number };
  readonly components: number;
  readonly largestComponent: number;
}

interface TracedMessage {
  readonly at: number;
  readonly receivers: number;
  readonly receipts: number[];
}

/** The live peers' links, as indices into the live list (what `sample` reads). */
export type LiveLinks = () => Adjacency;

export class EmulationTrace {
  readonly samples: TraceSample[] = [];
  /** Degree histogram of the live peers at the last sample. */
  histogram: readonly number[] = [];
  readonly #messages = new Map<string, TracedMessage>();
  /** Receipts that came before their send (each peer's events come over its own port). */
  readonly #early = new Map<string, number[]>();
  #from = Number.NaN;
  #timer: NodeJS.Timeout | undefined;

  /** The window opened at `at`; samples `links` every TRACE_SAMPLE_MS until `close`. */
  open(at: number, links: LiveLinks): void {
    this.#from = at;
    this.#sample(at, links);
    this.#timer = setInterval(() => this.#sample(now(), links), TRACE_SAMPLE_MS);
  }

  close(at: number, links: LiveLinks): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (!Number.isNaN(this.#from)) this.#sample(at, links);
  }

  sent(text: string, at: number, receivers: number): void {
    if (Number.isNaN(this.#from) || at < this.#from || this.#timer === undefined) return;
    const receipts = this.#early.get(text) ?? [];
    this.#early.delete(text);
    this.#messages.set(text, { at, receivers, receipts });
  }

  received(text: string, at: number): void {
    if (Number.isNaN(this.#from)) return;
    const message = this.#messages.get(text);
    if (message !== undefined) message.receipts.push(at);
    else this.#early.set(text, [...(this.#early.get(text) ?? []), at]);
  }

  #sample(at: number, links: LiveLinks): void {
    const graph = links();
    const component = componentsOf(graph);
    const sizes = new Map<number, number>();
    for (const c of component) sizes.set(c, (sizes.get(c) ?? 0) + 1);
    const degree = degreeStats(graph);
    this.histogram = degree.histogram;
    this.samples.push({
      t: at - this.#from,
      peers: graph.length,
      links: graph.reduce((sum, n) => sum + n.length, 0) / 2,
      degree: { min: degree.min, mean: degree.mean, max: degree.max },
      components: sizes.size,
      largestComponent: Math.max(0, ...sizes.values()),
    });
  }

  /** Per message, in the order sent: its reach curve; and every delivery's latency, ascending. */
  reach(): {
    messages: {
      id: string;
      sentAtMs: number;
      expected: number;
      received: number;
      curve: [number, number][];
    }[];
    latencies: number[];
  } {
    const latencies: number[] = [];
    const messages = [...this.#messages.entries()]
      .sort((a, b) => a[1].at - b[1].at)
      .map(([, m], k) => {
        const delays = m.receipts
          .map((r) => Math.max(0, r - m.at))
          .sort((a, b) => a - b)
          .slice(0, m.receivers);
        latencies.push(...delays);
        return {
          id: `m${k}`,
          sentAtMs: m.at - this.#from,
          expected: m.receivers,
          received: delays.length,
          curve: reachCurve(delays, m.receivers),
        };
      });
    latencies.sort((a, b) => a - b);
    return { messages, latencies };
  }
}

/** A fault as the charts and timeseries.json show it: when, what, how many peers. */
export function faultPoint(fault: AppliedFault): { t: number; kind: string; peers: number } {
  const peers = fault.ports?.length ?? fault.count ?? fault.groups?.length ?? 0;
  return { t: fault.appliedMs, kind: fault.kind, peers };
}

/**
 * `emulate --out DIR`: result.json (what --json prints), timeseries.json (samples, faults, reach
 * curves, latency CDF) and the four SVG charts `simulate --out` draws. Returns the paths written.
 */
export async function writeEmulationFiles(
  dir: string,
  result: EmulationResult,
  trace: EmulationTrace,
): Promise<string[]> {
  const { messages, latencies } = trace.reach();
  const latencyCdf = cdfPoints(latencies);
  const faults = result.faults.map(faultPoint);
  const histogram = trace.histogram;
  // vega is loaded only when charts are asked for.
  const { renderCharts } = await import('../report/charts.js');
  const files: Record<string, string> = {
    'result.json': `${JSON.stringify(result, null, 2)}\n`,
    'timeseries.json': `${JSON.stringify({ seed: result.seed, clock: 'wall', samples: trace.samples, faults, reach: messages, latencyCdf })}\n`,
    ...(await renderCharts({
      reach: messages,
      degreeHistogram: histogram,
      latencyCdf,
      samples: trace.samples,
      faults,
      fromMs: 0,
      clock: 'wall',
    })),
  };
  return writeFiles(dir, files);
}
