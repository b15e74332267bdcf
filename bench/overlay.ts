/**
 * The overlay benchmark: emulations of N real peers over TCP on loopback (the emulator's own
 * bootstrap, formation check and measured window, `runEmulation`), for the full mesh up to its
 * limit and HyParView + Plumtree up to 2,000, each run in a fresh process (its memory figure is
 * that run's alone). Figures of several runs are given as min / median / max; the full mesh at
 * the same N in the same sweep is the baseline.
 *
 *   node --import tsx bench/overlay.ts [--full 25,50,100] [--hyparview 100,200,500,1000,2000]
 *     [--runs 2] [--rate 10] [--duration 5] [--out bench/results/overlay.json]
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type EmulationOptions, runEmulation } from '../src/emulator/emulate.js';
import type { EmulationResult } from '../src/emulator/result.js';

type Kind = 'full' | 'hyparview';

interface RunRequest {
  readonly kind: Kind;
  readonly n: number;
  readonly seed: number;
  readonly rate: number;
  readonly durationMs: number;
}

/** One run's figures (null: not measured or not reached). */
interface RunFigures {
  readonly status: string;
  readonly formedMs: number | null;
  readonly delivered: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly payloadSendsPerDelivery: number | null;
  readonly rssPerPeerKb: number | null;
  readonly diameter: number | null;
  readonly hopsP50: number | null;
  readonly degreeMean: number | null;
  readonly socketsPerLink: number | null;
  readonly connectionsPerLink: number | null;
}

/** A run may take this long before it counts as failed (2,000 peers form in about 20 s). */
const RUN_TIMEOUT_MS = 180_000;

function figures(result: EmulationResult): RunFigures {
  const o = result.overlay;
  const m = result.messages;
  const links = result.links.formed;
  return {
    status: result.status,
    formedMs: result.mesh?.fromLastStartMs ?? null,
    delivered: m === null || m.expected === 0 ? null : m.received / m.expected,
    p50Ms: result.latencyMs?.p50 ?? null,
    p99Ms: result.latencyMs?.p99 ?? null,
    payloadSendsPerDelivery: o?.payloadSendsPerDelivery ?? (o === null ? 1 : null),
    rssPerPeerKb: o?.memory === null || o === null ? null : o.memory.rssPerPeerBytes / 1024,
    diameter: o?.diameter ?? (o === null ? 1 : null),
    hopsP50: o?.hops?.p50 ?? (o === null ? 1 : null),
    degreeMean: o?.degree.mean ?? (o === null ? result.peers.length - 1 : null),
    socketsPerLink: result.sockets.end === null || links === 0 ? null : result.sockets.end / links,
    connectionsPerLink: result.connections?.perLink ?? null,
  };
}

/** Runs one emulation in this process and prints its figures as one JSON line. */
async function one(request: RunRequest): Promise<void> {
  const options: EmulationOptions = {
    peers: request.n,
    basePort: 0,
    rate: request.rate,
    durationMs: request.durationMs,
    timeoutMs: RUN_TIMEOUT_MS,
    seed: request.seed,
    ...(request.kind === 'hyparview' ? { overlay: { kind: 'hyparview' as const } } : {}),
  };
  const result = await runEmulation(options);
  process.stdout.write(`${JSON.stringify(figures(result))}\n`);
}

/** Runs `request` in a fresh Node process (same loader flags) and returns its figures. */
function spawnRun(request: RunRequest): Promise<RunFigures> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, self, '--one', JSON.stringify(request)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || line === undefined || line === '') {
        reject(new Error(`run ${JSON.stringify(request)} exited with ${code}`));
      } else resolvePromise(JSON.parse(line) as RunFigures);
    });
  });
}

type Spread = { min: number; median: number; max: number } | null;

function spread(values: ReadonlyArray<number | null>): Spread {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const median = known[Math.floor((known.length - 1) / 2)] as number;
  return { min: known[0] as number, median, max: known.at(-1) as number };
}

function show(s: Spread, digits: number, scale = 1): string {
  if (s === null) return '-';
  const f = (v: number) => (v * scale).toFixed(digits);
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
}

const COLUMNS: Array<[keyof RunFigures, string, number, number?]> = [
  ['formedMs', 'formed (s)', 1, 1 / 1000],
  ['delivered', 'delivered %', 2, 100],
  ['p50Ms', 'latency p50 ms', 0],
  ['p99Ms', 'latency p99 ms', 0],
  ['payloadSendsPerDelivery', 'payload sends/delivery', 2],
  ['rssPerPeerKb', 'RSS KB/peer', 0],
  ['diameter', 'diameter', 0],
  ['hopsP50', 'hops p50', 0],
  ['degreeMean', 'degree', 2],
  ['socketsPerLink', 'sockets/link', 2],
  ['connectionsPerLink', 'connections opened/link', 1],
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      one: { type: 'string' },
      full: { type: 'string', default: '25,50,100' },
      hyparview: { type: 'string', default: '100,200,500,1000,2000' },
      runs: { type: 'string', default: '2' },
      rate: { type: 'string', default: '10' },
      duration: { type: 'string', default: '5' },
      out: { type: 'string' },
    },
  });
  if (values.one !== undefined) {
    await one(JSON.parse(values.one) as RunRequest);
    return;
  }
  const sizes = (list: string) => list.split(',').filter(Boolean).map(Number);
  const plan: Array<[Kind, number]> = [
    ...sizes(values.full).map((n): [Kind, number] => ['full', n]),
    ...sizes(values.hyparview).map((n): [Kind, number] => ['hyparview', n]),
  ];
  const runs = Number(values.runs);
  const rows: Array<{ kind: Kind; n: number; runs: RunFigures[] }> = [];
  for (const [kind, n] of plan) {
    const row = { kind, n, runs: [] as RunFigures[] };
    for (let r = 0; r < runs; r++) {
      const request = {
        kind,
        n,
        seed: r + 1,
        rate: Number(values.rate),
        durationMs: Number(values.duration) * 1000,
      };
      process.stderr.write(`${kind} N=${n} run ${r + 1}/${runs}\n`);
      row.runs.push(await spawnRun(request));
    }
    rows.push(row);
  }
  const header = `| overlay | N | runs | ${COLUMNS.map((c) => c[1]).join(' | ')} |`;
  const lines = [header, `|${' --- |'.repeat(COLUMNS.length + 3)}`];
  for (const row of rows) {
    const cells = COLUMNS.map(([key, , digits, scale]) =>
      show(spread(row.runs.map((f) => f[key] as number | null)), digits, scale),
    );
    lines.push(`| ${row.kind} | ${row.n} | ${row.runs.length} | ${cells.join(' | ')} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.out !== undefined) {
    const out = resolve(values.out);
    await mkdir(dirname(out), { recursive: true });
    const previous = await readFile(out, 'utf8').then(
      (text) => JSON.parse(text) as { rows: typeof rows },
      () => ({ rows: [] as typeof rows }),
    );
    const merged = [
      ...previous.rows.filter((p) => !rows.some((r) => r.kind === p.kind && r.n === p.n)),
      ...rows,
    ];
    await writeFile(
      out,
      `${JSON.stringify({ rate: Number(values.rate), rows: merged }, null, 2)}\n`,
    );
  }
}

await main();
