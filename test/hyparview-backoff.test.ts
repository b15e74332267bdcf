import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_OVERLAY_OPTIONS } from '../src/core/overlay.js';
import { Probe, ref, sends } from './support/core-probe.js';

const D = DEFAULT_OVERLAY_OPTIONS;

/**
 * A probe with neighbors `ids` that was just handed passive `candidates` by one of them, and the
 * neighbor requests it sent for its free slots.
 */
function node(ids: readonly number[], candidates: readonly number[], seed = 1) {
  const probe = new Probe(ref(0), {}, seed);
  for (const id of ids) probe.neighbor(ref(id));
  const out = probe.from(ref(ids[0] ?? 1), {
    type: 'hv_shuffle_reply',
    nodes: candidates.map(ref),
  });
  return { probe, requests: sends(out, 'hv_neighbor') };
}

describe('refill after a refusal', () => {
  test('a view one short waits (growing, jittered) after each refusal instead of asking the next candidate at once', () => {
    const { probe, requests } = node([1, 2, 3, 4], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const waits: number[] = [];
    for (let round = 0; round < 5; round++) {
      const [request] = round === 0 ? requests : sends(probe.fire('hv:refill'), 'hv_neighbor');
      assert.ok(request !== undefined, `round ${round} asks`);
      const refusal = probe.from(request.to, { type: 'hv_disconnect', alive: true });
      assert.equal(sends(refusal, 'hv_neighbor').length, 0, 'no request right after a refusal');
      const due = probe.timers.get('hv:refill');
      assert.ok(due !== undefined);
      waits.push(due - probe.now);
    }
    for (const [k, wait] of waits.entries()) {
      const ceiling = Math.min(D.refillBackoffMaxMs, D.refillBackoffMs * 2 ** k);
      assert.ok(wait >= ceiling / 2 && wait <= ceiling, `wait ${k}: ${wait} ms`);
    }
  });

  test('a lost neighbor is replaced at once, even while waiting after a refusal', () => {
    const { probe, requests } = node([1, 2, 3, 4], [10, 11, 12, 13]);
    const [request] = requests;
    assert.ok(request !== undefined);
    probe.from(request.to, { type: 'hv_disconnect', alive: true });
    assert.ok(probe.timers.has('hv:refill'));
    assert.equal(sends(probe.down(ref(2)), 'hv_neighbor').length, 2);
  });

  test('an accepted request ends the growth of the wait', () => {
    const { probe, requests: first } = node([1, 2, 3], [10, 11, 12, 13, 14, 15, 16]);
    assert.equal(first.length, 2);
    const [refuser, acceptor] = first;
    assert.ok(refuser !== undefined && acceptor !== undefined);
    probe.from(refuser.to, { type: 'hv_disconnect', alive: true });
    probe.up(acceptor.to, 'outbound');
    probe.from(acceptor.to, { type: 'hv_neighbor_accept' });
    const [again] = sends(probe.fire('hv:refill'), 'hv_neighbor');
    assert.ok(again !== undefined);
    probe.from(again.to, { type: 'hv_disconnect', alive: true });
    const wait = (probe.timers.get('hv:refill') ?? 0) - probe.now;
    assert.ok(wait <= D.refillBackoffMs, `back to the first step: ${wait} ms`);
  });
});

describe('a node without neighbors', () => {
  test('rejoins through a former neighbor when its contact and passive view are gone', () => {
    const probe = new Probe(ref(9), {}, 3);
    probe.up(ref(0), 'outbound');
    probe.feed({ kind: 'join', via: ref(0) });
    probe.from(ref(0), { type: 'hv_neighbor_accept' });
    probe.neighbor(ref(5));
    // Both neighbors die; their addresses fail when dialed, the contact's too.
    probe.down(ref(0));
    probe.down(ref(5));
    probe.feed({ kind: 'dial-failed', address: ref(0).address, reason: 'refused' });
    assert.equal(probe.core.activeView.length, 0);
    probe.neighbor(ref(7));
    probe.down(ref(7));
    const joins = new Set<string>();
    for (let i = 0; i < 6; i++) {
      for (const s of sends(probe.fire('hv:lonely'), 'hv_join')) joins.add(s.to.id);
    }
    assert.ok(joins.has(ref(5).id) || joins.has(ref(7).id), 'a former neighbor is asked');
    assert.ok(!joins.has(ref(0).id), 'the dead contact is not');
  });

  test('retries with a growing wait, capped', () => {
    const probe = new Probe(ref(9), {}, 2);
    probe.feed({ kind: 'join', via: ref(0) });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      probe.fire('hv:lonely');
      waits.push((probe.timers.get('hv:lonely') ?? 0) - probe.now);
    }
    assert.ok(Math.max(...waits) <= D.lonelyRetryMaxMs);
    assert.ok((waits.at(-1) ?? 0) >= D.lonelyRetryMaxMs / 2);
  });
});
