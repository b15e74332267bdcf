import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import type { LiveRun } from '../emulator/emulate.js';
import { now } from '../peer/clock.js';
import { formatHostPort } from '../protocol/address.js';
import { DEFAULT_UI_HOST } from './defaults.js';
import type { LiveNetwork } from './live-network.js';

/**
 * One frame of changes this often: fast enough to watch a mesh form, slow enough that 2,000 peers'
 * events (thousands a second) cost the page a handful of messages a second.
 */
export const FRAME_MS = 150;
/** A page that reads slower than this many bytes behind is skipped for a frame, not buffered for. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The page (committed source, served as is: the browser has no build step and no internet). */
const PAGE_DIR = fileURLToPath(new URL('../../src/ui/page/', import.meta.url));
const require = createRequire(import.meta.url);
/** The graph renderer and its graph model, their UMD builds straight from node_modules. */
const VENDOR: Readonly<Record<string, string>> = {
  '/vendor/graphology.umd.min.js': join(
    dirname(require.resolve('graphology')),
    'graphology.umd.min.js',
  ),
  '/vendor/sigma.min.js': join(dirname(require.resolve('sigma/package.json')), 'dist/sigma.min.js'),
};
const PAGE: Readonly<Record<string, [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/charts.js': ['charts.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/** What the page may ask: a fault dealt to the running network. */
type Command =
  | { type: 'kill' | 'stop' | 'restart'; peer: number }
  | { type: 'cut'; peer: number; other: number }
  | { type: 'partition'; groups: number }
  | { type: 'heal' };

/** Most groups the page may split the network into (its menu offers 2 to 4). */
const MAX_GROUPS = 8;

export interface UiServer {
  /** `http://host:port/` */
  readonly url: string;
  close(): Promise<void>;
}

function parseCommand(data: unknown, peers: number): Command | undefined {
  let value: unknown;
  try {
    value = JSON.parse(String(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, peer, other, groups } = value as Record<string, unknown>;
  if (type === 'heal') return { type };
  if (type === 'partition') {
    const ok =
      Number.isInteger(groups) && (groups as number) >= 2 && (groups as number) <= MAX_GROUPS;
    return ok ? { type, groups: groups as number } : undefined;
  }
  const index = (x: unknown): x is number =>
    Number.isInteger(x) && (x as number) >= 0 && (x as number) < peers;
  if (!index(peer)) return undefined;
  if (type === 'kill' || type === 'stop' || type === 'restart') return { type, peer };
  if (type === 'cut' && index(other) && other !== peer) return { type, peer, other };
  return undefined;
}

/**
 * `emulate --ui PORT`: serves the live page, its scripts, `GET /state.json` (the `--json`
 * document of this moment) and a WebSocket at `/ws` that sends the page one `init`, then a frame
 * of changes every FRAME_MS, and takes the page's commands (kill, stop, restart, cut a link,
 * partition, heal).
 */
export async function serveUi(
  network: LiveNetwork,
  run: LiveRun,
  port: number,
  host = DEFAULT_UI_HOST,
): Promise<UiServer> {
  const serveFile = async (res: ServerResponse, file: string, type: string): Promise<void> => {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/state.json') {
      const body = `${JSON.stringify(run.snapshot(), null, 2)}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const page = PAGE[path];
    if (page !== undefined) return serveFile(res, join(PAGE_DIR, page[0]), page[1]);
    const vendor = VENDOR[path];
    if (vendor !== undefined) return serveFile(res, vendor, 'text/javascript; charset=utf-8');
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${String(error)}\n`);
    });
  });
  const sockets = new WebSocketServer({ server, path: '/ws' });
  /** Pages that missed a frame: they get the whole picture again once they have caught up. */
  const behind = new WeakSet<WebSocket>();
  sockets.on('connection', (socket) => {
    socket.send(JSON.stringify(network.init(now())));
    socket.on('message', (data) => {
      const command = parseCommand(data, network.addresses.length);
      if (command === undefined) return;
      switch (command.type) {
        case 'kill':
        case 'stop':
          run.end(command.peer, command.type);
          return;
        case 'restart':
          run.restart(command.peer);
          return;
        case 'cut':
          run.breakLink(command.peer, command.other);
          return;
        case 'partition': {
          // Arcs of the circle the page draws: the running peers in index order, cut in equal runs.
          const groups = network.partition(command.groups);
          run.partition(groups);
          return;
        }
        case 'heal':
          network.heal();
          run.heal();
          return;
      }
    });
  });
  // One frame for every page; computed even with no page open, so the next one starts from now.
  const timer = setInterval(() => {
    const at = now();
    const frame = JSON.stringify(network.frame(at));
    for (const socket of sockets.clients) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount >= MAX_BUFFERED_BYTES) behind.add(socket);
      else if (behind.delete(socket)) socket.send(JSON.stringify(network.init(at)));
      else socket.send(frame);
    }
  }, FRAME_MS);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    clearInterval(timer);
    sockets.close();
    throw error;
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${formatHostPort({ host, port: bound })}/`,
    close: async () => {
      clearInterval(timer);
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
