import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_OVERLAY_OPTIONS } from '../src/core/overlay.js';
import { MAX_IHAVE_IDS } from '../src/protocol/limits.js';
import { events, Probe, ref, sends } from './support/core-probe.js';

const D = DEFAULT_OVERLAY_OPTIONS;

/** A probe with neighbors `eager` (eager, as every new neighbor) and `lazy` (pruned by them). */
function tree(eager: readonly number[], lazy: readonly number[] = []): Probe {
  const probe = new Probe();
  for (const id of [...eager, ...lazy]) probe.neighbor(ref(id));
  for (const id of lazy) probe.from(ref(id), { type: 'pt_prune' });
  return probe;
}

const gossip = (id: string, hops: number, payload = 'hello') =>
  ({ type: 'pt_gossip', id, payload, hops }) as const;

describe('eager push', () => {
  test('a broadcast goes in full to every eager neighbor, one hop away', () => {
    const node = tree([1, 2, 3]);
    const outputs = node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    const pushed = sends(outputs, 'pt_gossip');
    assert.deepEqual(
      pushed.map((s) => s.to.id).sort(),
      [1, 2, 3].map((n) => ref(n).id),
    );
    for (const s of pushed) assert.deepEqual(s.message, gossip('m1', 1));
  });

  test('a first copy is delivered with its hops and sender, then forwarded one hop further', () => {
    const node = tree([1, 2, 3]);
    const outputs = node.from(ref(1), gossip('m1', 2));
    const [delivered] = events(outputs, 'delivered');
    assert.deepEqual(delivered?.kind === 'event' && delivered.event, {
      type: 'delivered',
      id: 'm1',
      payload: 'hello',
      hops: 2,
      from: ref(1),
    });
    const forwarded = sends(outputs, 'pt_gossip');
    assert.deepEqual(forwarded.map((s) => s.to.id).sort(), [ref(2).id, ref(3).id]);
    assert.ok(forwarded.every((s) => s.message.hops === 3));
  });

  test('a duplicate is not delivered again and prunes its sender to lazy', () => {
    const node = tree([1, 2, 3]);
    node.from(ref(1), gossip('m1', 1));
    const outputs = node.from(ref(2), gossip('m1', 2));
    assert.equal(events(outputs, 'delivered').length, 0);
    assert.deepEqual(
      sends(outputs).map((s) => [s.to.id, s.message.type]),
      [[ref(2).id, 'pt_prune']],
    );
    assert.deepEqual(node.core.tree.lazy, [ref(2).id]);
    assert.equal(node.core.stats.duplicates, 1);
  });

  test('more duplicates from a neighbor already pruned (our PRUNE on its way) draw no more PRUNEs', () => {
    const node = tree([1, 2, 3]);
    node.from(ref(1), gossip('m1', 1));
    node.from(ref(2), gossip('m1', 2));
    node.from(ref(1), gossip('m2', 1));
    const again = node.from(ref(2), gossip('m2', 2));
    assert.deepEqual(sends(again, 'pt_prune'), []);
    assert.equal(node.core.stats.prunesSent, 1);
    assert.equal(node.core.stats.duplicates, 2);
  });

  test('a prune received moves its sender off the tree', () => {
    const node = tree([1, 2], [3]);
    assert.deepEqual(node.core.tree.lazy, [ref(3).id]);
    const outputs = node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    assert.ok(!sends(outputs, 'pt_gossip').some((s) => s.to.id === ref(3).id));
  });
});

describe('lazy push', () => {
  test('lazy neighbors get the ids in one IHAVE after the batching delay', () => {
    const node = tree([1], [2]);
    const first = node.feed({ kind: 'broadcast', id: 'm1', payload: 'a' });
    const second = node.feed({ kind: 'broadcast', id: 'm2', payload: 'b' });
    assert.equal(sends([...first, ...second], 'pt_ihave').length, 0);
    assert.equal(node.timers.get('pt:ihave'), D.ihaveDelayMs);
    const batch = sends(node.fire('pt:ihave'), 'pt_ihave');
    assert.deepEqual(
      batch.map((s) => [s.to.id, s.message.ids]),
      [
        [
          ref(2).id,
          [
            { id: 'm1', hops: 1 },
            { id: 'm2', hops: 1 },
          ],
        ],
      ],
    );
  });

  test('a long batch is split into frames of at most MAX_IHAVE_IDS ids', () => {
    const node = tree([1], [2]);
    for (let i = 0; i < 150; i++) node.feed({ kind: 'broadcast', id: `m${i}`, payload: 'x' });
    const frames = sends(node.fire('pt:ihave'), 'pt_ihave');
    assert.deepEqual(
      frames.map((f) => f.message.ids.length),
      [MAX_IHAVE_IDS, MAX_IHAVE_IDS, 150 - 2 * MAX_IHAVE_IDS],
    );
  });

  test('no IHAVE goes to a neighbor that announced the message to us first', () => {
    const node = tree([1], [2, 3]);
    node.from(ref(1), gossip('m1', 2));
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'm1', hops: 2 }] });
    const batch = sends(node.fire('pt:ihave'), 'pt_ihave');
    assert.deepEqual(
      batch.map((s) => s.to.id),
      [ref(3).id],
    );
  });

  test('ids queued for a neighbor that went down are not sent', () => {
    const node = tree([1], [2]);
    node.feed({ kind: 'broadcast', id: 'm1', payload: 'a' });
    node.down(ref(2));
    assert.equal(sends(node.fire('pt:ihave')).length, 0);
  });
});

describe('GRAFT', () => {
  test('a message announced but not pushed is asked for after the graft timeout', () => {
    const node = tree([1], [2]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 3 }] });
    assert.equal(node.timers.get('pt:graft:x'), D.graftTimeoutMs);
    const grafts = sends(node.fire('pt:graft:x'), 'pt_graft');
    assert.deepEqual(
      grafts.map((g) => [g.to.id, g.message.id]),
      [[ref(2).id, 'x']],
    );
    assert.ok(node.core.tree.eager.includes(ref(2).id), 'the announcer joins the tree');
    const outputs = node.from(ref(2), gossip('x', 3));
    assert.equal(events(outputs, 'delivered').length, 1);
  });

  test('no GRAFT when the eager copy arrives before the timeout', () => {
    const node = tree([1], [2]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 3 }] });
    node.from(ref(1), gossip('x', 2));
    assert.ok(!node.timers.has('pt:graft:x'));
  });

  test('an unanswered GRAFT goes to the next announcer after the retry delay', () => {
    const node = tree([1], [2, 3]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 3 }] });
    node.from(ref(3), { type: 'pt_ihave', ids: [{ id: 'x', hops: 4 }] });
    assert.equal(sends(node.fire('pt:graft:x'), 'pt_graft')[0]?.to.id, ref(2).id);
    const start = node.now;
    assert.equal(node.timers.get('pt:graft:x'), start + D.graftRetryMs);
    assert.equal(sends(node.fire('pt:graft:x'), 'pt_graft')[0]?.to.id, ref(3).id);
  });

  test('a GRAFT answered late makes the next repair wait that round trip (and no longer than the cap)', () => {
    const node = tree([1], [2, 3]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 2 }] });
    node.fire('pt:graft:x');
    node.now += 800; // the answer comes 800 ms after the GRAFT: a loaded host
    node.from(ref(2), gossip('x', 2));
    const waits = node.core.repairWaits;
    assert.ok(waits.graftTimeoutMs >= 800 && waits.graftTimeoutMs <= D.repairWaitMaxMs);
    assert.equal(waits.graftRetryMs, waits.graftTimeoutMs);
    const start = node.now;
    node.from(ref(3), { type: 'pt_ihave', ids: [{ id: 'y', hops: 2 }] });
    assert.equal(node.timers.get('pt:graft:y'), start + waits.graftTimeoutMs);
    sends(node.fire('pt:graft:y'), 'pt_graft');
    assert.equal(node.timers.get('pt:graft:y'), node.now + waits.graftRetryMs);
  });

  test('a GRAFT long after the message is still answered while the payload is kept', () => {
    const node = tree([1], [2]);
    node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    node.now += D.payloadRetentionMs - 1;
    assert.equal(sends(node.from(ref(2), { type: 'pt_graft', id: 'm1' }), 'pt_gossip').length, 1);
    node.now += 2;
    assert.equal(sends(node.from(ref(2), { type: 'pt_graft', id: 'm1' }), 'pt_gossip').length, 0);
    assert.equal(node.core.stats.graftsUnanswerable, 1);
  });

  test('when the tree copy comes late after a GRAFT repair, the grafted link goes back to lazy', () => {
    const node = tree([1], [2]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 2 }] });
    node.fire('pt:graft:x');
    node.from(ref(2), gossip('x', 2));
    const late = node.from(ref(1), gossip('x', 5));
    assert.deepEqual(
      sends(late, 'pt_prune').map((s) => s.to.id),
      [ref(2).id],
    );
    assert.deepEqual(node.core.tree, { eager: [ref(1).id], lazy: [ref(2).id] });
  });

  test('a GRAFT is answered with the payload and puts its sender on the tree', () => {
    const node = tree([1], [2]);
    node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    const outputs = node.from(ref(2), { type: 'pt_graft', id: 'm1' });
    assert.deepEqual(sends(outputs, 'pt_gossip')[0]?.message, gossip('m1', 1));
    assert.ok(node.core.tree.eager.includes(ref(2).id));
  });

  test('a GRAFT for an unknown id, or from a peer that is not a neighbor, sends nothing', () => {
    const node = tree([1], [2]);
    assert.equal(sends(node.from(ref(2), { type: 'pt_graft', id: 'nope' })).length, 0);
    node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    node.up(ref(9));
    assert.equal(sends(node.from(ref(9), { type: 'pt_graft', id: 'm1' })).length, 0);
  });

  test('an announcer much closer to the origin replaces the eager sender on the tree', () => {
    const node = tree([1], [2]);
    node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 1 }] });
    const outputs = node.from(ref(1), gossip('x', 1 + D.optimizationThreshold));
    assert.deepEqual(
      sends(outputs)
        .filter((s) => s.message.type !== 'pt_gossip')
        .map((s) => [s.to.id, s.message]),
      [
        [ref(2).id, { type: 'pt_graft' }],
        [ref(1).id, { type: 'pt_prune' }],
      ],
    );
    assert.deepEqual(node.core.tree, { eager: [ref(2).id], lazy: [ref(1).id] });
  });
});

test('an announcement after delivery, much closer to the origin, also rewires the tree', () => {
  const node = tree([1], [2]);
  node.from(ref(1), gossip('x', 1 + D.optimizationThreshold));
  const outputs = node.from(ref(2), { type: 'pt_ihave', ids: [{ id: 'x', hops: 1 }] });
  assert.deepEqual(
    sends(outputs).map((s) => [s.to.id, s.message]),
    [
      [ref(2).id, { type: 'pt_graft' }],
      [ref(1).id, { type: 'pt_prune' }],
    ],
  );
  assert.deepEqual(node.core.tree, { eager: [ref(2).id], lazy: [ref(1).id] });
});

describe('bounded state under hostile input', () => {
  test('a flood of announced ids tracks at most missingPerPeerMax of them', () => {
    const node = tree([1], [2]);
    for (let frame = 0; frame < 200; frame++) {
      const ids = Array.from({ length: MAX_IHAVE_IDS }, (_, i) => ({
        id: `f${frame}-${i}`,
        hops: 1,
      }));
      node.from(ref(2), { type: 'pt_ihave', ids });
    }
    assert.equal(node.core.tableSizes.missing, D.missingPerPeerMax);
    const graftTimers = [...node.timers.keys()].filter((k) => k.startsWith('pt:graft:'));
    assert.equal(graftTimers.length, D.missingPerPeerMax);
    // At most graftBurst GRAFTs go at once; then each tracked id costs one GRAFT to its only
    // announcer as the budget refills, and is forgotten.
    let grafts = 0;
    for (const key of graftTimers) grafts += sends(node.fire(key), 'pt_graft').length;
    assert.equal(grafts, D.graftBurst);
    for (let round = 0; round < 100_000 && node.core.tableSizes.missing > 0; round++) {
      const [key] = [...node.timers.entries()]
        .filter(([k]) => k.startsWith('pt:graft:'))
        .sort((a, b) => a[1] - b[1])[0] ?? [undefined];
      if (key === undefined) break;
      grafts += sends(node.fire(key), 'pt_graft').length;
    }
    assert.equal(grafts, D.missingPerPeerMax);
    assert.equal(node.core.tableSizes.missing, 0);
  });

  test('the seen-cache keeps at most seenCacheMax ids and forgets them after the retention', () => {
    const node = tree([1]);
    for (let i = 0; i < D.seenCacheMax + 500; i++) node.from(ref(1), gossip(`g${i}`, 1));
    assert.equal(node.core.tableSizes.seen, D.seenCacheMax);
    assert.ok(node.core.tableSizes.payloads <= D.payloadCacheMax);
    node.now += D.seenRetentionMs + 1;
    node.from(ref(1), gossip('late', 1));
    assert.equal(node.core.tableSizes.seen, 1);
    assert.equal(node.core.tableSizes.payloads, 1);
  });

  test('GRAFTs for one payload are answered at most graftAnswerBurst times at once', () => {
    const node = tree([1], [2]);
    node.feed({ kind: 'broadcast', id: 'm1', payload: 'hello' });
    let answers = 0;
    for (let i = 0; i < 1_000; i++) {
      answers += sends(node.from(ref(2), { type: 'pt_graft', id: 'm1' }), 'pt_gossip').length;
    }
    assert.equal(answers, D.graftAnswerBurst);
    node.now += 10 * D.graftAnswerRefillMs;
    answers = 0;
    for (let i = 0; i < 1_000; i++) {
      answers += sends(node.from(ref(2), { type: 'pt_graft', id: 'm1' }), 'pt_gossip').length;
    }
    assert.equal(answers, 10);
  });

  test('announcements from a peer that is not a neighbor are ignored', () => {
    const node = tree([1]);
    node.up(ref(9));
    node.from(ref(9), { type: 'pt_ihave', ids: [{ id: 'x', hops: 1 }] });
    assert.equal(node.core.tableSizes.missing, 0);
  });
});
