import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import {
  DEFAULTS,
  type EmulationProgress,
  EmulationSetupError,
  runEmulation,
} from '../emulator/emulate.js';
import { formatProgress, renderReport } from '../emulator/render.js';
import { MAX_PROCESSES } from '../emulator/resources.js';
import type { EmulationResult } from '../emulator/result.js';
import { EmulationTrace, writeEmulationFiles } from '../emulator/trace.js';
import { DEFAULT_METRICS_HOST } from '../metrics/server.js';
import { scenarioEnd } from '../scenario/model.js';
import { DEFAULT_UI_HOST, MAX_LABELLED_PEERS } from '../ui/defaults.js';
import { addFaultOptions, type FaultCommandOptions, scenarioOf } from './fault-options.js';
import { RELAY_PROOF_HELP } from './help.js';
import {
  addOverlayOptions,
  type OverlayFlags,
  overlaySettingsOf,
  rateOption,
} from './overlay-options.js';
import { hostOption, integerOption, portOrZeroOption, secondsOption } from './parsers.js';

/** The `emulate` options, as commander parses them. */
interface EmulateCommandOptions extends OverlayFlags, FaultCommandOptions {
  readonly rate?: number;
  readonly peers: number;
  readonly basePort: number;
  readonly threads: number;
  readonly processes?: number;
  readonly period: number;
  readonly duration: number;
  readonly timeout: number;
  readonly out?: string;
  readonly json?: true;
  readonly quiet?: true;
  readonly matrix?: true;
  /** `--no-relay-proof` makes this false. */
  readonly relayProof: boolean;
  /** `--no-proof` makes this false. */
  readonly proof: boolean;
  readonly ui?: number;
  readonly uiHost: string;
  readonly metrics?: number;
  readonly metricsHost: string;
  readonly metricsPerPeer?: true;
}

/** One port each, from the base port on. */
const MAX_PEERS = 65_535;
const MAX_THREADS = 1_024;
/** Exit status when the mesh did not form (timeout, taken port, dead thread). */
const EXIT_NO_MESH = 1;
/** Exit status after Ctrl-C, as a shell reports a process killed by SIGINT. */
const EXIT_INTERRUPTED = 130;
/** With faults and no --duration, the run measures this long past the last fault (healing). */
const AFTER_LAST_FAULT_MS = 10_000;
/** Without a terminal, a progress line at most this often. */
const PLAIN_PROGRESS_EVERY_MS = 5_000;
/** On a terminal, the progress line is redrawn this often. */
const TTY_REDRAW_MS = 100;

export function exitStatusOfResult(result: EmulationResult): number {
  switch (result.status) {
    case 'mesh':
      return 0;
    case 'interrupted':
      return EXIT_INTERRUPTED;
    default:
      return EXIT_NO_MESH;
  }
}

/** Progress on stderr: one line redrawn in place on a terminal, occasional plain lines otherwise. */
function progressReporter(stream: NodeJS.WriteStream): {
  update: (progress: EmulationProgress) => void;
  done: () => void;
} {
  let latest: EmulationProgress | undefined;
  let latestAt = 0;
  if (stream.isTTY) {
    const draw = (): void => {
      if (latest === undefined) return;
      const elapsedMs = latest.elapsedMs + (performance.now() - latestAt);
      stream.write(`\r\x1b[K${formatProgress({ ...latest, elapsedMs })}`);
    };
    const timer = setInterval(draw, TTY_REDRAW_MS);
    timer.unref();
    return {
      update: (progress) => {
        latest = progress;
        latestAt = performance.now();
      },
      done: () => {
        clearInterval(timer);
        if (latest !== undefined) stream.write('\r\x1b[K');
      },
    };
  }
  let printedAt = Number.NEGATIVE_INFINITY;
  return {
    update: (progress) => {
      const phaseChanged = progress.phase !== latest?.phase;
      latest = progress;
      if (phaseChanged || progress.elapsedMs - printedAt >= PLAIN_PROGRESS_EVERY_MS) {
        printedAt = progress.elapsedMs;
        stream.write(`${formatProgress(progress)}\n`);
      }
    },
    done: () => {},
  };
}

/**
 * `naive-peer emulate`: runs N peers in worker threads and reports how their mesh formed. The work
 * is `runEmulation`'s; this only maps flags in, and the result to text (or JSON) and a status.
 */
export function registerEmulate(program: Command): void {
  const command = program
    .command('emulate')
    .description(
      'Runs N peers in worker threads on consecutive loopback ports, each joining through the one before, and shows how the mesh forms',
    )
    .requiredOption('--peers <PEERS>', 'Number of peers (at least 2)', (text) =>
      integerOption(text, 2, MAX_PEERS),
    )
    .option(
      '--base-port <PORT>',
      'Port of the first peer, the others following; 0 picks a free range',
      (text) => portOrZeroOption(text),
      DEFAULTS.basePort,
    )
    .addOption(
      new Option('--threads <THREADS>', 'Worker threads hosting the peers (in all processes)')
        .argParser((text) => integerOption(text, 1, MAX_THREADS))
        .default(availableParallelism(), 'the number of cores'),
    )
    .option(
      '--processes <K>',
      'Spread the peers over K child processes, each with its own open-file limit (default: 1, or as few as a full mesh too big for one process fits in)',
      (text) => integerOption(text, 1, MAX_PROCESSES),
    )
    .option(
      '--period <PERIOD>',
      'Gossip period of every peer, in seconds',
      (text) => secondsOption(text),
      DEFAULTS.periodMs / 1_000,
    )
    .option(
      '--duration <SECONDS>',
      'Keep the mesh running and measure its messages this long once it formed',
      (text) => secondsOption(text, true),
      DEFAULTS.durationMs / 1_000,
    )
    .option(
      '--timeout <SECONDS>',
      'Give up waiting for the full mesh after this long (with --ui and no --timeout: never)',
      (text) => secondsOption(text),
      DEFAULTS.timeoutMs / 1_000,
    )
    .option('--json', 'Print one JSON document on standard output instead of tables')
    .option('--quiet', 'Print no progress on standard error')
    .option(
      '--out <DIR>',
      'Write result.json, timeseries.json and SVG charts of the measured window there',
    )
    .option(
      '--matrix',
      'Show the full connectivity matrix even above 40 peers (the default shows a compact view)',
    )
    .option(
      '--rate <R>',
      'Messages a second across the whole network, each from a random peer (instead of --period)',
      (text) => rateOption(text),
    )
    .option(
      '--no-proof',
      "Trust every peer's advertised address, as the original does (to measure what proofs cost)",
    )
    .option('--no-relay-proof', RELAY_PROOF_HELP)
    .option(
      '--ui <PORT>',
      'Serve a live view of the network on this port; the run then stays up until Ctrl-C (or --duration)',
      (text) => portOrZeroOption(text),
    )
    .option('--ui-host <HOST>', 'Interface the live view is served on', hostOption, DEFAULT_UI_HOST)
    .option('--metrics <PORT>', 'Serve Prometheus metrics of all peers on GET /metrics', (text) =>
      portOrZeroOption(text),
    )
    .option(
      '--metrics-host <HOST>',
      'Interface the metrics are served on',
      hostOption,
      DEFAULT_METRICS_HOST,
    )
    .option('--metrics-per-peer', 'Label the metrics by peer instead of summing over all peers');
  addOverlayOptions(command);
  addFaultOptions(command);
  command.action(async (options: EmulateCommandOptions) => {
    const overlay = overlaySettingsOf(options);
    const durationGiven = command.getOptionValueSource('duration') !== 'default';
    // A live view is watched, not waited on: it keeps forming until Ctrl-C unless --timeout is
    // given (a full mesh of 200 on two cores takes longer than the default, if it forms at all).
    const timeoutMs =
      options.ui !== undefined && command.getOptionValueSource('timeout') === 'default'
        ? Number.POSITIVE_INFINITY
        : options.timeout * 1_000;
    const scenario = await scenarioOf(command, options, options.duration * 1_000);
    const faultsEnd = scenario.steps.length === 0 ? 0 : scenarioEnd(scenario) + AFTER_LAST_FAULT_MS;
    // A live view holds the run until Ctrl-C (the faults still run); otherwise a run lasts at
    // least until its last fault has had time to show.
    const durationMs =
      durationGiven || options.ui !== undefined
        ? options.duration * 1_000
        : Math.max(options.duration * 1_000, faultsEnd);
    const controller = new AbortController();
    const onSigint = (): void => {
      process.stderr.write('\nstopping every peer (Ctrl-C again to quit at once)\n');
      controller.abort();
      process.once('SIGINT', () => process.exit(EXIT_INTERRUPTED));
    };
    process.once('SIGINT', onSigint);
    const progress = options.quiet ? undefined : progressReporter(process.stderr);
    if (options.metricsPerPeer && options.peers > MAX_LABELLED_PEERS) {
      command.error(
        `error: --metrics-per-peer labels at most ${MAX_LABELLED_PEERS} peers, not ${options.peers}`,
        { exitCode: 2 },
      );
    }
    // Loaded only when asked: the servers and their packages cost every other run its start.
    const wanted = options.ui !== undefined || options.metrics !== undefined;
    const { LiveSession } = wanted
      ? await import('../ui/live-session.js')
      : { LiveSession: undefined };
    const live =
      LiveSession &&
      new LiveSession({
        stderr: process.stderr,
        ...(options.ui === undefined ? {} : { ui: { port: options.ui, host: options.uiHost } }),
        ...(options.metrics === undefined
          ? {}
          : {
              metrics: {
                port: options.metrics,
                host: options.metricsHost,
                perPeer: options.metricsPerPeer === true,
              },
            }),
      });
    let liveFailed = false;
    const onLiveError = (error: unknown): void => {
      liveFailed = true;
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      process.stderr.write(`error: cannot serve the live view or metrics: ${code}\n`);
      controller.abort();
    };
    const trace = options.out === undefined ? undefined : new EmulationTrace();
    let result: EmulationResult;
    try {
      result = await runEmulation(
        {
          peers: options.peers,
          basePort: options.basePort,
          threads: options.threads,
          ...(options.processes === undefined ? {} : { processes: options.processes }),
          periodMs: options.period * 1_000,
          durationMs,
          timeoutMs,
          proveAddresses: options.proof,
          relayProofs: options.relayProof,
          ...(options.rate === undefined ? {} : { rate: options.rate }),
          ...(overlay === undefined ? {} : { overlay }),
          signal: controller.signal,
          scenario,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          hold: options.ui !== undefined,
          ...(trace === undefined ? {} : { trace }),
          ...(live === undefined
            ? {}
            : {
                observe: live.observe,
                onLaunch: (run) => {
                  live.onLaunch(run);
                  live.ready.catch(onLiveError);
                },
              }),
          ...(live === undefined || options.metrics === undefined
            ? {}
            : { observeBytes: live.addBytes }),
        },
        (update) => {
          live?.progress(update);
          progress?.update(update);
        },
      );
    } catch (error) {
      if (error instanceof EmulationSetupError)
        command.error(`error: ${error.message}`, { exitCode: 2 });
      throw error;
    } finally {
      progress?.done();
      process.removeListener('SIGINT', onSigint);
    }
    // The run is over; closing the live view and printing can take a while after a big run, and
    // a Ctrl-C meanwhile must not cost the report (one after the first Ctrl-C still quits at once).
    const onLateSigint = (): void => {
      process.stderr.write('\nthe run is over: printing its report\n');
    };
    if (!controller.signal.aborted) process.on('SIGINT', onLateSigint);
    await live?.close();
    const files =
      options.out === undefined || trace === undefined
        ? []
        : await writeEmulationFiles(options.out, result, trace);
    process.stdout.write(
      options.json
        ? `${JSON.stringify(files.length === 0 ? result : { ...result, files }, null, 2)}\n`
        : `${renderReport(result, { matrix: options.matrix === true })}${files.length === 0 ? '' : `files          ${files.join(', ')}\n`}`,
    );
    process.removeListener('SIGINT', onLateSigint);
    process.exitCode = liveFailed ? EXIT_NO_MESH : exitStatusOfResult(result);
  });
}
