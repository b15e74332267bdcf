import type { Selection } from './model.js';

/**
 * The value syntax shared by the fault flags and scenario files, one parser per kind of value.
 * Each returns the value or a sentence saying what was expected, for the caller to place (a flag
 * name, or a file's line and field).
 *
 *   duration    5s, 1.5s, 250ms, 2m (a bare number is seconds)
 *   selection   20% (of the eligible peers), 10 (peers), all
 *   fraction    1%, 0.5%, 0.01
 *   latency     20ms, 20ms±5ms (also 20ms+-5ms): one-way delay and its uniform jitter
 *   bandwidth   10mbit, 512kbit, 1gbit, 8000bit (bits per second, each way)
 *   rate        2/s, 0.5/s (events a second)
 */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

const NUMBER = '([0-9]+(?:\\.[0-9]+)?)';
const DURATION = new RegExp(`^${NUMBER}(ms|s|m)?$`);
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

export function parseDuration(text: string): Parsed<number> {
  const match = DURATION.exec(text.trim());
  if (match === null) return bad(`'${text}' is not a duration (like 5s, 250ms, 2m)`);
  return ok(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number));
}

/** A duration given as a number is milliseconds in files (JSON has no units), seconds in flags. */
export function durationOf(value: string | number): Parsed<number> {
  if (typeof value === 'number')
    return value >= 0 ? ok(value) : bad(`${value} is not a duration >= 0`);
  return parseDuration(value);
}

export function parseFraction(text: string): Parsed<number> {
  const trimmed = text.trim();
  const percent = new RegExp(`^${NUMBER}%$`).exec(trimmed);
  const value =
    percent !== null
      ? Number(percent[1]) / 100
      : new RegExp(`^${NUMBER}$`).test(trimmed)
        ? Number(trimmed)
        : Number.NaN;
  if (!(value >= 0 && value <= 1)) return bad(`'${text}' is not a fraction (like 20% or 0.2)`);
  return ok(value);
}

export function parseSelection(text: string): Parsed<Selection> {
  const trimmed = text.trim();
  if (trimmed === 'all') return ok({ all: true });
  if (trimmed.endsWith('%')) {
    const fraction = parseFraction(trimmed);
    return fraction.ok ? ok({ fraction: fraction.value }) : fraction;
  }
  if (/^[0-9]+$/.test(trimmed)) return ok({ count: Number(trimmed) });
  return bad(`'${text}' is not a choice of peers (like 20%, 10 or all)`);
}

export function parseLatency(text: string): Parsed<{ latencyMs: number; jitterMs: number }> {
  const [mean, jitter, ...rest] = text.split(/±|\+-/);
  const latency = parseDuration(mean ?? '');
  const spread = jitter === undefined ? ok(0) : parseDuration(jitter);
  if (rest.length > 0 || !latency.ok || !spread.ok)
    return bad(`'${text}' is not a latency (like 20ms or 20ms±5ms)`);
  return ok({ latencyMs: latency.value, jitterMs: spread.value });
}

const BANDWIDTH = new RegExp(`^${NUMBER}(bit|kbit|mbit|gbit)$`, 'i');
const BITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

export function parseBandwidth(text: string): Parsed<number> {
  const match = BANDWIDTH.exec(text.trim());
  const bps =
    match === null ? 0 : Number(match[1]) * (BITS[(match[2] as string).toLowerCase()] as number);
  if (!(bps > 0)) return bad(`'${text}' is not a bandwidth (like 10mbit, 512kbit)`);
  return ok(bps);
}

export function parseRate(text: string): Parsed<number> {
  const match = new RegExp(`^${NUMBER}/s$`).exec(text.trim());
  const rate = match === null ? 0 : Number(match[1]);
  if (!(rate > 0)) return bad(`'${text}' is not a rate (like 2/s)`);
  return ok(rate);
}

/** `2` (equal groups) or `30%,70%`: fractions summing to 1. */
export function parseGroups(text: string): Parsed<number[]> {
  const trimmed = text.trim();
  if (/^[0-9]+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n < 2 || n > 1_000) return bad(`'${text}' is not a number of groups from 2 to 1000`);
    return ok(Array.from({ length: n }, () => 1 / n));
  }
  const parts = trimmed.split(',').map(parseFraction);
  const values = parts.flatMap((p) => (p.ok ? [p.value] : []));
  const sum = values.reduce((a, b) => a + b, 0);
  if (values.length !== parts.length || values.length < 2 || Math.abs(sum - 1) > 1e-6)
    return bad(
      `'${text}' is not a partition (a number of groups like 2, or sizes like 30%,70% summing to 100%)`,
    );
  return ok(values);
}
