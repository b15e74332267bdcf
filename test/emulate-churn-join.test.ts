/**
 * A peer the faults start in an overlay joins through one running peer. When a fault ends that
 * contact before the join is through, the emulator has it join again through another: it ends
 * linked, by the kernel's count of connections, instead of redialling a dead address alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { runEmulation } from '../src/emulator/emulate.js';
import { canReadTcpTable, countAcceptedConnections } from '../src/emulator/sockets.js';
import { parseScenario } from '../src/scenario/file.js';
import { resolveTimeline } from '../src/scenario/timeline.js';

test('a started overlay peer whose contact is killed as it starts joins through another and ends linked', async (t) => {
  if (!canReadTcpTable()) {
    t.skip('no /proc/net/tcp here');
    return;
  }
  const peers = 5;
  // Seed 1: peer 5 starts through peer 0 (the contact stream of src/emulator/fault-hooks.ts), and
  // in the same instant the kill takes peers 0, 1 and 2: only 3, 4 and the newcomer 5 remain.
  const seed = 1;
  const scenario = parseScenario('steps: [{ at: 300ms, add: 1 }, { at: 300ms, kill: 3 }]', 'x');
  const timeline = resolveTimeline(scenario, { peers, seed });
  assert.deepEqual(
    timeline.actions.map((a) => ['peers' in a ? a.peers : [], a.kind]),
    [
      [[5], 'start'],
      [[0, 1, 2], 'kill'],
    ],
  );
  const basePort = await findFreePortRange(peers + 1);
  const newcomer = 5;
  /** The addresses the newcomer reports linked, from its own events. */
  const linked = new Set<string>();
  const controller = new AbortController();
  let kernel = -1;
  let links = -1;
  const result = await runEmulation(
    {
      peers,
      basePort,
      seed,
      scenario,
      threads: 2,
      periodMs: 1_000,
      timeoutMs: 20_000,
      overlay: { kind: 'hyparview' },
      // A bound, not a wait: the run is aborted as soon as the newcomer is linked.
      durationMs: 15_000,
      signal: controller.signal,
      observe: (i, event) => {
        if (i !== newcomer) return;
        if (event.type === 'connected') linked.add(event.peer);
        if (event.type === 'disconnected') linked.delete(event.peer);
      },
    },
    (progress) => {
      if (progress.phase !== 'running' || progress.expectedLinks !== 3 || linked.size === 0) return;
      // Peers 3, 4 and 5 listen on the last three ports: each link among them (the newcomer's
      // too, whichever end dialed) is one connection accepted on one of them.
      links = progress.links;
      kernel = countAcceptedConnections(basePort + 3, basePort + 5);
      if (links > 0 && kernel === links) controller.abort();
    },
  );
  assert.equal(
    result.status,
    'interrupted',
    'aborted once the newcomer was linked, within the bound',
  );
  const neighbours = result.peers.find((p) => p.port === basePort + newcomer)?.neighbours ?? [];
  assert.ok(neighbours.length > 0, 'the newcomer holds a link');
  for (const port of neighbours) assert.ok(port === basePort + 3 || port === basePort + 4);
  assert.equal(kernel, links, 'one established connection per link, counted by the kernel');
});
