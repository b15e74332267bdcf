import Table from 'cli-table3';
import type { EmulationProgress } from './emulate.js';
import { describeFault } from './faults.js';
import { overlayRows } from './overlay-render.js';
import type {
  ConnectionCounts,
  EmulationResult,
  OpenFileCounts,
  PeerReport,
  SocketCounts,
} from './result.js';

/**
 * What a person sees of a run: pure functions from the collected data to text, no I/O, no clock.
 */

/** Above this many peers the matrix gives way to the compact view (unless forced). */
export const MATRIX_MAX_PEERS = 40;
/** Missing links listed one by one in the compact view; the rest are counted. */
const MISSING_LISTED = 50;

export const MARK = { link: '●', oneSided: '○', none: '·', self: ' ' } as const;

const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: ' ',
};

function table(head: string[], aligns: Array<'left' | 'center' | 'right'>): Table.Table {
  const out = new Table({
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    colAligns: aligns,
  });
  // A row rather than `head`, whose cells cannot be aligned to the bottom.
  out.push(head.map((content) => ({ content, vAlign: 'bottom' as const })));
  return out;
}

/** Milliseconds for people: "840 ms", "1.25 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(ms < 10_000 ? 2 : 1))} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1_000)} s`;
}

function peerState(peer: PeerReport): string {
  if (peer.error === null) return String(peer.neighbours.length);
  return peer.listenedMs === null ? 'not listening' : 'down';
}

/**
 * The connectivity matrix: one row and one column per peer, by port (column ports written
 * downwards). A cell is marked when the row's peer reports a link to the column's; the last
 * column is the row's degree.
 */
export function renderMatrix(result: EmulationResult): string {
  const ports = result.peers.map((p) => p.port);
  const out = table(
    ['port', ...ports.map((p) => String(p).split('').join('\n')), 'degree'],
    ['right', ...ports.map(() => 'center' as const), 'right'],
  );
  const lists = new Map(result.peers.map((p) => [p.port, new Set(p.neighbours)]));
  for (const peer of result.peers) {
    const row = lists.get(peer.port);
    const cells = ports.map((other) => {
      if (other === peer.port) return MARK.self;
      if (!row?.has(other)) return MARK.none;
      return lists.get(other)?.has(peer.port) ? MARK.link : MARK.oneSided;
    });
    out.push([String(peer.port), ...cells, peerState(peer)]);
  }
  const legend = [`${MARK.link} linked`, `${MARK.none} no link`];
  if (result.links.oneSided > 0) legend.splice(1, 0, `${MARK.oneSided} only the row's peer has it`);
  const rows = out
    .toString()
    .split('\n')
    .map((line) => line.trimEnd());
  return `${rows.join('\n')}\n${legend.join('   ')}${foreignNotes(result)}`;
}

/** For big networks: how many peers have each degree, and which links are missing. */
export function renderCompact(result: EmulationResult): string {
  const byDegree = new Map<string, number>();
  for (const peer of result.peers) {
    const state = peerState(peer);
    byDegree.set(state, (byDegree.get(state) ?? 0) + 1);
  }
  const histogram = table(['degree', 'peers'], ['right', 'right']);
  const degrees = [...byDegree.entries()].sort(
    ([a], [b]) => Number(b) - Number(a) || (a < b ? -1 : 1),
  );
  for (const [degree, count] of degrees) histogram.push([degree, String(count)]);
  const lines = [
    histogram
      .toString()
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n'),
  ];
  const missing = result.missingLinks;
  if (missing.length === 0) {
    lines.push('missing links: none');
  } else {
    const listed = missing.slice(0, MISSING_LISTED).map(([a, b]) => `${a}-${b}`);
    const more = missing.length - listed.length;
    lines.push(
      `missing links (${missing.length}): ${listed.join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
    );
  }
  return lines.join('\n') + foreignNotes(result);
}

function foreignNotes(result: EmulationResult): string {
  return result.peers
    .filter((p) => p.foreign.length > 0)
    .map((p) => `\n${p.port} is also linked to ${p.foreign.join(', ')} (not an emulated peer)`)
    .join('');
}

function statusLine(result: EmulationResult): string {
  const { links } = result;
  const missing = links.expected - links.formed;
  switch (result.status) {
    case 'mesh':
      return result.overlay === null ? 'full mesh formed' : 'overlay formed: one component';
    case 'timeout':
      if (result.overlay !== null) {
        return `no connected overlay within ${formatDuration(result.config.timeoutMs)}: ${result.overlay.components} components`;
      }
      return `no full mesh within ${formatDuration(result.config.timeoutMs)}: ${missing} of ${links.expected} links missing`;
    case 'failed':
      return 'failed (see above)';
    case 'interrupted':
      return `interrupted after ${formatDuration(result.elapsedMs)}`;
  }
}

/** The kernel's count of connections, when the mesh formed and at the end. */
export function socketsText(sockets: SocketCounts): string {
  const parts = [];
  if (sockets.formed !== null) parts.push(`${sockets.formed} when the mesh formed`);
  if (sockets.end !== null) parts.push(`${sockets.end} at the end`);
  if (parts.length === 0) return 'not counted (no /proc/net/tcp)';
  return `${parts.join(', ')} (established TCP connections on the peers' ports)`;
}

/** Connections opened and peer-list bytes, per link formed. */
export function connectionsText(c: ConnectionCounts): string {
  if (c.perLink === null || c.peerListBytesPerLink === null) {
    return `${c.opened} opened, no link formed`;
  }
  return (
    `${c.opened} opened for ${c.links} links (${c.perLink.toFixed(2)} per link, probes included; ` +
    `${c.attempted} attempted), peer lists ${Math.round(c.peerListBytesPerLink)} bytes per link`
  );
}

function hostingText(threads: number, processes: number): string {
  const plural = (count: number, word: string): string =>
    `${count} ${word}${count === 1 ? '' : 's'}`;
  if (processes === 1) return plural(threads, 'thread');
  return `${processes} processes x ${plural(threads / processes, 'thread')}`;
}

/** The peak of the busiest process, beside the limit each process has. */
function openFilesText({ limit, peak, perProcess }: OpenFileCounts): string {
  if (peak === null) return 'not counted (no /proc)';
  const of = limit === null ? '' : ` (limit ${limit}${perProcess.length > 1 ? ' each' : ''})`;
  if (perProcess.length <= 1) return `at most ${peak} open at once${of}`;
  return `at most ${peak} in one process${of}; per process ${perProcess.join(', ')}`;
}

/** The figures of a run, one per line. */
export function renderSummary(result: EmulationResult): string {
  const { config, links, messages, latencyMs, mesh } = result;
  const first = result.peers[0]?.port;
  const last = result.peers[result.peers.length - 1]?.port;
  const rows: Array<[string, string]> = [
    ['status', statusLine(result)],
    [
      'peers',
      `${config.peers} on ${hostingText(config.threads, config.processes)}, ports ${first}-${last}, ${config.rate === null ? `gossip every ${formatDuration(config.periodMs)}` : `${config.rate} messages/s network-wide`}`,
    ],
    [
      'all listening',
      result.allListeningMs === null
        ? 'no: some peers never listened'
        : `${formatDuration(result.allListeningMs)} after launch`,
    ],
    [
      result.overlay === null ? 'full mesh' : 'formed',
      mesh === null
        ? 'not formed'
        : `${formatDuration(mesh.fromFirstStartMs)} after the first peer started, ${formatDuration(mesh.fromLastStartMs)} after the last (${formatDuration(mesh.fromLaunchMs)} after launch)`,
    ],
    [
      'links',
      `${links.formed}${result.overlay === null ? ` of ${links.expected}` : ''}${links.oneSided > 0 ? `, ${links.oneSided} one-sided` : ''}`,
    ],
    ['sockets', socketsText(result.sockets)],
    ['connections', connectionsText(result.connections)],
    ['open files', openFilesText(result.openFiles)],
    [
      'messages',
      messages.windowMs === 0
        ? 'not measured (--duration 0)'
        : `${messages.sent} sent, ${messages.received} of ${messages.expected} deliveries received in ${formatDuration(messages.windowMs)} (then ${formatDuration(messages.drainMs)} drained)`,
    ],
    [
      'latency',
      latencyMs === null
        ? 'no deliveries measured'
        : `p50 ${formatDuration(latencyMs.p50)}, p90 ${formatDuration(latencyMs.p90)}, p99 ${formatDuration(latencyMs.p99)}, max ${formatDuration(latencyMs.max)} over ${latencyMs.count} deliveries`,
    ],
    ['seed', String(result.seed)],
    ...result.faults.map((f): [string, string] => ['fault', describeFault(f)]),
  ];
  if (result.overlay !== null) rows.push(...overlayRows(result.overlay, config.peers));
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

export interface ReportOptions {
  /** Show the full matrix whatever the number of peers. */
  readonly matrix?: boolean;
}

/** The whole report: problems, then the matrix (or the compact view), then the summary. */
export function renderReport(result: EmulationResult, options: ReportOptions = {}): string {
  const parts: string[] = [];
  if (result.failures.length > 0) parts.push(result.failures.join('\n'));
  const full = options.matrix === true || result.peers.length <= MATRIX_MAX_PEERS;
  // Above 40 peers an overlay's figures (degree distribution, components) are in the summary.
  if (full) parts.push(renderMatrix(result));
  else if (result.overlay === null) parts.push(renderCompact(result));
  parts.push(renderSummary(result));
  return `${parts.join('\n\n')}\n`;
}

/** The one-line progress shown while the mesh forms. */
export function formatProgress(progress: EmulationProgress): string {
  const elapsed = formatDuration(progress.elapsedMs);
  if (
    progress.components !== undefined &&
    progress.phase !== 'starting' &&
    progress.phase !== 'stopping'
  ) {
    const degree = ((2 * progress.links) / progress.peers).toFixed(2);
    const parts = progress.components === null ? '' : `, ${progress.components} component(s)`;
    const shape = `${progress.links} links, mean degree ${degree}${parts}`;
    return progress.phase === 'forming'
      ? `forming the overlay: ${shape}, ${elapsed}`
      : `overlay: ${shape}, ${progress.messages} messages sent, ${progress.deliveries} received, ${elapsed}`;
  }
  switch (progress.phase) {
    case 'starting':
      return `starting: ${progress.listening}/${progress.peers} peers listening, ${elapsed}`;
    case 'forming':
      return `forming the mesh: ${progress.links}/${progress.expectedLinks} links, ${elapsed}`;
    case 'running':
      return `full mesh: ${progress.links}/${progress.expectedLinks} links, ${progress.messages} messages sent, ${progress.deliveries} received, ${elapsed}`;
    case 'stopping':
      return `stopping ${progress.peers} peers, ${elapsed}`;
  }
}
