import { mkdtemp, readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { maxPeersFor, readOpenFileLimit } from '../src/emulator/resources.js';
import { writeChart } from './chart.js';
import type { BenchContext } from './context.js';
import { HOSTING_FIGURES, hostingBench } from './hosting.bench.js';
import { IDLE_FIGURES, idleBench } from './idle.bench.js';
import { LATENCY_FIGURES, latencyBench } from './latency.bench.js';
import { MESH_FIGURES, meshBench } from './mesh.bench.js';
import {
  type BenchResult,
  type Mode,
  machine,
  printTable,
  printTargets,
  writeResult,
} from './report.js';

const BENCHMARKS = {
  mesh: { title: 'Time to full mesh', run: meshBench, columns: MESH_FIGURES },
  latency: { title: 'Message latency', run: latencyBench, columns: LATENCY_FIGURES },
  idle: { title: 'Idle cost and memory', run: idleBench, columns: IDLE_FIGURES },
  hosting: { title: 'Hosting comparison', run: hostingBench, columns: HOSTING_FIGURES },
} as const;
type Name = keyof typeof BENCHMARKS;

const USAGE = `usage: npm run bench -- [--quick | --smoke] [--out DIR] [--only mesh,latency,idle,hosting]
  --quick   a small version (under a minute)
  --smoke   a still smaller one (CI: checks that every figure is produced, never a timing)
  --out     where the JSON results and the SVG chart go (default: bench/results for a full run,
            the committed figures; a new temporary folder for --quick and --smoke)
  --only    run only these benchmarks`;

/** A result an earlier run left in `outDir` (the other panel of the chart), if any. */
async function earlier(outDir: string, name: string): Promise<BenchResult | undefined> {
  try {
    return JSON.parse(await readFile(join(outDir, `${name}.json`), 'utf8')) as BenchResult;
  } catch {
    return undefined;
  }
}

/** Only a deliberate full run replaces the committed figures; a smaller one (tests, CI) leaves them. */
async function outDirFor(mode: Mode, out: string | undefined): Promise<string> {
  if (out !== undefined) return resolve(out);
  if (mode === 'full') return resolve('bench/results');
  return mkdtemp(join(tmpdir(), `naive-peer-bench-${mode}-`));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const names = (values.only?.split(',') ?? Object.keys(BENCHMARKS)).map((s) => s.trim());
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}\n${USAGE}`);
  const limit = readOpenFileLimit();
  const context: BenchContext = {
    mode,
    outDir: await outDirFor(mode, values.out),
    threads: availableParallelism(),
    maxPeers: maxPeersFor(limit === null || !Number.isFinite(limit) ? 1_024 : limit),
  };
  const m = machine();
  console.log(
    `naive-peer benchmarks (${mode}): ${m.cpu}, ${m.cores} cores, ` +
      `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ` +
      `open files ${m.openFileLimit} (mesh up to ${context.maxPeers} peers in one process)`,
  );
  const started = performance.now();
  const results = new Map<Name, BenchResult>();
  for (const name of names as Name[]) {
    const { title, run, columns } = BENCHMARKS[name];
    console.error(`running ${name}...`);
    const t0 = performance.now();
    const result = await run(context);
    console.error(`${name} took ${((performance.now() - t0) / 1_000).toFixed(1)} s`);
    results.set(name, result);
    const file = await writeResult(context.outDir, result);
    printTable(`${title} (${file})`, columns, result.rows);
    printTargets(result.targets);
    // Drawn as soon as either panel's figures exist: a long run stopped later still has it.
    if (name === 'mesh' || name === 'latency') {
      const [mesh, latency] = await Promise.all(
        (['mesh', 'latency'] as const).map(
          async (n) => results.get(n) ?? (await earlier(context.outDir, n)),
        ),
      );
      const chart = await writeChart(context.outDir, mesh, latency);
      console.log(`\nchart: ${chart}`);
    }
  }
  console.log(`done in ${((performance.now() - started) / 1_000).toFixed(0)} s`);
}

await main();
