import { Bench } from 'tinybench';
import { Durations } from '../src/emulator/durations.js';
import { runEmulation } from '../src/emulator/emulate.js';
import { type BenchContext, byMode } from './context.js';
import { SILENT_PERIOD_MS } from './local-mesh.js';
import { type BenchResult, benchResult, check, type Row } from './report.js';

/** Sizes of the time-to-mesh benchmark, up to what the open-file limit lets one process hold. */
export function meshSizes(context: BenchContext): number[] {
  const sizes = byMode(context.mode, {
    full: [2, 5, 10, 20, 50, 100, context.maxPeers],
    quick: [2, 5, 10, 20, 50],
    smoke: [2, 5],
  });
  return [...new Set(sizes.filter((n) => n >= 2 && n <= context.maxPeers))].sort((a, b) => a - b);
}

function iterationsFor(context: BenchContext, n: number): number {
  if (context.mode === 'smoke') return 2;
  if (context.mode === 'quick') return n <= 20 ? 5 : 3;
  return n <= 20 ? 20 : n <= 50 ? 10 : 5;
}

export const MESH_FIGURES = {
  N: 'N',
  samples: 'runs',
  meanMs: 'mesh mean ms',
  p50Ms: 'mesh p50 ms',
  p99Ms: 'mesh p99 ms',
  rmePct: 'mesh ±rme %',
  workersMs: 'workers up ms',
  listeningMs: 'all listening ms',
  totalMs: 'launch→mesh ms',
  stopMs: 'stop ms',
  noProofMeanMs: 'no-proof mesh ms',
} as const;

/**
 * Time to full mesh: each tinybench iteration runs the emulator (N peers on one worker thread per
 * core, chain bootstrap), waits for the full mesh and stops every peer and thread. The sample
 * tinybench keeps is the mesh phase alone (last peer listening -> every link up); the launch
 * phases are kept beside it: pool start to first peer listening, launch to all listening.
 */
export async function meshBench(context: BenchContext): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const n of meshSizes(context)) {
    const workers = new Durations();
    const listening = new Durations();
    const total = new Durations();
    const stop = new Durations();
    let phase: 'run' | 'warmup' = 'warmup';
    const bench = new Bench({
      iterations: iterationsFor(context, n),
      time: 1,
      warmupIterations: 1,
      warmupTime: 1,
      throws: true,
    });
    const emulate = (proveAddresses: boolean) =>
      runEmulation({
        peers: n,
        basePort: 0,
        threads: context.threads,
        periodMs: SILENT_PERIOD_MS,
        durationMs: 0,
        timeoutMs: 60_000,
        proveAddresses,
      });
    bench.add(
      `full mesh N=${n}`,
      async () => {
        const result = await emulate(true);
        const mesh = result.mesh;
        if (result.status !== 'mesh' || mesh === null || result.allListeningMs === null) {
          throw new Error(`${n} peers: ${result.status} (${result.failures.join('; ')})`);
        }
        if (phase === 'run') {
          workers.record(mesh.fromLaunchMs - mesh.fromFirstStartMs);
          listening.record(result.allListeningMs);
          total.record(mesh.fromLaunchMs);
          stop.record(result.elapsedMs - mesh.fromLaunchMs);
        }
        return {
          overriddenDuration: mesh.fromLastStartMs,
          overriddenIterationCost: result.elapsedMs,
        };
      },
      {
        beforeAll(mode) {
          phase = mode ?? 'run';
        },
      },
    );
    // The same mesh with every claimed address trusted, as the original does: what proofs cost.
    bench.add(`full mesh N=${n}, no proof of address`, async () => {
      const result = await emulate(false);
      if (result.status !== 'mesh' || result.mesh === null) {
        throw new Error(`${n} peers without proofs: ${result.status}`);
      }
      return { overriddenDuration: result.mesh.fromLastStartMs };
    });
    await bench.run();
    const [result, noProof] = bench.tasks.map((task) => {
      const r = task.result;
      if (r === undefined || (r.state !== 'completed' && r.state !== 'aborted-with-statistics')) {
        throw new Error(`${task.name} did not complete: ${r?.state}`);
      }
      return r;
    });
    if (result === undefined || noProof === undefined) throw new Error('a mesh task is missing');
    rows.push({
      N: n,
      samples: result.latency.samplesCount,
      meanMs: result.latency.mean,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      rmePct: result.latency.rme,
      workersMs: workers.mean,
      listeningMs: listening.mean,
      totalMs: total.mean,
      stopMs: stop.mean,
      noProofMeanMs: noProof.latency.mean,
    });
    console.error(`  mesh N=${n}: ${result.latency.mean.toFixed(1)} ms`);
  }
  const at = (n: number) => rows.find((r) => r.N === n);
  const targets = [];
  const r20 = at(20);
  if (r20 !== undefined) {
    targets.push(check('full mesh of 20 after all listen (mean)', Number(r20.meanMs), 100, 'ms'));
  }
  const r100 = at(100);
  if (r100 !== undefined) {
    targets.push(
      check('full mesh of 100 after all listen (mean)', Number(r100.meanMs), 1_000, 'ms'),
    );
  }
  return benchResult('mesh', context.mode, {
    params: {
      host: 'workers',
      threads: context.threads,
      bootstrap: 'chain',
      tinybenchSample: 'last peer listening -> full mesh',
    },
    figures: Object.keys(MESH_FIGURES),
    rows,
    targets,
    notes: [
      'mesh = last peer listening -> every pair linked (the tinybench sample; rme = its relative margin of error)',
      'workers up = launch of the run (piscina pool start) -> first peer listening',
      'all listening = launch -> last peer listening; launch→mesh = launch -> full mesh',
      'stop = full mesh -> every peer and worker stopped',
      'no-proof mesh = the mesh phase with every advertised address trusted (proveAddresses: false)',
    ],
  });
}
