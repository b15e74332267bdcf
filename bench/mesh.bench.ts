import { Bench } from 'tinybench';
import { type EmulationOptions, runEmulation } from '../src/emulator/emulate.js';
import type { EmulationResult } from '../src/emulator/result.js';
import { type BenchContext, byMode } from './context.js';
import { FLOOR_HOST } from './floor.js';
import { SILENT_PERIOD_MS } from './local-mesh.js';
import {
  type BenchResult,
  benchResult,
  type Column,
  check,
  type Row,
  spread,
  spreadFields,
  type TargetCheck,
} from './report.js';

/** Sizes of the time-to-mesh benchmark, up to what the open-file limit lets one process hold. */
export function meshSizes(context: BenchContext): number[] {
  const sizes = byMode(context.mode, {
    full: [2, 5, 10, 20, 50, 100, context.maxPeers],
    quick: [5, 20, 50],
    smoke: [2, 5],
  });
  return [...new Set(sizes.filter((n) => n >= 2 && n <= context.maxPeers))].sort((a, b) => a - b);
}

function roundsFor(context: BenchContext, n: number): number {
  if (context.mode === 'smoke') return 2;
  if (context.mode === 'quick') return n >= 50 ? 2 : 3;
  return n <= 20 ? 7 : n <= 50 ? 5 : 3;
}

const SPREAD = { header: '', spread: true } as const;
const spreadColumn = (header: string): Column => ({ ...SPREAD, header });

export const MESH_FIGURES: Record<string, Column> = {
  N: 'N',
  runs: 'runs',
  floorMs: spreadColumn('floor ms'),
  meshMs: spreadColumn('mesh ms'),
  ratio: 'mesh / floor',
  noProofMs: spreadColumn('no-proof mesh ms'),
  noProofRatio: 'no-proof / floor',
  connectionsPerLink: spreadColumn('connections / link'),
  peerListBytesPerLink: spreadColumn('peer-list bytes / link'),
  socketsPerLink: 'sockets / link at mesh',
  workersMs: 'workers up ms',
};

/** One run of the emulator, silent (no gossip), that must reach the full mesh. */
async function meshRun(
  context: BenchContext,
  n: number,
  extra: Partial<EmulationOptions>,
): Promise<EmulationResult & { mesh: NonNullable<EmulationResult['mesh']> }> {
  const result = await runEmulation({
    peers: n,
    basePort: 0,
    threads: context.threads,
    periodMs: SILENT_PERIOD_MS,
    durationMs: 0,
    timeoutMs: 120_000,
    ...extra,
  });
  const { mesh } = result;
  if (result.status !== 'mesh' || mesh === null || result.allListeningMs === null) {
    throw new Error(`${n} peers: ${result.status} (${result.failures.join('; ')})`);
  }
  return { ...result, mesh };
}

/** The figures of one kind of run, over the rounds. */
class Samples {
  readonly meshMs: number[] = [];
  readonly perLink: number[] = [];
  readonly peerListBytesPerLink: number[] = [];
  readonly socketsPerLink: number[] = [];
  readonly workersMs: number[] = [];
  readonly totalMs: number[] = [];

  record(result: Awaited<ReturnType<typeof meshRun>>): void {
    const { mesh, connections, sockets, links } = result;
    this.meshMs.push(mesh.fromLastStartMs);
    this.perLink.push(connections.perLink ?? 0);
    this.peerListBytesPerLink.push(connections.peerListBytesPerLink ?? 0);
    if (sockets.formed !== null) this.socketsPerLink.push(sockets.formed / links.expected);
    this.workersMs.push(mesh.fromLaunchMs - mesh.fromFirstStartMs);
    this.totalMs.push(mesh.fromLaunchMs);
  }
}

const median = (samples: readonly number[]): number =>
  samples.length === 0 ? 0 : spread(samples).median;

/**
 * Time to full mesh, against two baselines measured in the same rounds: the floor (the same
 * number of loopback connections, one per pair, on the same pool and threads: `floor.ts`) and the
 * mesh without proofs of address. Each round runs the three one after the other, so a machine
 * that slows down during the benchmark slows all three: their ratios carry from machine to
 * machine, the absolute times do not. The time is the mesh phase: last peer listening to every
 * pair linked, as the emulator reports it; the counts are the emulator's too (`connections`,
 * `sockets`).
 */
export async function meshBench(context: BenchContext): Promise<BenchResult> {
  const rows: Row[] = [];
  const sizes = meshSizes(context);
  for (const n of sizes) {
    const floor = new Samples();
    const proof = new Samples();
    const noProof = new Samples();
    const rounds = roundsFor(context, n);
    // tinybench runs the rounds (one untimed first: every N in a full run, the first only
    // otherwise); its sample is the mesh, the floor and the no-proof mesh are recorded beside.
    let phase: 'run' | 'warmup' = 'warmup';
    const bench = new Bench({
      iterations: rounds,
      time: 1,
      warmup: context.mode === 'full' || n === sizes[0],
      warmupIterations: 1,
      warmupTime: 1,
      throws: true,
    });
    bench.add(
      `full mesh N=${n}, floor and no-proof mesh`,
      async () => {
        const f = await meshRun(context, n, { host: FLOOR_HOST });
        const p = await meshRun(context, n, { proveAddresses: true });
        const q = await meshRun(context, n, { proveAddresses: false });
        if (phase === 'run') {
          floor.record(f);
          proof.record(p);
          noProof.record(q);
        }
        return { overriddenDuration: p.mesh.fromLastStartMs };
      },
      {
        beforeAll(mode) {
          phase = mode ?? 'run';
        },
      },
    );
    await bench.run();
    const floorMedian = median(floor.meshMs);
    rows.push({
      N: n,
      runs: proof.meshMs.length,
      ...spreadFields('floorMs', floor.meshMs),
      ...spreadFields('meshMs', proof.meshMs),
      ratio: median(proof.meshMs) / floorMedian,
      ...spreadFields('noProofMs', noProof.meshMs),
      noProofRatio: median(noProof.meshMs) / floorMedian,
      ...spreadFields('connectionsPerLink', proof.perLink),
      noProofConnectionsPerLink: median(noProof.perLink),
      floorConnectionsPerLink: median(floor.perLink),
      ...spreadFields('peerListBytesPerLink', proof.peerListBytesPerLink),
      socketsPerLink: median(proof.socketsPerLink),
      workersMs: median(proof.workersMs),
      totalMs: median(proof.totalMs),
    });
    console.error(
      `  mesh N=${n}: ${median(proof.meshMs).toFixed(1)} ms, floor ${floorMedian.toFixed(1)} ms`,
    );
  }
  return benchResult('mesh', context.mode, {
    params: {
      host: 'workers',
      threads: context.threads,
      bootstrap: 'chain',
      sample: 'last peer listening -> full mesh',
    },
    figures: Object.keys(rows[0] ?? {}),
    rows,
    targets: meshTargets(rows),
    notes: [
      'mesh = last peer listening -> every pair linked, as the emulator reports it; min, median, max over the rounds',
      'floor = the same with a stand-in that only opens one loopback connection per pair (connect, accept, one small frame each way) on the same pool and threads (bench/floor-worker.ts)',
      'no-proof = the mesh with every advertised address trusted (emulate --no-proof)',
      'each round runs floor, mesh and no-proof one after the other; ratios are of medians',
      'connections / link = TCP connections opened (dials, duplicates, proof probes) per link, counted by each thread’s net diagnostics channels up to the full mesh',
      'peer-list bytes / link = bytes of known_peers frames received up to the full mesh, per link',
      'sockets / link at mesh = established connections on the peers’ ports (/proc/net/tcp) when the mesh formed, per link',
      'workers up = launch (piscina pool start) -> first peer listening',
    ],
  });
}

function meshTargets(rows: readonly Row[]): TargetCheck[] {
  const at = (n: number) => rows.find((r) => r.N === n);
  const targets: TargetCheck[] = [];
  const r20 = at(20);
  const r100 = at(100);
  if (r20 !== undefined) {
    targets.push(
      check('full mesh of 20 (median), this machine', Number(r20.meshMsMedian), 100, 'ms'),
    );
  }
  if (r100 !== undefined) {
    targets.push(
      check('full mesh of 100 / floor (medians)', Number(r100.ratio), 2, '×'),
      check('connections opened per link at N=100', Number(r100.connectionsPerLinkMedian), 1.1, ''),
      check('full mesh of 100 (median), this machine', Number(r100.meshMsMedian), 1_000, 'ms'),
    );
  }
  if (r20 !== undefined && r100 !== undefined) {
    // O(N) list bytes per peer is a constant per link: growing with N means O(N²) per peer.
    targets.push(
      check(
        'peer-list bytes per link, N=100 over N=20',
        Number(r100.peerListBytesPerLinkMedian) / Number(r20.peerListBytesPerLinkMedian),
        1.5,
        '×',
      ),
    );
  }
  return targets;
}
