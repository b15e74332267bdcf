import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort } from '../protocol/address.js';

/** Loopback unless asked: metrics name every peer address, not for the whole network to read. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface MetricsServer {
  readonly server: Server;
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` in the Prometheus text format (what `expose` returns, with prom-client's
 * content type) on host:port; anything else is 404. Resolves once listening; rejects with the
 * listen error (EADDRINUSE...).
 */
export function serveMetrics(
  expose: () => Promise<string>,
  contentType: string,
  port: number,
  host = DEFAULT_METRICS_HOST,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    expose().then(
      (text) => response.writeHead(200, { 'content-type': contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://${formatHostPort({ host, port: bound })}/metrics`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
