import { createServer } from 'node:net';

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A run of `count` consecutive free ports, for tests that need to know every port before any peer
 * starts (a chain started at one instant). Starts at a random point of a high range so parallel
 * runs rarely probe the same ports, and probes every port of the run.
 */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let port = base; port < base + count && ok; port++) ok = await canBind(port, host);
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}
