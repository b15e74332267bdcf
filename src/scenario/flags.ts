import {
  DEFAULT_SHAPE,
  type LinkShape,
  type Scenario,
  ScenarioError,
  type ScenarioStep,
} from './model.js';
import {
  type Parsed,
  parseBandwidth,
  parseDuration,
  parseFraction,
  parseGroups,
  parseLatency,
  parseRate,
  parseSelection,
} from './values.js';

/**
 * The fault flags shared by `simulate` (and later `emulate`), each a value and when:
 *
 *   --kill 20%@5s          kill 20 % of the running peers at 5 s (no goodbye); or 10@5s, all@5s
 *   --stop 10@5s           stop 10 peers (with goodbye)
 *   --restart all@20s      restart peers that were killed or stopped
 *   --add 100@10s          100 new peers join at 10 s
 *   --cut 50@5s            close 50 random links
 *   --partition 2@5s-15s   two equal groups from 5 s, healed at 15 s (30%,70%@5s: sizes, no heal)
 *   --churn 2/s@0s-30s     2 peers a second leave (killed) and as many join (no range: whole run)
 *   --latency 20ms±5ms     one-way delay of every link and its jitter (also 20ms+-5ms)
 *   --loss 1%              segments lost, shown as retransmission delay
 *   --bandwidth 10mbit     per link, each way
 *
 * Repeatable flags (kill, stop, restart, add, cut, partition, churn) may be given several times.
 * Times count from the start of the measured phase, once the network formed.
 */
export interface FaultFlags {
  readonly kill?: readonly string[];
  readonly stop?: readonly string[];
  readonly restart?: readonly string[];
  readonly add?: readonly string[];
  readonly cut?: readonly string[];
  readonly partition?: readonly string[];
  readonly churn?: readonly string[];
  readonly latency?: string;
  readonly loss?: string;
  readonly bandwidth?: string;
}

function must<T>(flag: string, parsed: Parsed<T>): T {
  if (!parsed.ok) throw new ScenarioError('SCENARIO_FLAG', `--${flag}: ${parsed.error}`);
  return parsed.value;
}

/** `VALUE@TIME` or `VALUE@FROM-TO` (or just `VALUE` when `whenOptional`). */
function split(
  flag: string,
  text: string,
  whenOptional = false,
): { value: string; at: number | null; until: number | null } {
  const [value, when, ...rest] = text.split('@');
  if (value === undefined || rest.length > 0 || (when === undefined && !whenOptional))
    throw new ScenarioError(
      'SCENARIO_FLAG',
      `--${flag}: '${text}' is not VALUE@TIME (like 20%@5s or 2@5s-15s)`,
    );
  if (when === undefined) return { value, at: null, until: null };
  const [from, to, ...more] = when.split('-');
  if (more.length > 0)
    throw new ScenarioError('SCENARIO_FLAG', `--${flag}: '${when}' is not TIME or FROM-TO`);
  const at = must(flag, parseDuration(from ?? ''));
  const until = to === undefined ? null : must(flag, parseDuration(to));
  if (until !== null && until <= at)
    throw new ScenarioError('SCENARIO_FLAG', `--${flag}: '${when}' ends before it starts`);
  return { value, at, until };
}

/**
 * The scenario the flags describe; `runMs` bounds a churn flag given without a range. Throws
 * ScenarioError (code SCENARIO_FLAG) naming the flag.
 */
export function scenarioFromFlags(flags: FaultFlags, runMs: number): Scenario {
  const steps: ScenarioStep[] = [];
  for (const kind of ['kill', 'stop', 'restart'] as const) {
    for (const text of flags[kind] ?? []) {
      const { value, at } = split(kind, text);
      steps.push({ kind, at: at ?? 0, select: must(kind, parseSelection(value)) });
    }
  }
  for (const kind of ['add', 'cut'] as const) {
    for (const text of flags[kind] ?? []) {
      const { value, at } = split(kind, text);
      if (!/^[0-9]+$/.test(value))
        throw new ScenarioError('SCENARIO_FLAG', `--${kind}: '${value}' is not a whole number`);
      steps.push({ kind, at: at ?? 0, count: Number(value) });
    }
  }
  for (const text of flags.partition ?? []) {
    const { value, at, until } = split('partition', text);
    steps.push({
      kind: 'partition',
      at: at ?? 0,
      until,
      groups: must('partition', parseGroups(value)),
    });
  }
  for (const text of flags.churn ?? []) {
    const { value, at, until } = split('churn', text, true);
    const perSecond = must('churn', parseRate(value));
    steps.push({ kind: 'churn', at: at ?? 0, until: until ?? runMs, perSecond, leave: 'kill' });
  }
  const shape: LinkShape = {
    ...DEFAULT_SHAPE,
    ...(flags.latency === undefined ? {} : must('latency', parseLatency(flags.latency))),
    ...(flags.loss === undefined ? {} : { loss: lossOf('loss', flags.loss) }),
    ...(flags.bandwidth === undefined
      ? {}
      : { bandwidthBps: must('bandwidth', parseBandwidth(flags.bandwidth)) }),
  };
  steps.sort((a, b) => a.at - b.at);
  return { shape, steps };
}

/** Loss below 1: at 100 % nothing would ever arrive. */
export const MAX_LOSS = 0.9;

export function lossOf(flag: string, text: string): number {
  const loss = must(flag, parseFraction(text));
  if (loss > MAX_LOSS)
    throw new ScenarioError('SCENARIO_FLAG', `--${flag}: '${text}' is above ${MAX_LOSS * 100}%`);
  return loss;
}

/** True when any fault or shaping flag was given. */
export function hasFaultFlags(flags: FaultFlags): boolean {
  return Object.values(flags).some((v) => v !== undefined && (!Array.isArray(v) || v.length > 0));
}
