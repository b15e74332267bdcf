import { type Command, Option } from 'commander';
import type { FaultFlags } from '../scenario/flags.js';
import { fullMeshFits, SimOutOfMemory, simulateInWorker } from '../sim/in-worker.js';
import { formatSimProgress, renderSimReport } from '../sim/render.js';
import { SIM_DEFAULTS, type SimProgress } from '../sim/run.js';
import { SIMULATED_OVERLAYS, type SimulatedOverlay } from '../sim/simulate.js';
import { addFaultOptions, scenarioOf } from './fault-options.js';
import { integerOption, secondsOption } from './parsers.js';

interface SimulateCommandOptions extends FaultFlags {
  readonly overlay: SimulatedOverlay;
  readonly peers: number;
  readonly messages: number;
  readonly seed: number;
  readonly duration?: number;
  readonly joinRate: number;
  readonly sample: number;
  readonly scenario?: string;
  readonly contact: 'bootstrap' | 'random';
  readonly out?: string;
  readonly maxMemory: number;
  readonly json?: true;
  readonly quiet?: true;
}

/** One simulated peer per index; memory, not ports, is the limit. */
const MAX_PEERS = 10_000_000;
/** The budget for the largest run (100,000 overlay peers) on this kind of machine. */
const DEFAULT_HEAP_MB = 8_192;

/** Without a terminal, a progress line at most this often (wall time). */
const PROGRESS_EVERY_MS = 2_000;

/**
 * `naive-peer simulate`: the protocol cores on an in-memory network in virtual time. Flags in,
 * report (tables or --json) out; files under --out. The work is `simulate` (src/sim/).
 */
export function registerSimulate(program: Command): void {
  const command = program
    .command('simulate')
    .description(
      'Runs N peers of the overlay on a simulated network in virtual time (no sockets), with faults from flags or a scenario file',
    )
    .addOption(
      new Option('--overlay <OVERLAY>', 'Protocol of the peers')
        .choices(SIMULATED_OVERLAYS)
        .default('hyparview'),
    )
    .requiredOption('--peers <PEERS>', 'Number of peers (at least 2)', (t) =>
      integerOption(t, 2, MAX_PEERS),
    )
    .option(
      '--messages <M>',
      'Broadcasts from random peers during the measured phase',
      (t) => integerOption(t, 0, 1_000_000),
      10,
    )
    .option(
      '--seed <SEED>',
      'Seed of every choice of the run (same seed, same run)',
      (t) => integerOption(t, 0, 2 ** 32 - 1),
      1,
    )
    .option(
      '--duration <SECONDS>',
      'Measured phase (default 1 s, or 10 s past the last fault)',
      (t) => secondsOption(t),
    )
    .option(
      '--join-rate <PER_SECOND>',
      'Peers starting per virtual second while the network forms',
      (t) => integerOption(t, 1),
      SIM_DEFAULTS.joinPerSecond,
    )
    .option(
      '--sample <MS>',
      'Virtual milliseconds between two samples of the time series',
      (t) => integerOption(t, 1),
      SIM_DEFAULTS.sampleMs,
    )
    .addOption(
      new Option('--contact <WHOM>', 'Whom starting peers join through')
        .choices(['bootstrap', 'random'])
        .default(SIM_DEFAULTS.contact),
    )
    .option(
      '--max-memory <MB>',
      'Heap the run may use; a run that needs more stops with a message',
      (t) => integerOption(t, 64),
      DEFAULT_HEAP_MB,
    )
    .option('--out <DIR>', 'Write result.json, timeseries.json and SVG charts there')
    .option('--json', 'Print one JSON document on standard output instead of tables')
    .option('--quiet', 'Print no progress on standard error');
  addFaultOptions(command, { seed: false });
  command.action(async (options: SimulateCommandOptions) => {
    const scenario = await scenarioOf(command, options, (options.duration ?? 60) * 1_000);
    const progress = options.quiet ? undefined : progressPrinter(process.stderr);
    const tooBig = (why: string): never => command.error(`error: ${why}`, { exitCode: 2 });
    if (options.overlay === 'full') {
      const fit = fullMeshFits(options.peers, options.maxMemory);
      if (!fit.ok) tooBig(fit.reason);
    }
    const run = await simulateInWorker(
      options.overlay,
      {
        peers: options.peers,
        messages: options.messages,
        seed: options.seed,
        scenario,
        joinPerSecond: options.joinRate,
        sampleMs: options.sample,
        durationMs: options.duration === undefined ? null : options.duration * 1_000,
        drainMs: SIM_DEFAULTS.drainMs,
        convergeTimeoutMs: SIM_DEFAULTS.convergeTimeoutMs,
        contact: options.contact,
      },
      options.maxMemory,
      progress,
    ).catch((error: unknown) => {
      if (!(error instanceof SimOutOfMemory)) throw error;
      return tooBig(
        `${options.peers} ${options.overlay} peers did not fit in --max-memory ${options.maxMemory} MB (the run was stopped; try fewer peers or a larger --max-memory)`,
      );
    });
    if (progress !== undefined && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    // vega is loaded only when charts are asked for: it would slow every start of the CLI.
    const files =
      options.out === undefined
        ? []
        : await (await import('../sim/output.js')).writeRunFiles(options.out, run);
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ ...run.result, files }, null, 2)}\n`
        : renderSimReport(run.result, files),
    );
    process.exitCode = run.result.status === 'delivered' ? 0 : 1;
  });
}

function progressPrinter(stream: NodeJS.WriteStream): (progress: SimProgress) => void {
  let printedAt = performance.now();
  return (progress) => {
    const now = performance.now();
    if (now - printedAt < PROGRESS_EVERY_MS) return;
    printedAt = now;
    stream.write(
      stream.isTTY ? `\r\x1b[K${formatSimProgress(progress)}` : `${formatSimProgress(progress)}\n`,
    );
  };
}
