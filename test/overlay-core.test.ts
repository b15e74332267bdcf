import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRng } from '../src/core/rng.js';
import { OverlayNet, type SimNode } from './support/overlay-net.js';

/** `count` nodes, each joining through the first (a bootstrap peer), 10 virtual ms apart. */
function network(seed: number, count: number): { net: OverlayNet; nodes: SimNode[] } {
  const net = new OverlayNet({ seed });
  const nodes = Array.from({ length: count }, () => net.addNode());
  for (const [i, node] of nodes.entries()) {
    if (i > 0) net.join(node, nodes[0] as SimNode);
    net.runFor(10);
  }
  net.runFor(3_000);
  return { net, nodes };
}

function broadcastAll(net: OverlayNet, senders: readonly SimNode[], prefix: string): string[] {
  const ids: string[] = [];
  for (const [i, sender] of senders.entries()) {
    const id = `${prefix}${i}`;
    net.broadcast(sender, id, `payload-${i}`);
    ids.push(id);
    net.runFor(100);
  }
  net.runFor(1_000);
  return ids;
}

function sums(net: OverlayNet): { sent: number; delivered: number } {
  let sent = 0;
  let delivered = 0;
  for (const node of net.alive()) {
    sent += node.core.stats.payloadSent;
    delivered += node.core.stats.delivered;
  }
  return { sent, delivered };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

describe('a network of overlay cores (in-memory, virtual time)', () => {
  test('200 peers join and every broadcast from random peers reaches all of them', (t) => {
    const seed = 7;
    const { net, nodes } = network(seed, 200);
    const senders = Array.from({ length: 20 }, (_, i) => nodes[(i * 37) % 200] as SimNode);
    const ids = broadcastAll(net, senders, 'r');
    const hops: number[] = [];
    for (const id of ids) {
      assert.equal(net.reach(id), 1, `${id} missed some peers`);
      for (const d of net.deliveries.get(id)?.values() ?? []) hops.push(d.hops);
    }
    const { sent, delivered } = sums(net);
    t.diagnostic(
      `seed ${seed}: reach 100 %, hops p50 ${percentile(hops, 50)} p99 ${percentile(hops, 99)} ` +
        `max ${Math.max(...hops)}, payload sends per delivery ${(sent / delivered).toFixed(3)}`,
    );
  });

  test('one steady sender costs under 1.2 payload sends per delivery', (t) => {
    const seed = 8;
    const { net, nodes } = network(seed, 200);
    const sender = nodes[0] as SimNode;
    broadcastAll(net, Array(10).fill(sender), 'warm');
    const before = sums(net);
    const ids = broadcastAll(net, Array(100).fill(sender), 's');
    const after = sums(net);
    for (const id of ids) assert.equal(net.reach(id), 1);
    const ratio = (after.sent - before.sent) / (after.delivered - before.delivered);
    assert.ok(ratio < 1.2, `payload sends per delivery ${ratio}`);
    t.diagnostic(`seed ${seed}: payload sends per delivery ${ratio.toFixed(4)} over 100 messages`);
  });

  test('after 20 % of peers crash at once, the rest heal and deliver to every live peer', (t) => {
    const seed = 9;
    const { net, nodes } = network(seed, 200);
    broadcastAll(net, nodes.slice(0, 5), 'w');
    for (const [i, node] of nodes.entries()) if (i % 5 === 3) net.kill(node);
    const killedAt = net.now;
    net.broadcast(nodes[0] as SimNode, 'at-crash');
    const healthy = () =>
      net
        .alive()
        .every(
          (n) =>
            n.core.activeView.length > 0 && n.core.activeView.every((p) => net.node(p.id).alive),
        ) && eccentricity(net, net.alive()[0] as SimNode) !== undefined;
    let repaired: number | undefined;
    let healed: number | undefined;
    net.runUntilTrue(() => {
      if (repaired === undefined && net.reach('at-crash') === 1) repaired = net.now - killedAt;
      if (healed === undefined && healthy()) healed = net.now - killedAt;
      return repaired !== undefined && healed !== undefined;
    }, 10_000);
    assert.ok(repaired !== undefined, 'the message sent at the crash never reached everyone');
    assert.ok(healed !== undefined, 'the overlay did not heal within 10 s');
    const ids = broadcastAll(net, net.alive().slice(0, 20), 'h');
    for (const id of ids) assert.equal(net.reach(id), 1, `${id} missed some live peers`);
    t.diagnostic(
      `seed ${seed}: 40 of 200 crashed; views free of dead peers and connected after ` +
        `${healed} virtual ms; the message sent at the crash reached all 160 after ${repaired} ms; ` +
        '20 later broadcasts reached 100 %',
    );
  });

  test('under churn (a peer replaced every 50 ms) every broadcast reaches every survivor', (t) => {
    const seed = 10;
    const { net, nodes } = network(seed, 200);
    const rng = createRng(seed);
    const ids: string[] = [];
    for (let step = 0; step < 100; step++) {
      const alive = net.alive().slice(1); // the bootstrap peer stays
      const victim = rng.pick(alive);
      if (step % 2 === 0) net.leave(victim);
      else net.kill(victim);
      const fresh = net.addNode();
      net.join(fresh, rng.pick(net.alive().filter((n) => n !== fresh)));
      if (step % 2 === 0) {
        const id = `c${step}`;
        ids.push(id);
        net.broadcast(nodes[0] as SimNode, id);
      }
      net.runFor(50);
    }
    net.runFor(2_000);
    // Survivors of the first 200: they were there when each message was sent.
    const survivors = nodes.filter((n) => n.alive).slice(1);
    for (const id of ids) {
      const got = net.deliveries.get(id) ?? new Map();
      const missed = survivors.filter((n) => !got.has(n.ref.id)).length;
      assert.equal(missed, 0, `${id} missed ${missed} survivors`);
    }
    const after = broadcastAll(net, net.alive().slice(0, 10), 'after');
    for (const id of after) assert.equal(net.reach(id), 1);
    t.diagnostic(
      `seed ${seed}: 100 of 200 peers replaced (half left, half crashed); 50 messages sent ` +
        `during the churn reached all ${survivors.length} survivors, 10 after it reached 100 %`,
    );
  });

  test('a burst of 500 joins through one bootstrap peer still gives a shallow overlay', (t) => {
    const seed = 5;
    const net = new OverlayNet({ seed });
    const nodes = Array.from({ length: 500 }, () => net.addNode());
    for (const node of nodes.slice(1)) {
      net.join(node, nodes[0] as SimNode);
      net.runFor(1); // faster than a join walk (6 hops of 1 to 5 ms) completes
    }
    net.runFor(5_000);
    const depths = [0, 250, 499].map((i) => eccentricity(net, nodes[i] as SimNode));
    for (const depth of depths) assert.ok(depth !== undefined && depth <= 14, `depth ${depth}`);
    t.diagnostic(`seed ${seed}: BFS depth from peers 0, 250, 499: ${depths.join(', ')} hops`);
  });

  test('one seed gives one run', () => {
    const run = () => {
      const { net, nodes } = network(21, 50);
      broadcastAll(net, nodes.slice(0, 5), 'd');
      return {
        views: nodes.map((n) => n.core.activeView.map((r) => r.id)),
        deliveries: [...net.deliveries].map(([id, got]) => [id, [...got]]),
      };
    };
    assert.deepEqual(run(), run());
  });
});

/** Hops from `start` to the farthest peer, or undefined if some live peer is out of reach. */
function eccentricity(net: OverlayNet, start: SimNode): number | undefined {
  const depth = new Map([[start.ref.id, 0]]);
  const queue = [start.ref.id];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    for (const peer of net.node(id).core.activeView) {
      if (depth.has(peer.id)) continue;
      depth.set(peer.id, (depth.get(id) ?? 0) + 1);
      queue.push(peer.id);
    }
  }
  if (depth.size !== net.alive().length) return undefined;
  return Math.max(...depth.values());
}
