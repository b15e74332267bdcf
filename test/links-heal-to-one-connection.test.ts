import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createRng } from '../src/core/rng.js';
import { canReadTcpTable, type TcpEntry } from '../src/emulator/sockets.js';
import {
  countPairs,
  cut,
  holds,
  leftoverSockets,
  poll,
  processEndpoint,
} from './support/kernel.js';
import {
  describeProcesses,
  everyoneLinked,
  meshedChain,
  onePerPair,
} from './support/process-mesh.js';
import { buildOurs, ProcessPeer } from './support/processes.js';

/**
 * Issue 8, section 1, after faults made from outside: links cut by the kernel (`ss -K`) and peers
 * killed with SIGKILL and restarted. Once the network heals, exactly one connection per pair again
 * and no socket left over in any process.
 */

const MESH_TIMEOUT_MS = 30_000;
/** Reconnects back off up to 5 s between tries; a restarted peer rejoins from scratch. */
const HEAL_TIMEOUT_MS = 30_000;
const STEADY_MS = 2_500;

before(() => buildOurs());

/** Every connection between the peers, by pair (`a|b`), as the kernel holds them now. */
function connections(peers: readonly ProcessPeer[]): Array<[string, TcpEntry]> {
  const { connections: byPair } = countPairs(peers.map(processEndpoint));
  return [...byPair].flatMap(([pair, entries]) =>
    entries.map((e): [string, TcpEntry] => [pair, e]),
  );
}

async function healed(peers: readonly ProcessPeer[]): Promise<void> {
  await poll(
    () => everyoneLinked(peers) && onePerPair(peers),
    'the full mesh with one connection per pair again',
    HEAL_TIMEOUT_MS,
    () => describeProcesses(peers),
  );
  await holds(
    () => onePerPair(peers),
    'one connection per pair',
    STEADY_MS,
    () => describeProcesses(peers),
  );
  await poll(
    () => peers.every((p) => leftoverSockets(p).length === 0),
    'no socket left closing',
    5_000,
    () => peers.flatMap((p) => leftoverSockets(p).map((s) => `${p.port}: ${s}`)).join('; '),
  );
}

test('links cut by the kernel heal to one connection per pair', async (t) => {
  if (!canReadTcpTable()) return t.skip('no /proc/net/tcp here');
  const peers = await meshedChain(t, 6, MESH_TIMEOUT_MS);
  const rng = createRng(8);
  const victims = rng.shuffle(connections(peers)).slice(0, 3);
  const marks = peers.map((p) => p.mark());
  for (const [, entry] of victims) {
    if (!(await cut(entry))) return t.skip('ss -K cannot destroy sockets on this kernel');
  }
  // Each cut link was seen broken by at least one end (its peers' events), then it healed.
  await poll(
    () =>
      victims.every(([pair]) =>
        peers.some(
          (p, i) =>
            pair.includes(p.address) &&
            p
              .events(marks[i])
              .some((e) => e.type === 'disconnected' && pair.includes(String(e.peer))),
        ),
      ),
    'every cut link reported broken',
    5_000,
  );
  await healed(peers);
});

test('a churned network (seeded: peers killed and restarted, links cut) ends at one connection per pair', async (t) => {
  if (!canReadTcpTable()) return t.skip('no /proc/net/tcp here');
  const peers = await meshedChain(t, 10, MESH_TIMEOUT_MS);
  const rng = createRng(2026);
  const CHURN_STEPS = 16;
  for (let step = 0; step < CHURN_STEPS; step++) {
    if (rng.next() < 0.25) {
      // SIGKILL: no goodbye, its sockets reset by the kernel; then a new process on the same port
      // joins through another peer.
      const i = rng.int(peers.length);
      const old = peers[i] as ProcessPeer;
      await old.kill('SIGKILL');
      const others = peers.filter((p) => p !== old);
      const peer = ProcessPeer.ours(t, { port: old.port, connect: rng.pick(others).address });
      peers[i] = peer;
      await peer.listening();
    } else {
      const all = connections(peers);
      if (all.length > 0) {
        const [, entry] = rng.pick(all);
        if (!(await cut(entry))) return t.skip('ss -K cannot destroy sockets on this kernel');
      }
    }
    // The schedule of faults: 150-550 ms apart, from the seed.
    await new Promise((resolve) => setTimeout(resolve, 150 + rng.int(400)));
  }
  await healed(peers);
  assert.ok(peers.every((p) => p.running));
});
