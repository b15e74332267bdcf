import type { SimProgress, SimulationResult } from './run.js';

/** The simulator's report for people; --json prints the result itself. */

const ms = (value: number | null): string =>
  value === null ? 'n/a' : `${Math.round(value * 10) / 10} ms`;
const pct = (part: number, whole: number): string =>
  whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(2)} %`;

export function formatSimProgress(p: SimProgress): string {
  return `simulate: ${p.phase}, virtual ${(p.virtualMs / 1_000).toFixed(1)} s, ${p.peers} peers, ${p.components} component(s), ${p.events} events`;
}

export function renderSimReport(r: SimulationResult, files: readonly string[]): string {
  const o = r.overlay;
  const lines = [
    `simulate --overlay ${r.protocol} --peers ${r.config.peers} --seed ${r.seed}: ${r.status}`,
    `messages   ${r.messages.sent} sent, ${r.messages.received} of ${r.messages.expected} deliveries (${pct(r.messages.received, r.messages.expected)})`,
    `latency    ${r.latencyMs === null ? 'n/a' : `p50 ${ms(r.latencyMs.p50)}, p90 ${ms(r.latencyMs.p90)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)} (virtual)`}`,
    `overlay    ${o.components} component(s), degree min ${o.degree.min} / mean ${o.degree.mean.toFixed(2)} / max ${o.degree.max}, diameter >= ${o.diameter}`,
    `hops       p50 ${o.hops.p50}, p99 ${o.hops.p99}, max ${o.hops.max}; payload sends per delivery ${o.payloadSendsPerDelivery.toFixed(3)}`,
    `virtual    last join at ${ms(r.simulated.joinedMs)}, converged ${r.simulated.convergeMs === null ? 'never (timed out)' : `${ms(r.simulated.convergeMs)} later`}, run ended at ${ms(r.simulated.endMs)}`,
    `reach      ${r.reach.map((m) => `${m.id} ${m.completeMs === null ? `${m.received}/${m.expected}` : ms(m.completeMs)}`).join(', ') || 'no message'}`,
    `faults     ${r.faults.map((f) => `${f.kind}${f.peers > 0 ? ` ${f.peers}` : ''} @${ms(f.t - r.simulated.measureFromMs)}`).join(', ') || 'none'}`,
    `wall       ${(r.wall.elapsedMs / 1_000).toFixed(1)} s, ${r.wall.events} events, heap ${r.wall.heapUsedMb} MB, rss ${r.wall.rssMb} MB`,
  ];
  if (files.length > 0) lines.push(`files      ${files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
