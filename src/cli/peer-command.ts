import type { Command } from 'commander';
import { runPeerProcess } from '../host/peer-process.js';
import { DEFAULT_METRICS_HOST } from '../metrics/server.js';
import { now } from '../peer/clock.js';
import { PEER_DEFAULTS } from '../peer/options.js';
import { formatHostPort, type HostPort } from '../protocol/address.js';
import { RELAY_PROOF_HELP } from './help.js';
import { addOverlayOptions, type OverlayFlags, overlaySettingsOf } from './overlay-options.js';
import { hostOption, hostPortOption, portOrZeroOption, secondsOption } from './parsers.js';

/** The root command's options, as commander parses them. */
interface PeerCommandOptions extends OverlayFlags {
  readonly period: number;
  readonly address: string;
  readonly port: number;
  readonly connect?: HostPort;
  readonly bind: string;
  readonly json?: true;
  /** `--no-relay-proof` makes this false. */
  readonly relayProof: boolean;
  readonly metrics?: number;
  readonly metricsHost: string;
}

/**
 * The original's command line on the root command: the options (same flags, same defaults, same
 * help texts) and the action that runs one peer until SIGINT or SIGTERM.
 */
export function registerPeer(program: Command): void {
  const command = program
    .description('Provides a peer exchange that imples a naive messaging functionality')
    .option(
      '-P, --period <PERIOD>',
      'Messaging period',
      (text) => secondsOption(text),
      PEER_DEFAULTS.periodMs / 1_000,
    )
    .option(
      '--address <ADDRESS>',
      'Public address to be sent as a peer address',
      (text) => hostOption(text),
      PEER_DEFAULTS.advertisedHost,
    )
    .option(
      '-p, --port <PORT>',
      'Port of the current peer to listen to',
      (text) => portOrZeroOption(text),
      PEER_DEFAULTS.port,
    )
    .option('-c, --connect <CONNECT>', 'Address of the peer to connect to initially', (text) =>
      hostPortOption(text),
    )
    .option(
      '--bind <HOST>',
      'Interface to listen on (:: for IPv6 and IPv4)',
      (text) => hostOption(text),
      PEER_DEFAULTS.bindHost,
    )
    .option('--no-relay-proof', RELAY_PROOF_HELP)
    .option('--json', 'Also print every event as a JSON line on standard output')
    .option('--metrics <PORT>', 'Serve Prometheus metrics on GET /metrics at this port', (text) =>
      portOrZeroOption(text),
    )
    .option(
      '--metrics-host <HOST>',
      'Interface the metrics are served on',
      (text) => hostOption(text),
      DEFAULT_METRICS_HOST,
    );
  addOverlayOptions(command).action(async (options: PeerCommandOptions) => {
    const startedAt = now();
    const overlay = overlaySettingsOf(options);
    process.exitCode = await runPeerProcess({
      startedAt,
      json: options.json === true,
      ...(options.metrics === undefined
        ? {}
        : { metrics: { port: options.metrics, host: options.metricsHost } }),
      peer: {
        port: options.port,
        bindHost: options.bind,
        advertisedHost: options.address,
        periodMs: options.period * 1000,
        relayProofs: options.relayProof,
        ...(options.connect === undefined ? {} : { connect: formatHostPort(options.connect) }),
        ...(overlay === undefined ? {} : { overlay }),
      },
    });
  });
}
