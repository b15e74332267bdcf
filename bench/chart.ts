import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './report.js';

interface Point {
  readonly N: number;
  readonly ms: number;
  readonly series: string;
}

/**
 * One SVG: time to full mesh against N (medians of the mesh, the no-proof mesh and the floor) and
 * delivery latency against N (p50 and p99 per host), both on log scales.
 */
export function chartSpec(
  mesh: BenchResult | undefined,
  latency: BenchResult | undefined,
): TopLevelSpec {
  const meshPoints: Point[] = (mesh?.rows ?? []).flatMap((r) => [
    { N: Number(r.N), ms: Number(r.meshMsMedian), series: 'mesh, median' },
    { N: Number(r.N), ms: Number(r.noProofMsMedian), series: 'no-proof mesh, median' },
    { N: Number(r.N), ms: Number(r.floorMsMedian), series: 'floor (sockets only), median' },
  ]);
  const latencyPoints: Point[] = (latency?.rows ?? []).flatMap((r) => [
    { N: Number(r.N), ms: Number(r.p50Ms), series: `${r.host}, p50` },
    { N: Number(r.N), ms: Number(r.p99Ms), series: `${r.host}, p99` },
  ]);
  const panel = (title: string, values: Point[]) => ({
    title,
    width: 320,
    height: 240,
    data: { values: values.map((p) => ({ ...p, ms: Math.max(p.ms, 0.001) })) },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: {
        field: 'N',
        type: 'quantitative' as const,
        scale: { type: 'log' as const },
        title: 'peers (N)',
      },
      y: {
        field: 'ms',
        type: 'quantitative' as const,
        scale: { type: 'log' as const },
        title: 'ms',
      },
      color: { field: 'series', type: 'nominal' as const, title: null },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    hconcat: [
      panel('Time to full mesh (worker threads)', meshPoints),
      panel('Delivery latency, every peer gossiping', latencyPoints),
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

export async function renderChart(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return accessible(svg);
}

/**
 * Vega's SVG with a <title> and without its ARIA roles on <g> groups, which the project's linter
 * (it checks everything under bench/, results included) rejects.
 */
function accessible(svg: string): string {
  return svg
    .replace(/ (role|aria-[a-z]+)="[^"]*"/g, '')
    .replace(
      /^(<svg[^>]*>)/,
      '$1<title>naive-peer benchmarks: time to full mesh and latency</title>',
    );
}

export async function writeChart(
  outDir: string,
  mesh: BenchResult | undefined,
  latency: BenchResult | undefined,
): Promise<string> {
  const file = join(outDir, 'benchmarks.svg');
  await writeFile(file, await renderChart(chartSpec(mesh, latency)));
  return file;
}
