import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { readOpenFileLimit } from '../src/emulator/resources.js';

/** One row of a benchmark's results: N and the figures measured at that N. */
export type Row = Record<string, number | string>;

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly platform: string;
  readonly arch: string;
  readonly openFileLimit: number;
}

/** What every benchmark writes to `<out>/<name>.json`. */
export interface BenchResult {
  readonly benchmark: string;
  readonly mode: Mode;
  readonly date: string;
  readonly node: string;
  readonly machine: Machine;
  /** What the benchmark held fixed (periods, windows, thread counts...). */
  readonly params: Record<string, number | string | boolean>;
  /** The keys of every row; each is a finite number in every row, except the `host` label. */
  readonly figures: readonly string[];
  /** One row per N (and host). */
  readonly rows: readonly Row[];
  /** Each target of the issue this benchmark measures, and where we stand. */
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
}

export interface TargetCheck {
  readonly target: string;
  readonly limit: number;
  readonly measured: number;
  readonly unit: string;
  readonly met: boolean;
}

export type Mode = 'full' | 'quick' | 'smoke';

export function machine(): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    memoryBytes: totalmem(),
    platform: process.platform,
    arch: process.arch,
    openFileLimit: readOpenFileLimit() ?? 1_024,
  };
}

/** A benchmark's result: `fields` stamped with the run's mode, the date, Node and the machine. */
export function benchResult(
  benchmark: string,
  mode: Mode,
  fields: Pick<BenchResult, 'params' | 'figures' | 'rows' | 'targets' | 'notes'>,
): BenchResult {
  return {
    benchmark,
    mode,
    date: new Date().toISOString(),
    node: process.version,
    machine: machine(),
    ...fields,
  };
}

export async function writeResult(outDir: string, result: BenchResult): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `${result.benchmark}.json`);
  await writeFile(file, `${toJson(result)}\n`);
  return file;
}

const LINE_WIDTH = 100;

/**
 * JSON as the project's formatter (biome, which checks bench/results too) prints it: objects one
 * key a line, arrays of plain values on one line when it fits in 100 columns.
 */
export function toJson(value: unknown, indent = '', prefixLength = 0): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = `${indent}  `;
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const flat = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
      if (indent.length + prefixLength + flat.length + 1 <= LINE_WIDTH) return flat;
    }
    return `[\n${value.map((v) => `${inner}${toJson(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const lines = entries.map(([k, v]) => {
      const key = `${JSON.stringify(k)}: `;
      return `${inner}${key}${toJson(v, inner, key.length)}`;
    });
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function check(
  target: string,
  measured: number,
  limit: number,
  unit: string,
  atMost = true,
): TargetCheck {
  return { target, limit, measured, unit, met: atMost ? measured <= limit : measured >= limit };
}

/** A number for a table cell: 3 significant figures, no exponent for everyday sizes. */
export function fmt(value: number | string | undefined): string {
  if (typeof value === 'string') return value;
  if (value === undefined || Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 0.001) return Number(value.toPrecision(3)).toString();
  return value.toExponential(2);
}

/** Prints rows as a table, one column per key of `columns` (key -> header). */
export function printTable(
  title: string,
  columns: Record<string, string>,
  rows: readonly Row[],
): string {
  const table = new Table({ head: Object.values(columns), style: { head: [], border: [] } });
  for (const row of rows) table.push(Object.keys(columns).map((key) => fmt(row[key])));
  const text = `\n${title}\n${table.toString()}`;
  console.log(text);
  return text;
}

export function printTargets(targets: readonly TargetCheck[]): void {
  for (const t of targets) {
    console.log(
      `  ${t.met ? 'MET ' : 'MISS'} ${t.target}: ${fmt(t.measured)} ${t.unit} (target ${fmt(t.limit)} ${t.unit})`,
    );
  }
}
