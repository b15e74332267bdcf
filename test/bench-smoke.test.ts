import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../bench/report.js';

/**
 * The benchmark suite as a smoke test: `npm run bench -- --quick` (under a minute) must produce
 * every figure of every benchmark as a finite number. No timing is asserted: CI machines are too
 * noisy for that. (`--smoke`, a few seconds, is the same check for development.)
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = ['mesh', 'latency', 'idle', 'hosting'] as const;
/** Row keys that are labels, not figures. */
const LABELS = new Set(['host']);

let outDir = '';
let output = '';

function runSmoke(dir: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bench', 'run.ts'), '--quick', '--out', dir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('close', resolve);
  });
}

async function load(name: string): Promise<BenchResult> {
  return JSON.parse(await readFile(join(outDir, `${name}.json`), 'utf8')) as BenchResult;
}

describe('npm run bench -- --quick', { timeout: 300_000 }, () => {
  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'naive-peer-bench-'));
    const code = await runSmoke(outDir);
    assert.equal(code, 0, `bench/run.ts --quick failed:\n${output}`);
  });

  after(async () => {
    if (outDir !== '') await rm(outDir, { recursive: true, force: true });
  });

  for (const name of BENCHMARKS) {
    test(`${name}: every figure of every row is a finite number`, async () => {
      const result = await load(name);
      assert.equal(result.benchmark, name);
      assert.equal(result.mode, 'quick');
      assert.ok(result.figures.length > 1, 'declares its figures');
      assert.ok(result.rows.length > 0, 'has rows');
      for (const row of result.rows) {
        for (const figure of result.figures) {
          const value = row[figure];
          if (LABELS.has(figure)) {
            assert.equal(typeof value, 'string', `${name}.${figure} is a label`);
          } else {
            assert.equal(typeof value, 'number', `${name}.${figure} was produced`);
            assert.ok(Number.isFinite(value), `${name}.${figure} = ${value} is finite`);
          }
        }
      }
      for (const target of result.targets) assert.ok(Number.isFinite(target.measured));
    });

    test(`${name}: records the machine, Node and date`, async () => {
      const { machine, node, date } = await load(name);
      assert.ok(machine.cpu.length > 0);
      assert.ok(machine.cores > 0);
      assert.ok(machine.memoryBytes > 0);
      assert.equal(node, process.version);
      assert.ok(Number.isFinite(Date.parse(date)));
    });
  }

  test('draws the chart as SVG', async () => {
    const svg = await readFile(join(outDir, 'benchmarks.svg'), 'utf8');
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.match(svg, /Time to full mesh/);
  });

  test('writes its tables', () => {
    for (const title of ['Time to full mesh', 'Message latency', 'Idle cost', 'Hosting']) {
      assert.match(output, new RegExp(title));
    }
  });
});
