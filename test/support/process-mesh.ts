import type { TestContext } from 'node:test';
import { findFreePortRange } from '../../src/emulator/bootstrap.js';
import { countPairs, pairsNotOne, poll, processEndpoint } from './kernel.js';
import { ProcessPeer } from './processes.js';

/**
 * Our peers as a set of `bin/naive-peer` processes (call `buildOurs()` first), checked from
 * outside: who each says it is linked to, and what the kernel holds between them.
 */

/** Starts `count` of ours on `base`, `base + 1`, ..., each joining the previous one, all at once. */
export function startChain(t: TestContext, base: number, count: number): ProcessPeer[] {
  return Array.from({ length: count }, (_, i) =>
    ProcessPeer.ours(t, {
      port: base + i,
      ...(i === 0 ? {} : { connect: `127.0.0.1:${base + i - 1}` }),
    }),
  );
}

/** Every one says it is linked to every other. */
export function everyoneLinked(peers: readonly ProcessPeer[]): boolean {
  return peers.every((p) => {
    const view = p.view();
    return peers.every((q) => q === p || view.has(q.address));
  });
}

/** The kernel holds exactly one connection per pair, and none dialed by an outsider. */
export function onePerPair(peers: readonly ProcessPeer[]): boolean {
  const count = countPairs(peers.map(processEndpoint));
  return pairsNotOne(count).length === 0 && count.strays.length === 0;
}

/** What is wrong, for an assertion message: missing links, pairs not at one, strays. */
export function describeProcesses(peers: readonly ProcessPeer[]): string {
  const missing = peers.flatMap((p) => {
    const view = p.view();
    const lacks = peers.filter((q) => q !== p && !view.has(q.address)).map((q) => q.port);
    return lacks.length === 0 ? [] : [`${p.port} lacks ${lacks.join(',')}`];
  });
  const count = countPairs(peers.map(processEndpoint));
  const strays = count.strays.map((e) => `${e.localPort}<${e.remotePort}`);
  return [
    `links missing: ${missing.join('; ') || 'none'}`,
    `pairs not at one connection: ${pairsNotOne(count).join(', ') || 'none'}`,
    `connections dialed by none of them: ${strays.join(', ') || 'none'}`,
  ].join(' | ');
}

/** Bound for every process of a chain to listen (seen: 20 starts took over 30 s at load 48). */
const START_TIMEOUT_MS = 60_000;

/**
 * Starts a chain of `count` (see `startChain`) and resolves once the kernel holds one connection
 * per pair and every one says it is linked to every other, within `timeoutMs` of all listening.
 */
export async function meshedChain(
  t: TestContext,
  count: number,
  timeoutMs: number,
): Promise<ProcessPeer[]> {
  const peers = startChain(t, await findFreePortRange(count), count);
  // Starting Node processes is not what is tested: on a shared, loaded machine 20 of them can take
  // far longer than meshing does, so the start has a bound of its own.
  await Promise.all(peers.map((p) => p.listening(START_TIMEOUT_MS)));
  await poll(
    () => everyoneLinked(peers) && onePerPair(peers),
    'a full mesh with one connection per pair',
    timeoutMs,
    () => describeProcesses(peers),
  );
  return peers;
}
