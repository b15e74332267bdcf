import { createRng } from '../core/rng.js';

/**
 * What a researcher reads about an overlay's shape: degree distribution, connected components,
 * diameter estimate. Pure functions on an undirected graph given as an adjacency list (node i's
 * neighbours are `adjacency[i]`, indices into the same list), so the emulator (links reported by
 * real peers) and the simulator (links in memory) print the same figures.
 */
export type Adjacency = ReadonlyArray<ReadonlyArray<number>>;

export interface DegreeStats {
  readonly min: number;
  readonly mean: number;
  readonly max: number;
  /** `histogram[d]`: how many nodes have degree d. */
  readonly histogram: readonly number[];
}

export interface GraphSummary {
  readonly nodes: number;
  /** Undirected edges (a pair listed at either end counts once). */
  readonly edges: number;
  readonly degree: DegreeStats;
  /** Connected components (an isolated node is one). */
  readonly components: number;
  /** Nodes in the largest component. */
  readonly largestComponent: number;
  /** Longest shortest path found by BFS from the sampled nodes (a lower bound of the diameter). */
  readonly diameter: number;
  /** Nodes the diameter estimate ran BFS from. */
  readonly diameterSamples: number;
}

/** BFS sources for the diameter estimate: enough to find the longest paths of a random graph. */
export const DIAMETER_SAMPLES = 16;

/**
 * The same graph with every edge listed at both ends, without self-loops, duplicates or indices
 * out of range: the emulator's views may be one-sided for a moment.
 */
export function symmetric(adjacency: Adjacency): number[][] {
  const sets = adjacency.map(() => new Set<number>());
  adjacency.forEach((neighbours, i) => {
    for (const j of neighbours) {
      if (j === i || j < 0 || j >= adjacency.length || !Number.isInteger(j)) continue;
      sets[i]?.add(j);
      sets[j]?.add(i);
    }
  });
  return sets.map((s) => [...s].sort((a, b) => a - b));
}

export function degreeStats(adjacency: Adjacency): DegreeStats {
  const degrees = adjacency.map((n) => n.length);
  if (degrees.length === 0) return { min: 0, mean: 0, max: 0, histogram: [] };
  const max = Math.max(...degrees);
  const histogram = new Array<number>(max + 1).fill(0);
  for (const d of degrees) histogram[d] = (histogram[d] ?? 0) + 1;
  return {
    min: Math.min(...degrees),
    mean: degrees.reduce((a, b) => a + b, 0) / degrees.length,
    max,
    histogram,
  };
}

/** Component index of every node (0, 1, ... in order of their lowest node). */
export function componentsOf(adjacency: Adjacency): number[] {
  const component = new Array<number>(adjacency.length).fill(-1);
  let next = 0;
  for (let start = 0; start < adjacency.length; start++) {
    if (component[start] !== -1) continue;
    const stack = [start];
    component[start] = next;
    while (stack.length > 0) {
      const node = stack.pop() as number;
      for (const j of adjacency[node] ?? []) {
        if (component[j] === -1) {
          component[j] = next;
          stack.push(j);
        }
      }
    }
    next++;
  }
  return component;
}

/** Hop distance from `source` to every node (-1: unreachable). */
export function bfsDistances(adjacency: Adjacency, source: number): number[] {
  const distance = new Array<number>(adjacency.length).fill(-1);
  if (source < 0 || source >= adjacency.length) return distance;
  distance[source] = 0;
  const queue = [source];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as number;
    const d = (distance[node] as number) + 1;
    for (const j of adjacency[node] ?? []) {
      if (distance[j] === -1) {
        distance[j] = d;
        queue.push(j);
      }
    }
  }
  return distance;
}

/**
 * The longest shortest path seen from `samples` sources drawn with `seed` (every node when there
 * are fewer): a lower bound of the diameter, exact for small graphs, within a hop or so on the
 * random graphs an overlay forms. Paths between components do not count.
 */
export function diameterEstimate(
  adjacency: Adjacency,
  samples = DIAMETER_SAMPLES,
  seed = 1,
): { diameter: number; samples: number } {
  const n = adjacency.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const sources = n <= samples ? all : createRng(seed).shuffle(all).slice(0, samples);
  let diameter = 0;
  for (const source of sources) {
    for (const d of bfsDistances(adjacency, source)) if (d > diameter) diameter = d;
  }
  return { diameter, samples: sources.length };
}

/** Every figure of `adjacency` (made symmetric first). */
export function summarizeGraph(adjacency: Adjacency, seed = 1): GraphSummary {
  const graph = symmetric(adjacency);
  const component = componentsOf(graph);
  const sizes = new Map<number, number>();
  for (const c of component) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const { diameter, samples } = diameterEstimate(graph, DIAMETER_SAMPLES, seed);
  return {
    nodes: graph.length,
    edges: graph.reduce((sum, n) => sum + n.length, 0) / 2,
    degree: degreeStats(graph),
    components: sizes.size,
    largestComponent: Math.max(0, ...sizes.values()),
    diameter,
    diameterSamples: samples,
  };
}

/** The value below which `fraction` of the sorted `values` lie (nearest rank); 0 when empty. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
