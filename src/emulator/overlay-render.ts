import type { OverlayReport } from './overlay-result.js';

/** An overlay's figures for people, one per line (pure: no I/O). */

const percent = (fraction: number): string => `${Number((fraction * 100).toFixed(2))} %`;

/** `3: 12, 4: 340, 5: 1648`: peers by degree, degrees nobody has left out. */
export function formatDegreeHistogram(histogram: readonly number[]): string {
  return histogram
    .map((count, degree) => [degree, count] as const)
    .filter(([, count]) => count > 0)
    .map(([degree, count]) => `${degree}: ${count}`)
    .join(', ');
}

/** The rows of the overlay's section of the summary. */
export function overlayRows(report: OverlayReport, peers: number): Array<[string, string]> {
  const { degree, hops, reach } = report;
  const rows: Array<[string, string]> = [
    [
      'overlay',
      `${report.kind}, active view ${report.activeView ?? 'default'}, passive view ${report.passiveView ?? 'default'}`,
    ],
    [
      'components',
      report.components === 1
        ? '1 (every peer reaches every other)'
        : `${report.components}, the largest with ${report.largestComponent} of ${peers} peers`,
    ],
    [
      'degree',
      `min ${degree.min}, mean ${degree.mean.toFixed(2)}, max ${degree.max}; peers by degree ${formatDegreeHistogram(degree.histogram)}`,
    ],
    ['diameter', `${report.diameter} hops (BFS from ${report.diameterSamples} seeded peers)`],
    [
      'hops',
      hops === null
        ? 'no deliveries measured'
        : `p50 ${hops.p50}, p99 ${hops.p99}, max ${hops.max} links from the sender`,
    ],
    [
      'reach',
      reach === null
        ? 'no messages measured'
        : `${reach.complete} of ${reach.messages} messages reached every peer; least ${percent(reach.min)}, mean ${percent(reach.mean)}`,
    ],
    [
      'payload sends',
      report.payloadSendsPerDelivery === null
        ? 'not measured'
        : `${report.payloadSendsPerDelivery.toFixed(3)} per delivery`,
    ],
  ];
  if (report.memory !== null) {
    rows.push(['memory', `${Math.round(report.memory.rssPerPeerBytes / 1024)} KB RSS per peer`]);
  }
  if (report.sockets !== null) {
    rows.push([
      'sockets',
      `${report.sockets.connections} TCP connections between peers (kernel), ${report.sockets.links} links reported, at most ${report.peakOpenFiles} files open while forming`,
    ]);
  }
  return rows;
}
