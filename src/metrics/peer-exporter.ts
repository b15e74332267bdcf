import type { Emitter, PeerEvent } from '../peer/events.js';
import { NetworkMetrics } from './network-metrics.js';
import { DEFAULT_METRICS_HOST, type MetricsServer, serveMetrics } from './server.js';
import { SocketBytes } from './socket-bytes.js';

export interface MetricsEndpoint {
  readonly port: number;
  readonly host?: string;
}

/** The one peer of a `naive-peer` process: its series carry no peer label. */
const SELF = 'self';

/**
 * `naive-peer --metrics PORT`: the peer's metrics (from its events, and the bytes of every socket
 * of the process but the metrics server's own) on `GET /metrics`. prom-client's default process
 * metrics are left out: three of their names fail `promtool check metrics`. Subscribe before the peer starts, so its 'listening' is counted.
 */
export async function exportPeerMetrics(
  events: Emitter<PeerEvent>,
  endpoint: MetricsEndpoint,
): Promise<MetricsServer> {
  const metrics = new NetworkMetrics();
  let served: MetricsServer | undefined;
  const bytes = new SocketBytes((socket) =>
    served !== undefined && (socket as { server?: unknown }).server === served.server
      ? undefined
      : SELF,
  );
  const unsubscribe = events.subscribe((event) => metrics.observe(SELF, event));
  const expose = (): Promise<string> => {
    for (const { bytesIn, bytesOut } of bytes.take().values())
      metrics.addBytes(SELF, bytesIn, bytesOut);
    return metrics.expose();
  };
  try {
    served = await serveMetrics(
      expose,
      metrics.registry.contentType,
      endpoint.port,
      endpoint.host ?? DEFAULT_METRICS_HOST,
    );
  } catch (error) {
    unsubscribe();
    bytes.stop();
    throw error;
  }
  const server = served;
  return {
    ...server,
    close: async () => {
      unsubscribe();
      bytes.stop();
      await server.close();
    },
  };
}
