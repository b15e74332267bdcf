import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { runEmulation } from '../src/emulator/emulate.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import { holds, leftoverSockets, poll } from './support/kernel.js';
import { describeProcesses, meshedChain, onePerPair } from './support/process-mesh.js';
import { buildOurs } from './support/processes.js';

/**
 * Issue 8, section 1, checked from outside the peers: once a pair is linked, exactly one TCP
 * connection joins it, as the kernel counts (`/proc/net/tcp`, what `ss` reads), attributed to
 * processes by the socket inodes in `/proc/PID/fd`.
 */

const N = 20;
const PAIRS = (N * (N - 1)) / 2;
/** 20 processes of Node starting at once on 2 shared cores, then meshing. */
const MESH_TIMEOUT_MS = 30_000;
/** "And it stays so": a few gossip periods (1 s) with no new socket and no new descriptor. */
const STEADY_MS = 3_500;

before(() => buildOurs());

test('20 processes started at one instant in a chain hold one connection per pair, and no descriptor grows', async (t) => {
  if (!canReadTcpTable()) return t.skip('no /proc/net/tcp here');
  const peers = await meshedChain(t, N, MESH_TIMEOUT_MS);
  const descriptors = peers.map((p) => p.descriptorCount());
  await holds(
    () => onePerPair(peers) && peers.every((p, i) => p.descriptorCount() <= (descriptors[i] ?? 0)),
    'one connection per pair and no new descriptor',
    STEADY_MS,
    () =>
      `${describeProcesses(peers)} | descriptors then ${descriptors.join(',')}, now ${peers.map((p) => p.descriptorCount()).join(',')}`,
  );
  assert.deepEqual(
    peers.flatMap((p) => leftoverSockets(p)),
    [],
    'sockets neither listening nor established',
  );
});

test(`the emulator's 20 peers hold ${PAIRS} accepted connections once meshed`, async (t) => {
  if (!canReadTcpTable()) return t.skip('no /proc/net/tcp here');
  const base = await findFreePortRange(N);
  const accepted = () => countAcceptedConnections(base, base + N - 1);
  let running = false;
  const result = runEmulation(
    { peers: N, basePort: base, periodMs: 1_000, durationMs: 6_000, timeoutMs: 25_000 },
    (progress) => {
      running = progress.phase === 'running';
    },
  );
  const sampled = (async () => {
    await poll(() => running, 'the emulated mesh', MESH_TIMEOUT_MS);
    // Duplicates and probes are gone within a short bound after the mesh formed.
    await poll(
      () => accepted() === PAIRS,
      `${PAIRS} connections`,
      2_000,
      () => `${accepted()}`,
    );
    await holds(
      () => accepted() === PAIRS,
      `${PAIRS} connections`,
      3_000,
      () => `${accepted()}`,
    );
  })();
  const [outcome] = await Promise.allSettled([sampled, result]);
  assert.equal((await result).status, 'mesh');
  if (outcome.status === 'rejected') throw outcome.reason;
});
