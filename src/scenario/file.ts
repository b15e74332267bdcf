import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { MAX_LOSS } from './flags.js';
import { DEFAULT_SHAPE, type Scenario, ScenarioError, type ScenarioStep } from './model.js';
import {
  durationOf,
  type Parsed,
  parseBandwidth,
  parseFraction,
  parseGroups,
  parseLatency,
  parseRate,
  parseSelection,
} from './values.js';

/**
 * Scenario files, YAML or JSON (JSON is read by the YAML parser too, so both get line numbers):
 *
 *   latency: 20ms±5ms        # link shape from the start (latency, loss, bandwidth)
 *   loss: 1%
 *   steps:
 *     - { at: 5s, kill: 20% }                       # also stop, restart (20%, 10, all)
 *     - { at: 5s, partition: 2, until: 15s }        # or partition: 30%,70%
 *     - { at: 0s, churn: 2/s, until: 30s, leave: stop }
 *     - { at: 10s, add: 100 }                       # also cut: 50 (links)
 *     - { at: 20s, latency: 50ms, loss: 5% }        # reshape every link from then on
 *
 * Values use the flags' syntax (`values.ts`); a bare number for a time is milliseconds. Checked
 * with zod; every problem is reported as FILE:LINE:COLUMN, the field's path and what was expected.
 */

/** A zod type for a value written in the flags' syntax. */
function syntax<T>(parse: (text: string) => Parsed<T>) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const parsed = parse(String(value));
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  });
}

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = durationOf(value);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});
const loss = syntax(parseFraction).refine((v) => v <= MAX_LOSS, `loss above ${MAX_LOSS * 100}%`);
const count = z.number().int().min(0);
const shapeFields = {
  latency: syntax(parseLatency).optional(),
  loss: loss.optional(),
  bandwidth: syntax(parseBandwidth).optional(),
};

const topLevel = z.strictObject({ ...shapeFields, steps: z.array(z.unknown()).optional() });

/** One schema per kind of step; a step names its kind by the one action key it has. */
const STEP_SCHEMAS = {
  kill: z.strictObject({ at: duration, kill: syntax(parseSelection) }),
  stop: z.strictObject({ at: duration, stop: syntax(parseSelection) }),
  restart: z.strictObject({ at: duration, restart: syntax(parseSelection) }),
  add: z.strictObject({ at: duration, add: count }),
  cut: z.strictObject({ at: duration, cut: count }),
  partition: z.strictObject({
    at: duration,
    partition: syntax(parseGroups),
    until: duration.optional(),
  }),
  heal: z.strictObject({ at: duration, heal: z.literal(true) }),
  churn: z.strictObject({
    at: duration,
    churn: syntax(parseRate),
    until: duration,
    leave: z.enum(['kill', 'stop']).default('kill'),
  }),
  shape: z.strictObject({ at: duration, ...shapeFields }),
} as const;
const ACTION_KEYS = [
  'kill',
  'stop',
  'restart',
  'add',
  'cut',
  'partition',
  'heal',
  'churn',
] as const;

interface Problem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** An unknown field is reported at the field itself, not at the object holding it. */
function pointAtKey(issue: z.core.$ZodIssue): Problem {
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0)
    return { path: [...issue.path, issue.keys[0] as string], message: 'unknown field' };
  return issue;
}

function toStep(raw: unknown): { step: ScenarioStep } | { problems: Problem[] } {
  const keys = raw !== null && typeof raw === 'object' ? Object.keys(raw) : [];
  const actions = ACTION_KEYS.filter((k) => keys.includes(k));
  const isShape = actions.length === 0 && keys.some((k) => k in shapeFields);
  if (actions.length !== 1 && !isShape) {
    const message =
      actions.length === 0
        ? `a step needs one action: ${ACTION_KEYS.join(', ')}, or latency/loss/bandwidth`
        : `a step has one action, not ${actions.join(' and ')}`;
    return { problems: [{ path: [], message }] };
  }
  const kind = isShape ? 'shape' : (actions[0] as (typeof ACTION_KEYS)[number]);
  const parsed = STEP_SCHEMAS[kind].safeParse(raw);
  if (!parsed.success) return { problems: parsed.error.issues.map(pointAtKey) };
  const v = parsed.data as Record<string, unknown> & { at: number };
  switch (kind) {
    case 'kill':
    case 'stop':
    case 'restart':
      return { step: { kind, at: v.at, select: v[kind] as never } };
    case 'add':
    case 'cut':
      return { step: { kind, at: v.at, count: v[kind] as number } };
    case 'partition':
      if (v.until !== undefined && (v.until as number) <= v.at)
        return { problems: [{ path: ['until'], message: 'ends before it starts' }] };
      return {
        step: {
          kind,
          at: v.at,
          groups: v.partition as number[],
          until: (v.until as number) ?? null,
        },
      };
    case 'heal':
      return { step: { kind, at: v.at } };
    case 'churn':
      if ((v.until as number) <= v.at)
        return { problems: [{ path: ['until'], message: 'ends before it starts' }] };
      return {
        step: {
          kind,
          at: v.at,
          until: v.until as number,
          perSecond: v.churn as number,
          leave: v.leave as 'kill',
        },
      };
    case 'shape': {
      const latency = v.latency as { latencyMs: number; jitterMs: number } | undefined;
      return {
        step: {
          kind,
          at: v.at,
          shape: {
            ...latency,
            ...(v.loss === undefined ? {} : { loss: v.loss as number }),
            ...(v.bandwidth === undefined ? {} : { bandwidthBps: v.bandwidth as number }),
          },
        },
      };
    }
  }
}

/** Parses a scenario file's text; `name` is what errors call the file. */
export function parseScenario(text: string, name: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${name}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    throw new ScenarioError(
      'SCENARIO_SYNTAX',
      `${at(error?.pos[0] ?? 0)}: ${error?.code}: ${error?.message.split('\n')[0]}`,
    );
  }
  const where = (path: readonly PropertyKey[]): string => {
    // The deepest node of the path that exists: a missing field points at its object.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return `${name}:1:1`;
  };
  const problems: Problem[] = [];
  const raw: unknown = doc.toJS();
  const top = topLevel.safeParse(raw);
  if (!top.success) problems.push(...top.error.issues.map(pointAtKey));
  const steps: ScenarioStep[] = [];
  const rawSteps =
    raw !== null && typeof raw === 'object' && 'steps' in raw ? raw.steps : undefined;
  if (Array.isArray(rawSteps)) {
    rawSteps.forEach((step: unknown, i) => {
      const result = toStep(step);
      if ('step' in result) steps.push(result.step);
      else
        for (const p of result.problems)
          problems.push({ path: ['steps', i, ...p.path], message: p.message });
    });
  }
  if (problems.length > 0) {
    const lines = problems.map(
      (p) => `${where(p.path)}: ${p.path.map(String).join('.') || '(top)'}: ${p.message}`,
    );
    throw new ScenarioError('SCENARIO_SCHEMA', lines.join('\n'));
  }
  const data = top.success ? top.data : {};
  return {
    shape: {
      ...DEFAULT_SHAPE,
      ...data.latency,
      ...(data.loss === undefined ? {} : { loss: data.loss }),
      ...(data.bandwidth === undefined ? {} : { bandwidthBps: data.bandwidth }),
    },
    steps: steps.sort((a, b) => a.at - b.at),
  };
}

export async function readScenario(path: string): Promise<Scenario> {
  return parseScenario(await readFile(path, 'utf8'), path);
}

/** A file's steps after the flags' (both apply), the flags' shape over the file's where given. */
export function mergeScenarios(file: Scenario, flags: Scenario, flagShapeGiven: boolean): Scenario {
  return {
    shape: flagShapeGiven ? flags.shape : file.shape,
    steps: [...file.steps, ...flags.steps].sort((a, b) => a.at - b.at),
  };
}
