import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_OVERLAY_OPTIONS } from '../src/core/overlay.js';
import { MAX_SHUFFLE_NODES } from '../src/protocol/limits.js';
import { events, Probe, ref, sends } from './support/core-probe.js';
import { OverlayNet } from './support/overlay-net.js';

const D = DEFAULT_OVERLAY_OPTIONS;

/** A probe whose active view holds `ids` (each joined through it). */
function withNeighbors(ids: readonly number[], seed = 1): Probe {
  const probe = new Probe(ref(0), {}, seed);
  for (const id of ids) probe.neighbor(ref(id));
  return probe;
}

/** Gives the probe passive candidates `ids`, handed over by neighbor `via` (proven by a link). */
function withCandidates(probe: Probe, via: number, ids: readonly number[]): void {
  probe.from(ref(via), { type: 'hv_shuffle_reply', nodes: ids.map(ref) });
  for (const id of ids) {
    probe.up(ref(id), 'outbound');
    probe.down(ref(id));
  }
}

describe('joining', () => {
  test('the contact takes the newcomer as a neighbor and sends it an accept', () => {
    const contact = new Probe();
    const outputs = contact.neighbor(ref(1));
    assert.deepEqual(contact.activeIds(), [ref(1).id]);
    assert.equal(events(outputs, 'neighbor-up').length, 1);
    assert.deepEqual(
      sends(outputs, 'hv_neighbor_accept').map((s) => s.to.id),
      [ref(1).id],
    );
  });

  test('the contact starts a forward-join walk of ARWL hops through every other neighbor', () => {
    const contact = withNeighbors([1, 2, 3]);
    const outputs = contact.neighbor(ref(4));
    // (Walks owed to 1, 2 and 3, who joined when the contact had fewer neighbors, go to 4 too.)
    const walks = sends(outputs, 'hv_forward_join').filter((w) => w.message.peer.id === ref(4).id);
    assert.deepEqual(walks.map((w) => w.to.id).sort(), [ref(1).id, ref(2).id, ref(3).id]);
    for (const walk of walks) {
      assert.deepEqual(walk.message.peer, ref(4));
      assert.equal(walk.message.ttl, D.activeWalkLength);
    }
  });

  test('walks a contact could not start (too few neighbors) start through the neighbors it gains', () => {
    const contact = new Probe();
    contact.neighbor(ref(1));
    const first = contact.neighbor(ref(2));
    // 1 joined alone: it is owed activeViewSize - 1 walks, and 2 is the first neighbor to carry one.
    assert.deepEqual(
      sends(first, 'hv_forward_join')
        .map((w) => [w.to.id, w.message.peer.id])
        .sort(),
      [
        [ref(1).id, ref(2).id],
        [ref(2).id, ref(1).id],
      ],
    );
    let owedToOne = 1;
    for (let id = 3; id < 10; id++) {
      const walks = sends(contact.neighbor(ref(id)), 'hv_forward_join');
      owedToOne += walks.filter((w) => w.message.peer.id === ref(1).id).length;
    }
    assert.equal(
      owedToOne,
      D.activeViewSize - 1,
      'no more walks than a contact with a full view starts',
    );
  });

  test('the newcomer takes its contact as a neighbor on the accept, and stops retrying', () => {
    const newcomer = new Probe(ref(9));
    newcomer.up(ref(0), 'outbound');
    const joined = newcomer.feed({ kind: 'join', via: ref(0) });
    assert.equal(sends(joined, 'hv_join').length, 1);
    newcomer.from(ref(0), { type: 'hv_neighbor_accept' });
    assert.deepEqual(newcomer.activeIds(), [ref(0).id]);
    assert.equal(sends(newcomer.fire('hv:lonely'), 'hv_join').length, 0);
  });

  test('a join left unanswered is sent again', () => {
    const newcomer = new Probe(ref(9));
    newcomer.up(ref(0), 'outbound');
    newcomer.feed({ kind: 'join', via: ref(0) });
    assert.equal(sends(newcomer.fire('hv:lonely'), 'hv_join').length, 1);
  });
});

describe('the forward-join walk', () => {
  const newcomer = ref(50);

  test('a walk with hops left goes on to a random neighbor other than its sender', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const node = withNeighbors([1, 2, 3], seed);
      const outputs = node.from(ref(1), { type: 'hv_forward_join', peer: newcomer, ttl: 6 });
      const next = sends(outputs, 'hv_forward_join');
      assert.equal(next.length, 1);
      assert.notEqual(next[0]?.to.id, ref(1).id);
      assert.equal(next[0]?.message.ttl, 5);
      assert.equal(sends(outputs, 'hv_neighbor').length, 0);
    }
  });

  test('at PRWL hops left the walk leaves the newcomer in the passive view', () => {
    const node = withNeighbors([1, 2, 3]);
    node.from(ref(1), { type: 'hv_forward_join', peer: newcomer, ttl: D.passiveWalkLength });
    assert.ok(node.passiveIds().includes(newcomer.id));
    assert.ok(!node.activeIds().includes(newcomer.id));
  });

  test('the walk ends when its hops run out: the end asks the newcomer to be its neighbor', () => {
    const node = withNeighbors([1, 2, 3]);
    const outputs = node.from(ref(1), { type: 'hv_forward_join', peer: newcomer, ttl: 0 });
    assert.equal(sends(outputs, 'hv_forward_join').length, 0);
    const [request] = sends(outputs, 'hv_neighbor');
    assert.deepEqual(request?.to, newcomer);
    assert.equal(request?.message.priority, 'high');
    // Not a neighbor before the newcomer accepts over a connection of its own.
    assert.ok(!node.activeIds().includes(newcomer.id));
    node.up(newcomer, 'outbound');
    node.from(newcomer, { type: 'hv_neighbor_accept' });
    assert.ok(node.activeIds().includes(newcomer.id));
  });

  test('a walk at a node whose only neighbor is its sender goes back, one hop shorter', () => {
    const node = withNeighbors([1]);
    const outputs = node.from(ref(1), { type: 'hv_forward_join', peer: newcomer, ttl: 6 });
    assert.equal(sends(outputs, 'hv_neighbor').length, 0);
    const [back] = sends(outputs, 'hv_forward_join');
    assert.equal(back?.to.id, ref(1).id);
    assert.equal(back?.message.ttl, 5);
  });

  test('a hop count over ARWL is cut to ARWL', () => {
    const node = withNeighbors([1, 2, 3]);
    const outputs = node.from(ref(1), { type: 'hv_forward_join', peer: newcomer, ttl: 16 });
    assert.equal(sends(outputs, 'hv_forward_join')[0]?.message.ttl, D.activeWalkLength - 1);
  });

  test('a walk from a peer that is not a neighbor is ignored', () => {
    const node = withNeighbors([1, 2, 3]);
    node.up(ref(7));
    const outputs = node.from(ref(7), { type: 'hv_forward_join', peer: newcomer, ttl: 0 });
    assert.equal(sends(outputs).length, 0);
  });
});

describe('neighbor requests', () => {
  test('a high request to a full view evicts a random neighbor, which is told', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    node.up(ref(6));
    const outputs = node.from(ref(6), { type: 'hv_neighbor', priority: 'high' });
    assert.ok(node.activeIds().includes(ref(6).id));
    assert.equal(node.core.activeView.length, D.activeViewSize);
    const [told] = sends(outputs, 'hv_disconnect');
    assert.ok(told !== undefined);
    assert.ok(told.message.alive);
    assert.ok(node.passiveIds().includes(told.to.id), 'the evicted neighbor stays a candidate');
    assert.equal(sends(outputs, 'hv_neighbor_accept')[0]?.to.id, ref(6).id);
  });

  test('a low request to a full view is refused, and the refused peer stays a candidate', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    node.up(ref(6));
    const outputs = node.from(ref(6), { type: 'hv_neighbor', priority: 'low' });
    assert.ok(!node.activeIds().includes(ref(6).id));
    assert.deepEqual(
      sends(outputs, 'hv_disconnect').map((s) => [s.to.id, s.message.alive]),
      [[ref(6).id, true]],
    );
    assert.ok(node.passiveIds().includes(ref(6).id));
  });

  test('the receiver of a disconnect drops the neighbor and closes the link', () => {
    const node = withNeighbors([1, 2]);
    const outputs = node.from(ref(1), { type: 'hv_disconnect', alive: true });
    assert.deepEqual(node.activeIds(), [ref(2).id]);
    assert.ok(outputs.some((o) => o.kind === 'disconnect' && o.peer === ref(1).id));
  });

  test('an accept nobody asked for does not evict a neighbor', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    node.up(ref(6));
    const outputs = node.from(ref(6), { type: 'hv_neighbor_accept' });
    assert.ok(!node.activeIds().includes(ref(6).id));
    assert.equal(sends(outputs, 'hv_disconnect')[0]?.to.id, ref(6).id);
  });
});

describe('promotion after a drop', () => {
  test('a lost link is replaced by a passive candidate, asked with low priority', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    withCandidates(node, 1, [10, 11, 12]);
    const outputs = node.down(ref(3));
    assert.equal(events(outputs, 'neighbor-down').length, 1);
    const requests = sends(outputs, 'hv_neighbor');
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.ok(request !== undefined && [10, 11, 12].map((n) => ref(n).id).includes(request.to.id));
    assert.equal(request.message.priority, 'low');
    node.up(request.to, 'outbound');
    node.from(request.to, { type: 'hv_neighbor_accept' });
    assert.equal(node.core.activeView.length, D.activeViewSize);
  });

  test('a node left with fewer than two links asks with high priority', () => {
    const node = withNeighbors([1, 2]);
    // The three free slots are asked for at once, with low priority.
    const early = node.from(ref(1), {
      type: 'hv_shuffle_reply',
      nodes: [10, 11, 12, 13, 14, 15, 16, 17].map(ref),
    });
    assert.deepEqual(
      sends(early, 'hv_neighbor').map((r) => r.message.priority),
      ['low', 'low', 'low'],
    );
    const requests = sends(node.down(ref(1)), 'hv_neighbor');
    assert.deepEqual(
      requests.map((r) => r.message.priority),
      ['high'],
    );
  });

  test('a candidate that cannot be dialed is dropped and the next one is asked', () => {
    const node = withNeighbors([1, 2]);
    withCandidates(node, 1, [10, 11]);
    node.down(ref(2));
    // Two free slots after the drop (5 - 1 active): both candidates are asked at once.
    const asked = new Set(node.core.activeView.map((r) => r.id));
    assert.equal(asked.size, 1);
    const outputs = node.feed({ kind: 'dial-failed', address: ref(10).address, reason: 'refused' });
    assert.ok(!node.passiveIds().includes(ref(10).id));
    assert.equal(sends(outputs, 'hv_neighbor').length, 0, 'no candidate left to ask');
  });

  test('a view below refillBelow with no candidate shuffles early, then asks what it learned', () => {
    const node = withNeighbors([1, 2, 3]);
    node.down(ref(3));
    // Two neighbors (not lonely) and an empty passive view: the refill timer is armed anyway.
    const shuffled = node.fire('hv:lonely');
    const shuffles = sends(shuffled, 'hv_shuffle');
    assert.equal(shuffles.length, 1, 'an early shuffle to a neighbor');
    const reply = node.from(shuffles[0]?.to ?? ref(1), {
      type: 'hv_shuffle_reply',
      nodes: [10, 11, 12].map(ref),
    });
    assert.deepEqual(
      sends(reply, 'hv_neighbor').map((r) => r.message.priority),
      ['low', 'low', 'low'],
    );
  });

  test('a view at refillBelow neighbors or more is not refilled on the timer', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    node.down(ref(5));
    assert.equal(D.refillBelow, 4);
    assert.equal(node.timers.has('hv:lonely'), false);
  });

  test('an unanswered request times out, drops the candidate and asks another', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    withCandidates(node, 1, [10, 11]);
    const first = sends(node.down(ref(5)), 'hv_neighbor')[0]?.to;
    assert.ok(first !== undefined);
    const outputs = node.fire(`hv:nb:${first.id}`);
    assert.ok(!node.passiveIds().includes(first.id));
    const second = sends(outputs, 'hv_neighbor')[0]?.to;
    assert.ok(second !== undefined && second.id !== first.id);
  });
});

describe('shuffles', () => {
  test('the periodic shuffle sends ka active, kp passive entries and itself on a walk', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    withCandidates(node, 1, [10, 11, 12, 13, 14, 15]);
    const [shuffle] = sends(node.fire('hv:shuffle'), 'hv_shuffle');
    assert.ok(shuffle !== undefined);
    assert.deepEqual(shuffle.message.origin, ref(0));
    assert.equal(shuffle.message.ttl, D.shuffleWalkLength);
    assert.equal(shuffle.message.nodes.length, D.shuffleActiveCount + D.shufflePassiveCount + 1);
    assert.ok(shuffle.message.nodes.some((n) => n.id === ref(0).id));
    assert.ok(node.timers.has('hv:shuffle'), 'the next shuffle is armed');
  });

  test('the walk end replies to the origin and keeps the offered nodes as candidates', () => {
    const node = withNeighbors([1, 2]);
    const offered = [20, 21, 22].map(ref);
    const outputs = node.from(ref(1), {
      type: 'hv_shuffle',
      origin: ref(30),
      nodes: offered,
      ttl: 0,
    });
    const [reply] = sends(outputs, 'hv_shuffle_reply');
    assert.equal(reply?.to.id, ref(30).id);
    for (const n of offered) assert.ok(node.passiveIds().includes(n.id));
  });

  test('heard-of candidates are not passed on before a connection proved them', () => {
    const node = withNeighbors([1, 2, 3, 4, 5]);
    node.from(ref(1), {
      type: 'hv_shuffle',
      origin: ref(30),
      nodes: [20, 21, 22, 23].map(ref),
      ttl: 0,
    });
    const [shuffle] = sends(node.fire('hv:shuffle'), 'hv_shuffle');
    const unproven = new Set([20, 21, 22, 23].map((n) => ref(n).id));
    assert.ok(shuffle?.message.nodes.every((n) => !unproven.has(n.id)));
  });

  test('shuffles keep the passive views of a network full and changing', () => {
    const net = new OverlayNet({ seed: 11, overlay: { shuffleIntervalMs: 5_000 } });
    const nodes = Array.from({ length: 100 }, () => net.addNode());
    for (const node of nodes.slice(1)) {
      net.join(node, nodes[0] as (typeof nodes)[0]);
      net.runFor(20);
    }
    net.runFor(1_000);
    const before = new Map(
      nodes.map((n) => [n.ref.id, new Set(n.core.passiveView.map((r) => r.id))]),
    );
    net.runFor(60_000);
    let full = 0;
    let kept = 0;
    let total = 0;
    for (const node of nodes) {
      const now = node.core.passiveView.map((r) => r.id);
      if (now.length === D.passiveViewSize) full++;
      const old = before.get(node.ref.id) ?? new Set();
      kept += now.filter((id) => old.has(id)).length;
      total += now.length;
    }
    assert.ok(full >= 95, `only ${full} of 100 passive views are full`);
    assert.ok(kept / total < 0.8, `${((100 * kept) / total).toFixed(0)} % of entries unchanged`);
  });
});

describe('the active views of a network', () => {
  test('are symmetric, bounded and connected after 200 joins', () => {
    const net = new OverlayNet({ seed: 3 });
    const nodes = Array.from({ length: 200 }, () => net.addNode());
    for (const [i, node] of nodes.entries()) {
      if (i > 0) net.join(node, nodes[Math.floor(i / 2)] as (typeof nodes)[0]);
      net.runFor(10);
    }
    net.runFor(3_000);
    for (const node of nodes) {
      const view = node.core.activeView;
      assert.ok(view.length >= 1 && view.length <= D.activeViewSize);
      for (const peer of view) {
        const back = net.node(peer.id).core.activeView.some((r) => r.id === node.ref.id);
        assert.ok(back, `${node.ref.id} holds ${peer.id}, which does not hold it`);
      }
    }
    assert.equal(componentSize(net, nodes[0] as (typeof nodes)[0]), 200);
    // One connection per active link, nothing idle left open.
    const links = nodes.reduce((sum, n) => sum + n.core.activeView.length, 0) / 2;
    assert.equal(net.connectionCount(), links);
  });
});

describe('under hostile input', () => {
  test('a neighbor flooding shuffles of fresh addresses gets a bounded number of dials', () => {
    const node = withNeighbors([1]);
    const connected = new Set([ref(1).id]);
    let dials = 0;
    for (let i = 0; i < 1_000; i++) {
      node.now += 1;
      const fakes = Array.from({ length: MAX_SHUFFLE_NODES }, (_, j) => ref(1_000 + i * 40 + j));
      const outputs = node.from(ref(1), {
        type: 'hv_shuffle',
        origin: ref(100_000 + i),
        nodes: fakes,
        ttl: 0,
      });
      dials += sends(outputs).filter((s) => !connected.has(s.to.id)).length;
    }
    const allowed = D.dialBurst + Math.ceil(1_000 / D.dialRefillMs);
    assert.ok(dials <= allowed, `${dials} dials, over ${allowed}`);
    assert.ok(node.core.passiveView.length <= D.passiveViewSize);
    assert.deepEqual(node.activeIds(), [ref(1).id], 'hearsay never enters the active view');
    assert.ok(node.core.tableSizes.pendingNeighbors <= D.pendingNeighborMax);
  });

  test('a neighbor flooding forward joins gets a bounded number of dials and requests', () => {
    const node = withNeighbors([1]);
    let dials = 0;
    for (let i = 0; i < 1_000; i++) {
      node.now += 1;
      const outputs = node.from(ref(1), { type: 'hv_forward_join', peer: ref(2_000 + i), ttl: 0 });
      dials += sends(outputs).filter((s) => s.to.id !== ref(1).id).length;
    }
    assert.ok(dials <= D.pendingNeighborMax, `${dials} dials`);
    assert.ok(node.core.tableSizes.pendingNeighbors <= D.pendingNeighborMax);
    assert.ok(node.core.passiveView.length <= D.passiveViewSize);
    assert.deepEqual(node.activeIds(), [ref(1).id]);
  });

  test('shuffle replies nobody asked for are ignored', () => {
    const node = withNeighbors([1]);
    node.up(ref(7));
    node.from(ref(7), { type: 'hv_shuffle_reply', nodes: [20, 21].map(ref) });
    assert.deepEqual(node.passiveIds(), []);
  });
});

function componentSize(net: OverlayNet, start: { ref: { id: string } }): number {
  const seen = new Set([start.ref.id]);
  const stack = [start.ref.id];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    for (const peer of net.node(id).core.activeView) {
      if (seen.has(peer.id) || !net.node(peer.id).alive) continue;
      seen.add(peer.id);
      stack.push(peer.id);
    }
  }
  return seen.size;
}
