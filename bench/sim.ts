/**
 * The simulator's sweeps (`npm run bench:sim`, or `-- --quick` for a smoke run):
 * 1. delivery and hops of HyParView + Plumtree against N, from 100 to 100,000 peers;
 * 2. HyParView's headline experiment (Leitao et al., DSN 2007, fig. 3): kill a fraction of the
 *    peers at once, then broadcast: delivery to the survivors and the time until they form one
 *    component again, for 10 % to 95 % killed, to show where it breaks.
 * Writes bench/results/sim.json and bench/results/sim.svg. Virtual-time figures are exact for a
 * seed; wall times depend on the machine's load (say so when quoting them).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../src/report/charts.js';
import { scenarioFromFlags } from '../src/scenario/flags.js';
import { EMPTY_SCENARIO } from '../src/scenario/model.js';
import { hyparviewProtocol } from '../src/sim/protocols.js';
import { runSimulation, SIM_DEFAULTS, type SimulationOptions } from '../src/sim/run.js';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [100, 1_000] : [100, 1_000, 10_000, 100_000];
const KILL_N = quick ? 500 : 2_000;
const FRACTIONS = quick ? [0.2, 0.8] : [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const SEED = 1;
const RESULTS = join(import.meta.dirname, 'results');

const base = (peers: number): SimulationOptions => ({
  ...SIM_DEFAULTS,
  peers,
  messages: 10,
  seed: SEED,
  scenario: EMPTY_SCENARIO,
  durationMs: null,
});

const sizeRows = SIZES.map((peers) => {
  const cpu = process.cpuUsage();
  const { result: r } = runSimulation(hyparviewProtocol(), base(peers));
  const used = process.cpuUsage(cpu);
  const row = {
    N: peers,
    delivery: r.messages.expected === 0 ? 0 : r.messages.received / r.messages.expected,
    hopsP50: r.overlay.hops.p50,
    hopsP99: r.overlay.hops.p99,
    hopsMax: r.overlay.hops.max,
    payloadSendsPerDelivery: r.overlay.payloadSendsPerDelivery,
    latencyP99Ms: r.latencyMs?.p99 ?? null,
    convergeMs: r.simulated.convergeMs,
    wallMs: Math.round(r.wall.elapsedMs),
    cpuMs: Math.round((used.user + used.system) / 1_000),
    rssMb: r.wall.rssMb,
    events: r.wall.events,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
});

/** Kill at 1 s into the measured phase; messages from 2 s on; 20 s to heal. */
const killRows = FRACTIONS.map((fraction) => {
  const scenario = scenarioFromFlags({ kill: [`${fraction * 100}%@1s`] }, 20_000);
  const { result: r, samples } = runSimulation(hyparviewProtocol(), {
    ...base(KILL_N),
    scenario,
    durationMs: 20_000,
  });
  const killAt = r.simulated.measureFromMs + 1_000;
  const healed = samples.find((s) => s.t > killAt && s.components === 1);
  // Messages sent after the kill: the first one at 2 s tests the tree right after the failure.
  const after = r.reach.filter((m) => m.sentAtMs > 1_000);
  const expected = after.reduce((a, m) => a + m.expected, 0);
  const received = after.reduce((a, m) => a + m.received, 0);
  const row = {
    killed: fraction,
    N: KILL_N,
    deliveryAfterKill: expected === 0 ? 0 : received / expected,
    firstMessageDelivery:
      after[0] === undefined || after[0].expected === 0 ? 0 : after[0].received / after[0].expected,
    healMs: healed === undefined ? null : healed.t - killAt,
    componentsAtEnd: r.overlay.components,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
});

await writeFile(
  join(RESULTS, quick ? 'sim-quick.json' : 'sim.json'),
  `${JSON.stringify({ seed: SEED, sizes: sizeRows, kills: killRows }, null, 2)}\n`,
);
const q = 'quantitative' as const;
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  hconcat: [
    {
      title: 'Hops against N (simulated, HyParView + Plumtree)',
      width: 300,
      height: 220,
      data: {
        values: sizeRows.flatMap((r) => [
          { N: r.N, hops: r.hopsP50, series: 'p50' },
          { N: r.N, hops: r.hopsP99, series: 'p99' },
          { N: r.N, hops: r.hopsMax, series: 'max' },
        ]),
      },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'N', type: q, scale: { type: 'log' } },
        y: { field: 'hops', type: q },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
    {
      title: `Delivery after killing a fraction at once (N = ${KILL_N})`,
      width: 300,
      height: 220,
      data: {
        values: killRows.flatMap((r) => [
          {
            killed: r.killed * 100,
            percent: r.deliveryAfterKill * 100,
            series: 'all later messages',
          },
          {
            killed: r.killed * 100,
            percent: r.firstMessageDelivery * 100,
            series: 'first message, 1 s after',
          },
        ]),
      },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'killed', type: q, title: 'peers killed (%)' },
        y: { field: 'percent', type: q, title: 'delivery to survivors (%)' },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
  ],
};
if (!quick)
  await writeFile(join(RESULTS, 'sim.svg'), await renderSvg(spec, 'naive-peer simulator sweeps'));
process.stdout.write(`wrote ${RESULTS}/${quick ? 'sim-quick.json' : 'sim.json and sim.svg'}\n`);
