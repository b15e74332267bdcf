/**
 * The simulator's sweeps (`npm run bench:sim`; `-- --quick` for a smoke run; `-- --part sizes` or
 * `-- --part kills` to run one half, each merged into the same results file):
 * 1. delivery and hops of HyParView + Plumtree against N, from 100 to 100,000 peers;
 * 2. HyParView's headline experiment (Leitao et al., DSN 2007, fig. 3): kill a fraction of the
 *    peers at once, then broadcast: delivery to the survivors and the time until they form one
 *    component again, for 10 % to 95 % killed, to show where it breaks.
 * Every point over several seeds (min, median, max). Writes bench/results/sim.json and sim.svg.
 * Virtual-time figures are exact for a seed; wall times depend on the machine's load.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../src/report/charts.js';
import { scenarioFromFlags } from '../src/scenario/flags.js';
import { hyparviewProtocol } from '../src/sim/protocols.js';
import { plainRun, runSimulation, type SimulationOptions } from '../src/sim/run.js';

const quick = process.argv.includes('--quick');
const partAt = process.argv.indexOf('--part');
const part = partAt < 0 ? 'all' : process.argv[partAt + 1];
const SIZES = quick ? [100, 1_000] : [100, 1_000, 10_000, 100_000];
/** Seeds per point; the 100,000-peer run (about 100 s) gets one. */
const SEEDS = quick ? [1, 2] : [1, 2, 3];
const seedsFor = (peers: number): number[] => (peers >= 100_000 ? [1] : SEEDS);
const KILL_N = quick ? 500 : 2_000;
const FRACTIONS = quick ? [0.2, 0.8] : [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const RESULTS = join(import.meta.dirname, 'results');
const FILE = join(RESULTS, quick ? 'sim-quick.json' : 'sim.json');

const base = (peers: number, seed: number): SimulationOptions => plainRun(peers, seed);

interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}
const spread = (values: readonly number[]): Spread => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
};
const log = (row: unknown): void => {
  process.stdout.write(`${JSON.stringify(row)}\n`);
};

function sizeRow(peers: number) {
  const runs = seedsFor(peers).map((seed) => {
    const cpu = process.cpuUsage();
    const { result: r } = runSimulation(hyparviewProtocol(), base(peers, seed));
    const used = process.cpuUsage(cpu);
    const run = {
      seed,
      delivery: r.messages.expected === 0 ? 0 : r.messages.received / r.messages.expected,
      hopsP50: r.overlay.hops.p50,
      hopsP99: r.overlay.hops.p99,
      hopsMax: r.overlay.hops.max,
      diameter: r.overlay.diameter,
      payloadSendsPerDelivery: r.overlay.payloadSendsPerDelivery,
      convergeMs: r.simulated.convergeMs,
      wallMs: Math.round(r.wall.elapsedMs),
      cpuMs: Math.round((used.user + used.system) / 1_000),
      rssMb: r.wall.rssMb,
      events: r.wall.events,
    };
    log({ N: peers, ...run });
    return run;
  });
  const of = (key: 'delivery' | 'hopsP50' | 'hopsP99' | 'hopsMax' | 'diameter') =>
    spread(runs.map((r) => r[key]));
  return {
    N: peers,
    seeds: runs.length,
    delivery: of('delivery'),
    hopsP50: of('hopsP50'),
    hopsP99: of('hopsP99'),
    hopsMax: of('hopsMax'),
    diameter: of('diameter'),
    runs,
  };
}

/** Kill at 1 s into the measured phase; messages from 2 s on; 20 s to heal. */
function killRow(fraction: number) {
  const runs = SEEDS.map((seed) => {
    const scenario = scenarioFromFlags({ kill: [`${fraction * 100}%@1s`] }, 20_000);
    const { result: r, samples } = runSimulation(hyparviewProtocol(), {
      ...base(KILL_N, seed),
      scenario,
      durationMs: 20_000,
    });
    const killAt = r.simulated.measureFromMs + 1_000;
    const healed = samples.find((s) => s.t > killAt && s.components === 1);
    // Messages sent after the kill: the first one at 2 s tests the tree right after the failure.
    const after = r.reach.filter((m) => m.sentAtMs > 1_000);
    const expected = after.reduce((a, m) => a + m.expected, 0);
    const received = after.reduce((a, m) => a + m.received, 0);
    const first = after[0];
    const run = {
      seed,
      deliveryAfterKill: expected === 0 ? 0 : received / expected,
      firstMessageDelivery:
        first === undefined || first.expected === 0 ? 0 : first.received / first.expected,
      healMs: healed === undefined ? null : healed.t - killAt,
      componentsAtEnd: r.overlay.components,
    };
    log({ killed: fraction, N: KILL_N, ...run });
    return run;
  });
  const heals = runs.map((r) => r.healMs);
  return {
    killed: fraction,
    N: KILL_N,
    seeds: runs.length,
    deliveryAfterKill: spread(runs.map((r) => r.deliveryAfterKill)),
    firstMessageDelivery: spread(runs.map((r) => r.firstMessageDelivery)),
    /** Over the seeds that healed within the 20 s; `neverHealed` counts the others. */
    healMs: spread(heals.filter((h) => h !== null)),
    neverHealed: heals.filter((h) => h === null).length,
    runs,
  };
}

type Results = { sizes?: ReturnType<typeof sizeRow>[]; kills?: ReturnType<typeof killRow>[] };
const previous: Results = JSON.parse(await readFile(FILE, 'utf8').catch(() => '{}'));
const sizes = part === 'kills' ? (previous.sizes ?? []) : SIZES.map(sizeRow);
const kills = part === 'sizes' ? (previous.kills ?? []) : FRACTIONS.map(killRow);
await writeFile(FILE, `${JSON.stringify({ seeds: SEEDS, sizes, kills }, null, 2)}\n`);

const q = 'quantitative' as const;
const band = (x: string, y: string, color: string) =>
  [
    {
      mark: { type: 'rule' as const },
      encoding: { y: { field: `${y}Min`, type: q }, y2: { field: `${y}Max` } },
    },
    {
      mark: { type: 'line' as const, point: true },
      encoding: { y: { field: `${y}Median`, type: q } },
    },
  ].map((layer) => ({
    ...layer,
    encoding: { x: { field: x, type: q }, color: { datum: color }, ...layer.encoding },
  }));
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  hconcat: [
    {
      title: 'Hops against N (simulated; median, min-max over seeds)',
      width: 300,
      height: 220,
      data: {
        values: sizes.map((r) => ({
          N: r.N,
          p50Min: r.hopsP50.min,
          p50Median: r.hopsP50.median,
          p50Max: r.hopsP50.max,
          p99Min: r.hopsP99.min,
          p99Median: r.hopsP99.median,
          p99Max: r.hopsP99.max,
        })),
      },
      encoding: { x: { field: 'N', type: q, scale: { type: 'log' } } },
      layer: [...band('N', 'p50', 'hops p50'), ...band('N', 'p99', 'hops p99')],
    },
    {
      title: `Delivery after killing a fraction at once (N = ${KILL_N})`,
      width: 300,
      height: 220,
      data: {
        values: kills.map((r) => ({
          killed: r.killed * 100,
          allMin: r.deliveryAfterKill.min * 100,
          allMedian: r.deliveryAfterKill.median * 100,
          allMax: r.deliveryAfterKill.max * 100,
          firstMin: r.firstMessageDelivery.min * 100,
          firstMedian: r.firstMessageDelivery.median * 100,
          firstMax: r.firstMessageDelivery.max * 100,
        })),
      },
      layer: [
        ...band('killed', 'all', 'all messages after the kill'),
        ...band('killed', 'first', 'first message, 1 s after'),
      ],
    },
    {
      title: 'Time until one component again',
      width: 300,
      height: 220,
      data: {
        values: kills.map((r) => ({
          killed: r.killed * 100,
          healMin: r.healMs.min,
          healMedian: r.healMs.median,
          healMax: r.healMs.max,
        })),
      },
      layer: band('killed', 'heal', 'ms (virtual) after the kill'),
    },
  ],
};
if (!quick)
  await writeFile(join(RESULTS, 'sim.svg'), await renderSvg(spec, 'naive-peer simulator sweeps'));
process.stdout.write(`wrote ${FILE}${quick ? '' : ' and sim.svg'}\n`);
