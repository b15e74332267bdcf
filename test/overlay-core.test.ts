import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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

function isConnected(net: OverlayNet): boolean {
  const alive = net.alive();
  const start = alive[0];
  if (start === undefined) return true;
  const seen = new Set([start.ref.id]);
  const stack = [start];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    for (const peer of node.core.activeView) {
      const next = net.node(peer.id);
      if (!next.alive || seen.has(peer.id)) continue;
      seen.add(peer.id);
      stack.push(next);
    }
  }
  return seen.size === alive.length;
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
        ) && isConnected(net);
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
