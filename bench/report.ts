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

/** The spread of a figure over a benchmark's runs. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number };
}

/** A figure's spread as row fields `<key>Min`, `<key>Median`, `<key>Max`. */
export function spreadFields(key: string, samples: readonly number[]): Row {
  const { min, median, max } = spread(samples);
  return { [`${key}Min`]: min, [`${key}Median`]: median, [`${key}Max`]: max };
}

/** A table column: a row key, or the spread of one (`median (min-max)` from `spreadFields`). */
export type Column = string | { readonly header: string; readonly spread: true };

function cell(row: Row, key: string, column: Column): string {
  if (typeof column === 'string') return fmt(row[key]);
  const median = row[`${key}Median`];
  return `${fmt(median)} (${fmt(row[`${key}Min`])}–${fmt(row[`${key}Max`])})`;
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

/** Prints rows as a table, one column per key of `columns` (key -> header, or a spread). */
export function printTable(
  title: string,
  columns: Record<string, Column>,
  rows: readonly Row[],
): string {
  const head = Object.values(columns).map((c) =>
    typeof c === 'string' ? c : `${c.header}\nmedian (min–max)`,
  );
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) {
    table.push(Object.entries(columns).map(([key, column]) => cell(row, key, column)));
  }
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
