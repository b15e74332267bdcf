import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bfsDistances,
  componentsOf,
  diameterEstimate,
  percentile,
  summarizeGraph,
  symmetric,
} from '../src/report/graph.js';

test('a one-sided edge counts at both ends, once; self-loops and duplicates are dropped', () => {
  assert.deepEqual(symmetric([[1, 1, 0], [], [5]]), [[1], [0], []]);
});

test('a ring of 6 is one component of degree 2 and diameter 3', () => {
  const ring = Array.from({ length: 6 }, (_, i) => [(i + 1) % 6, (i + 5) % 6]);
  const summary = summarizeGraph(ring);
  assert.equal(summary.components, 1);
  assert.equal(summary.edges, 6);
  assert.deepEqual(summary.degree, { min: 2, mean: 2, max: 2, histogram: [0, 0, 6] });
  assert.equal(summary.diameter, 3);
});

test('two pairs and an isolated node are three components', () => {
  const graph = [[1], [0], [3], [2], []];
  assert.deepEqual(componentsOf(graph), [0, 0, 1, 1, 2]);
  const summary = summarizeGraph(graph);
  assert.equal(summary.components, 3);
  assert.equal(summary.largestComponent, 2);
  assert.equal(summary.degree.min, 0);
});

test('BFS gives hop distances and -1 for unreachable nodes', () => {
  assert.deepEqual(bfsDistances([[1], [0, 2], [1], []], 0), [0, 1, 2, -1]);
});

test('the diameter estimate of a path from a seeded sample is the same on every run', () => {
  const path = Array.from({ length: 100 }, (_, i) =>
    [i - 1, i + 1].filter((j) => j >= 0 && j < 100),
  );
  const a = diameterEstimate(path, 8, 7);
  assert.deepEqual(a, diameterEstimate(path, 8, 7));
  assert.equal(a.samples, 8);
  assert.ok(a.diameter >= 50 && a.diameter <= 99);
});

test('percentiles by nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile([], 0.5), 0);
});
