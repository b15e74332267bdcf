import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * SVG charts of one run, drawn with vega-lite (rendered headless by vega, no browser): how each
 * message reached the peers, the degree histogram, the latency CDF and the healing after faults.
 * Pure specs from plain data, so emulate can draw the same charts from its own figures.
 */

export interface ChartData {
  /** Per message: [ms after sending, fraction of expected peers reached]. */
  readonly reach: ReadonlyArray<{
    readonly id: string;
    readonly curve: ReadonlyArray<readonly [number, number]>;
  }>;
  /** histogram[d]: peers with d links. */
  readonly degreeHistogram: readonly number[];
  /** [latency ms, fraction of deliveries at or below]. */
  readonly latencyCdf: ReadonlyArray<readonly [number, number]>;
  /** The time series: t (virtual ms), peers, components, largest component, mean degree. */
  readonly samples: ReadonlyArray<{
    readonly t: number;
    readonly peers: number;
    readonly components: number;
    readonly largestComponent: number;
    readonly degree: { readonly mean: number };
  }>;
  readonly faults: ReadonlyArray<{
    readonly t: number;
    readonly kind: string;
    readonly peers: number;
  }>;
  /** Where the time axis of the healing chart starts (the measured phase). */
  readonly fromMs: number;
  /** Whose milliseconds: the simulator's virtual clock or the wall clock of a run on sockets. */
  readonly clock: 'virtual' | 'wall';
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SIZE = { width: 420, height: 260 };
const q = 'quantitative' as const;

/** The reach chart draws at most this many messages (evenly spread over those sent). */
export const REACH_CHART_MESSAGES = 20;

export function reachSpec(data: ChartData): TopLevelSpec {
  const every = Math.ceil(data.reach.length / REACH_CHART_MESSAGES);
  const drawn = data.reach.filter((_, k) => k % every === 0);
  const values = drawn.flatMap((m) =>
    m.curve.map(([ms, fraction]) => ({ message: m.id, ms, percent: fraction * 100 })),
  );
  return {
    $schema: SCHEMA,
    background: 'white',
    title:
      drawn.length === data.reach.length
        ? 'Reach of each message over time'
        : `Reach over time of every ${every}th message (${drawn.length} of ${data.reach.length})`,
    ...SIZE,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: q, title: `ms after the broadcast (${data.clock})` },
      y: { field: 'percent', type: q, title: 'peers reached (%)', scale: { domain: [0, 100] } },
      color: { field: 'message', type: 'nominal', title: 'message' },
    },
  };
}

export function degreeSpec(data: ChartData): TopLevelSpec {
  return {
    $schema: SCHEMA,
    background: 'white',
    title: 'Degree histogram (open links per peer, end of run)',
    ...SIZE,
    data: { values: data.degreeHistogram.map((peers, degree) => ({ degree, peers })) },
    mark: 'bar',
    encoding: {
      x: { field: 'degree', type: 'ordinal', title: 'links' },
      y: { field: 'peers', type: q, title: 'peers' },
    },
  };
}

export function latencySpec(data: ChartData): TopLevelSpec {
  return {
    $schema: SCHEMA,
    background: 'white',
    title: 'Delivery latency CDF',
    ...SIZE,
    data: { values: data.latencyCdf.map(([ms, fraction]) => ({ ms, percent: fraction * 100 })) },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: q, title: `latency (ms, ${data.clock})` },
      y: { field: 'percent', type: q, title: 'deliveries (%)', scale: { domain: [0, 100] } },
    },
  };
}

export function healingSpec(data: ChartData): TopLevelSpec {
  const points = data.samples
    .filter((s) => s.t >= data.fromMs)
    .flatMap((s) => {
      const t = (s.t - data.fromMs) / 1_000;
      return [
        {
          t,
          value: s.peers === 0 ? 0 : (100 * s.largestComponent) / s.peers,
          series: 'largest component (% of live peers)',
        },
        { t, value: s.components, series: 'components' },
        { t, value: s.degree.mean, series: 'mean links per peer' },
      ];
    });
  const faults = data.faults.map((f) => ({
    t: (f.t - data.fromMs) / 1_000,
    label: `${f.kind}${f.peers > 0 ? ` ${f.peers}` : ''}`,
  }));
  const x = { field: 't', type: q, title: `s since the measured phase began (${data.clock})` };
  const panel = (series: string) => ({
    width: SIZE.width,
    height: 110,
    layer: [
      {
        data: { values: points.filter((p) => p.series === series) },
        mark: 'line' as const,
        encoding: { x, y: { field: 'value', type: q, title: series } },
      },
      {
        data: { values: faults },
        mark: { type: 'rule' as const, color: 'firebrick', strokeDash: [4, 3] },
        encoding: { x, tooltip: { field: 'label', type: 'nominal' as const } },
      },
    ],
  });
  return {
    $schema: SCHEMA,
    background: 'white',
    title: 'Healing after faults (dashed: a fault or a heal)',
    vconcat: SERIES.map(panel),
  };
}

const SERIES = ['largest component (% of live peers)', 'components', 'mean links per peer'];

export async function renderSvg(spec: TopLevelSpec, title: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  // A <title> for readers, without the ARIA roles on <g> that the project's linter rejects.
  return svg
    .replace(/ (role|aria-[a-z]+)="[^"]*"/g, '')
    .replace(/^(<svg[^>]*>)/, `$1<title>${title}</title>`);
}

/** Every chart of a run: file name -> SVG text. */
export async function renderCharts(data: ChartData): Promise<Record<string, string>> {
  return {
    'reach.svg': await renderSvg(reachSpec(data), 'Reach of each message over time'),
    'degree.svg': await renderSvg(degreeSpec(data), 'Degree histogram'),
    'latency-cdf.svg': await renderSvg(latencySpec(data), 'Delivery latency CDF'),
    'healing.svg': await renderSvg(healingSpec(data), 'Healing after faults'),
  };
}
