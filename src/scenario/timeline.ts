import { createRng, type Rng } from '../core/rng.js';
import type { LinkShape, Scenario, ScenarioStep, Selection } from './model.js';

/**
 * A scenario made concrete for one seed: which peers (by index: 0 .. initialPeers-1 are the
 * network's, later indices are peers that join during the run) each action takes, and when. The
 * resolver keeps its own account of which peers run, so the same seed gives the same schedule
 * whatever executes it (the simulator, or emulate on sockets).
 */
export type TimelineAction =
  /** New peers join; `groups[i]` is the partition group of `peers[i]` (0 when none). */
  | {
      readonly kind: 'start' | 'restart';
      readonly at: number;
      readonly peers: readonly number[];
      readonly groups: readonly number[];
    }
  | { readonly kind: 'kill' | 'stop'; readonly at: number; readonly peers: readonly number[] }
  | { readonly kind: 'cut'; readonly at: number; readonly count: number }
  /** `groups[i]` lists the running peers of group i. */
  | { readonly kind: 'partition'; readonly at: number; readonly groups: readonly number[][] }
  | { readonly kind: 'heal'; readonly at: number }
  | { readonly kind: 'shape'; readonly at: number; readonly shape: LinkShape };

export interface Timeline {
  readonly initialPeers: number;
  /** Every peer index any action names is below this. */
  readonly totalPeers: number;
  readonly shape: LinkShape;
  /** In time order; simultaneous actions in the order the scenario gave them. */
  readonly actions: readonly TimelineAction[];
  readonly seed: number;
}

type Pending =
  | ScenarioStep
  | { readonly kind: 'churn-event'; readonly at: number; leave: 'kill' | 'stop' };

function chosen(select: Selection, eligible: number): number {
  if ('all' in select) return eligible;
  if ('count' in select) return Math.min(select.count, eligible);
  return Math.min(eligible, Math.round(select.fraction * eligible));
}

/** Exponential inter-arrival times: churn events form a Poisson process of the given rate. */
function churnTimes(step: Extract<ScenarioStep, { kind: 'churn' }>, rng: Rng): number[] {
  const times: number[] = [];
  let t = step.at;
  for (;;) {
    t += (-Math.log(1 - rng.next()) / step.perSecond) * 1_000;
    if (t >= step.until) return times;
    times.push(t);
  }
}

export function resolveTimeline(
  scenario: Scenario,
  options: { readonly peers: number; readonly seed: number },
): Timeline {
  const rng = createRng(options.seed ^ 0x5ce7a710);
  const pending: Pending[] = [];
  for (const step of scenario.steps) {
    if (step.kind === 'churn') {
      for (const at of churnTimes(step, rng))
        pending.push({ kind: 'churn-event', at, leave: step.leave });
    } else {
      pending.push(step);
      if (step.kind === 'partition' && step.until !== null)
        pending.push({ kind: 'heal', at: step.until });
    }
  }
  // Array.prototype.sort is stable: simultaneous steps keep the scenario's order.
  pending.sort((a, b) => a.at - b.at);

  const running = new Set<number>();
  for (let i = 0; i < options.peers; i++) running.add(i);
  const down: number[] = [];
  let next = options.peers;
  let groupSizes: readonly number[] | null = null;
  let shape = scenario.shape;
  const actions: TimelineAction[] = [];
  const groupFor = (): number => {
    if (groupSizes === null) return 0;
    let r = rng.next();
    for (let g = 0; g < groupSizes.length; g++) {
      r -= groupSizes[g] as number;
      if (r < 0) return g;
    }
    return groupSizes.length - 1;
  };
  const takeRunning = (n: number): number[] => {
    const picked = rng
      .shuffle([...running])
      .slice(0, n)
      .sort((a, b) => a - b);
    for (const p of picked) running.delete(p);
    down.push(...picked);
    return picked;
  };

  for (const step of pending) {
    const at = step.at;
    switch (step.kind) {
      case 'kill':
      case 'stop': {
        const peers = takeRunning(chosen(step.select, running.size));
        if (peers.length > 0) actions.push({ kind: step.kind, at, peers });
        break;
      }
      case 'restart': {
        const picked = rng.shuffle(down).slice(0, chosen(step.select, down.length));
        const set = new Set(picked);
        down.splice(0, down.length, ...down.filter((p) => !set.has(p)));
        picked.sort((a, b) => a - b);
        for (const p of picked) running.add(p);
        if (picked.length > 0)
          actions.push({ kind: 'restart', at, peers: picked, groups: picked.map(groupFor) });
        break;
      }
      case 'add': {
        const peers = Array.from({ length: step.count }, () => next++);
        for (const p of peers) running.add(p);
        actions.push({ kind: 'start', at, peers, groups: peers.map(groupFor) });
        break;
      }
      case 'churn-event': {
        const gone = takeRunning(Math.min(1, running.size));
        if (gone.length > 0) actions.push({ kind: step.leave, at, peers: gone });
        const peer = next++;
        running.add(peer);
        actions.push({ kind: 'start', at, peers: [peer], groups: [groupFor()] });
        break;
      }
      case 'cut':
        actions.push({ kind: 'cut', at, count: step.count });
        break;
      case 'partition': {
        groupSizes = step.groups;
        // Exact sizes: shuffle the running peers and cut the order at the cumulative fractions.
        const order = rng.shuffle([...running]);
        let cumulative = 0;
        let from = 0;
        const groups = step.groups.map((fraction, g) => {
          cumulative += fraction;
          const to =
            g === step.groups.length - 1 ? order.length : Math.round(cumulative * order.length);
          const group = order.slice(from, to).sort((a, b) => a - b);
          from = to;
          return group;
        });
        actions.push({ kind: 'partition', at, groups });
        break;
      }
      case 'heal':
        if (groupSizes === null) break;
        groupSizes = null;
        actions.push({ kind: 'heal', at });
        break;
      case 'shape':
        shape = { ...shape, ...step.shape };
        actions.push({ kind: 'shape', at, shape });
        break;
      case 'churn':
        break;
    }
  }
  return {
    initialPeers: options.peers,
    totalPeers: next,
    shape: scenario.shape,
    actions,
    seed: options.seed,
  };
}
