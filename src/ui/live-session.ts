import type { Writable } from 'node:stream';
import type { EmulationProgress, LiveRun } from '../emulator/emulate.js';
import { GossipDeliveries } from '../metrics/deliveries.js';
import { NetworkMetrics } from '../metrics/network-metrics.js';
import { DEFAULT_METRICS_HOST, type MetricsServer, serveMetrics } from '../metrics/server.js';
import { now } from '../peer/clock.js';
import type { PeerEvent } from '../peer/events.js';
import { DEFAULT_UI_HOST } from './defaults.js';
import { LiveNetwork } from './live-network.js';
import { serveUi, type UiServer } from './server.js';

export interface LiveOptions {
  readonly ui?: { readonly port: number; readonly host?: string };
  readonly metrics?: { readonly port: number; readonly host?: string; readonly perPeer?: boolean };
  /** Where `ui: URL` and `metrics: URL` go (standard error). */
  readonly stderr: Writable;
}

/**
 * The emulator's live outputs, `--ui` and `--metrics`, fed from the run's hooks: `observe` gets
 * every peer event, `onLaunch` starts the servers once the peers' addresses are known, `progress`
 * follows the phase. `ready` settles once both servers listen (or rejects when one cannot);
 * `close` stops them.
 */
export class LiveSession {
  readonly #options: LiveOptions;
  #network: LiveNetwork | undefined;
  #metrics: NetworkMetrics | undefined;
  readonly #deliveries = new GossipDeliveries();
  #addresses: readonly string[] = [];
  readonly #servers: Array<UiServer | MetricsServer> = [];
  ready: Promise<void> = Promise.resolve();

  constructor(options: LiveOptions) {
    this.#options = options;
  }

  readonly observe = (i: number, event: PeerEvent): void => {
    this.#network?.observe(i, event);
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    metrics.observe(this.#addresses[i] ?? String(i), event);
    if (event.type === 'message-sent') {
      for (const delivery of this.#deliveries.onSent(i, event.text, event.at))
        metrics.observeLatency(delivery.latencyMs);
    } else if (event.type === 'message-received') {
      const delivery = this.#deliveries.onReceived(i, event.text, event.at);
      if (delivery !== undefined) metrics.observeLatency(delivery.latencyMs);
    }
  };

  readonly progress = (progress: EmulationProgress): void => {
    if (this.#network !== undefined) this.#network.phase = progress.phase;
  };

  readonly onLaunch = (run: LiveRun): void => {
    this.#addresses = run.addresses;
    const { ui, metrics, stderr } = this.#options;
    const started: Array<Promise<void>> = [];
    if (metrics !== undefined) {
      const registry = new NetworkMetrics({ perPeer: metrics.perPeer === true, latency: true });
      this.#metrics = registry;
      started.push(
        serveMetrics(
          () => registry.expose(),
          registry.registry.contentType,
          metrics.port,
          metrics.host ?? DEFAULT_METRICS_HOST,
        ).then((server) => {
          this.#servers.push(server);
          stderr.write(`metrics: ${server.url}\n`);
        }),
      );
    }
    if (ui !== undefined) {
      const network = new LiveNetwork(run.addresses, now());
      this.#network = network;
      started.push(
        serveUi(network, run, ui.port, ui.host ?? DEFAULT_UI_HOST).then((server) => {
          this.#servers.push(server);
          stderr.write(`ui: ${server.url}\n`);
        }),
      );
    }
    this.ready = Promise.all(started).then(() => undefined);
  };

  /** Counts bytes moved by peer i's sockets (reported by its worker thread). */
  readonly addBytes = (i: number, bytesIn: number, bytesOut: number): void => {
    this.#metrics?.addBytes(this.#addresses[i] ?? String(i), bytesIn, bytesOut);
  };

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await Promise.all(this.#servers.splice(0).map((s) => s.close()));
  }
}
