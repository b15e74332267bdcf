/** The I/O-free cores, without sockets or timers: a fake clock and a seeded generator. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  arbitrate,
  type Direction,
  type LinkConnection,
  preferredDirection,
} from '../src/core/links.js';
import { GOSSIP_TIMER, MeshExchange, type MeshOutput } from '../src/core/mesh-exchange.js';
import { createRng } from '../src/core/rng.js';
import { TokenBuckets } from '../src/core/token-bucket.js';

const SMALL = '1'.repeat(32);
const LARGE = 'f'.repeat(32);

let ids = 0;
function conn(direction: Direction, nodeId?: string, closed = false): LinkConnection {
  return {
    id: ++ids,
    direction,
    closed,
    identity: {
      key: nodeId ?? 'addr:127.0.0.1:1',
      address: '127.0.0.1:1',
      ...(nodeId === undefined ? {} : { nodeId }),
      features: new Set(),
    },
  };
}

describe('link arbitration', () => {
  test('both ends keep the connection dialed by the smaller node id', () => {
    assert.equal(preferredDirection(SMALL, LARGE), 'outbound');
    assert.equal(preferredDirection(LARGE, SMALL), 'inbound');
    // A peer of the original keeps the connection it dialed.
    assert.equal(preferredDirection(SMALL, undefined), 'inbound');
  });

  test('the smaller end retires a losing duplicate at once; it is never left open and unlinked', () => {
    const link = { connection: conn('outbound', LARGE), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('inbound', LARGE), SMALL), {
      kind: 'keep-existing',
      retire: 'now',
    });
  });

  test('the larger end retires a losing duplicate after a grace period (the smaller closes it first)', () => {
    const link = { connection: conn('inbound', SMALL), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('outbound', SMALL), LARGE), {
      kind: 'keep-existing',
      retire: 'later',
    });
  });

  test('an inbound claim the tie-break prefers is proven before it takes a proven link over', () => {
    const link = { connection: conn('outbound', SMALL), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('inbound', SMALL), LARGE), { kind: 'prove-first' });
    // A second candidate while one is under proof is retired at once.
    assert.deepEqual(arbitrate({ ...link, hasCandidate: true }, conn('inbound', SMALL), LARGE), {
      kind: 'refuse',
    });
  });

  test('a preferred connection replaces an unproven link, and the old one is retired', () => {
    const link = { connection: conn('inbound', LARGE), proven: false, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('outbound', LARGE), SMALL), {
      kind: 'switch',
      retire: 'now',
    });
  });

  test('a reconnect racing its stale predecessor (same direction) takes over; the stale one closes now', () => {
    const link = { connection: conn('outbound', LARGE), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('outbound', LARGE), SMALL), {
      kind: 'switch',
      retire: 'now',
    });
  });

  test('a link whose connection is closing gives way to the newcomer', () => {
    const link = { connection: conn('outbound', LARGE, true), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('inbound', LARGE), SMALL), {
      kind: 'switch',
      retire: 'now',
    });
  });

  test('with a peer of the original, our own dial is retired at once when it dialed too', () => {
    const link = { connection: conn('inbound'), proven: true, hasCandidate: false };
    assert.deepEqual(arbitrate(link, conn('outbound'), SMALL), {
      kind: 'keep-existing',
      retire: 'now',
    });
  });

  test('every identification order of a simultaneous dial leaves one connection, the same at both ends', () => {
    // c1 dialed by SMALL, c2 dialed by LARGE. Each end identifies both, in either order.
    for (const smallFirst of ['c1', 'c2']) {
      for (const largeFirst of ['c1', 'c2']) {
        const kept = new Map<string, number>();
        const closed = new Set<number>();
        for (const [own, remote, first] of [
          [SMALL, LARGE, smallFirst],
          [LARGE, SMALL, largeFirst],
        ] as const) {
          const c1 = { ...conn(own === SMALL ? 'outbound' : 'inbound', remote), id: 1 };
          const c2 = { ...conn(own === SMALL ? 'inbound' : 'outbound', remote), id: 2 };
          const [a, b] = first === 'c1' ? [c1, c2] : [c2, c1];
          let link = a;
          const d = arbitrate({ connection: a, proven: true, hasCandidate: false }, b, own);
          if (d.kind === 'switch' || d.kind === 'prove-first') {
            closed.add(a.id);
            link = b;
          } else closed.add(b.id);
          kept.set(own, link.id);
        }
        assert.equal(kept.get(SMALL), 1, `${smallFirst}/${largeFirst}`);
        assert.equal(kept.get(LARGE), 1, `${smallFirst}/${largeFirst}`);
        assert.deepEqual([...closed], [2]);
      }
    }
  });
});

describe('token buckets', () => {
  test('a burst, then the refill rate, per key', () => {
    let clock = 0;
    const buckets = new TokenBuckets({ burst: 3, refillPerSecond: 1, maxBuckets: 10 }, () => clock);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => buckets.take('a')),
      [true, true, true, false],
    );
    assert.equal(buckets.take('b'), true, 'another remote has its own bucket');
    clock += 1_000;
    assert.equal(buckets.take('a'), true);
    assert.equal(buckets.take('a'), false);
  });

  test('forgetting the least recently used bucket does not hand a busy remote a new one', () => {
    let clock = 0;
    const buckets = new TokenBuckets({ burst: 1, refillPerSecond: 0, maxBuckets: 2 }, () => clock);
    assert.equal(buckets.take('a'), true);
    assert.equal(buckets.take('b'), true);
    assert.equal(buckets.take('a'), false); // a is now the most recently used
    assert.equal(buckets.take('c'), true); // forgets b
    clock += 1;
    assert.equal(buckets.take('a'), false);
  });
});

function mesh(seed = 7, burst = 256, introductionWaitMs = 0) {
  let clock = 0;
  const core = new MeshExchange(
    {
      periodMs: 1_000,
      firstGossipMs: 100,
      addressBudget: { burst, refillPerSecond: 1, maxBuckets: 64 },
      // Between peer(4) and peer(5): it dials the peers above it and asks to meet those below.
      self: () => '127.0.0.1:9004',
      introductionWaitMs,
      introductionBudget: { burst, refillPerSecond: 1, maxBuckets: 64 },
    },
    { now: () => clock, rng: createRng(seed) },
  );
  return { core, tick: (ms: number) => (clock += ms) };
}

const peer = (n: number) => ({ id: `node${n}`, address: `127.0.0.1:${9000 + n}` });
const dials = (out: MeshOutput[]) => out.flatMap((o) => (o.kind === 'dial' ? [o.address] : []));
const sends = (out: MeshOutput[]) => out.filter((o) => o.kind === 'send');

describe('the full-mesh exchange core', () => {
  test('a trusted peer is told every proven peer; one we replied to, only those proven since', () => {
    const { core } = mesh();
    assert.deepEqual(core.start(), [{ kind: 'set-timer', key: GOSSIP_TIMER, afterMs: 100 }]);
    assert.deepEqual(core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' }), []);
    const toTwo = core.handle({ kind: 'peer-up', peer: peer(2), direction: 'outbound' });
    assert.deepEqual(toTwo, [
      { kind: 'send', to: peer(2), message: { type: 'known_peers', peers: [peer(1).address] } },
    ]);
    // Peer 3 claims its address; the handshake reply lists 1 and 2; then 4 is proven; then 3 is.
    assert.deepEqual(core.reply(peer(3).id, peer(3).address), [peer(1).address, peer(2).address]);
    core.handle({ kind: 'peer-up', peer: peer(4), direction: 'outbound' });
    const toThree = core.handle({ kind: 'peer-up', peer: peer(3), direction: 'inbound' });
    assert.deepEqual(toThree, [
      { kind: 'send', to: peer(3), message: { type: 'known_peers', peers: [peer(4).address] } },
    ]);
  });

  test('a peer list makes it dial the addresses not linked, within the remote budget', () => {
    const { core, tick } = mesh(1, 5);
    core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
    const list = Array.from({ length: 1_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:1`);
    const out = core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'known_peers', peers: [peer(1).address, ...list] },
    });
    assert.deepEqual(dials(out), list.slice(0, 5));
    assert.deepEqual(out.at(-1), {
      kind: 'event',
      event: { type: 'addresses-dropped', peer: peer(1).address, count: 995 },
    });
    tick(2_000);
    const later = core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'known_peers', peers: list.slice(5) },
    });
    assert.equal(dials(later).length, 2, 'one address a second');
  });

  test('gossip goes to every peer each period, with texts from the seeded generator', () => {
    const texts = (seed: number) => {
      const { core } = mesh(seed);
      core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
      core.handle({ kind: 'peer-up', peer: peer(2), direction: 'inbound' });
      const out = core.handle({ kind: 'timer', key: GOSSIP_TIMER });
      assert.equal(sends(out).length, 2);
      assert.deepEqual(out.at(-1), { kind: 'set-timer', key: GOSSIP_TIMER, afterMs: 1_000 });
      const sent = out.find((o) => o.kind === 'event');
      assert.ok(sent?.kind === 'event' && sent.event.type === 'message-sent');
      assert.equal(sent.event.peers, 2);
      assert.match(sent.event.text, /^[A-Za-z0-9]{10}$/);
      return sent.event.text;
    };
    assert.equal(texts(42), texts(42));
    assert.notEqual(texts(42), texts(43));
  });

  test('of two peers of the original, only the one with the smaller address is told of the other', () => {
    const { core } = mesh();
    const legacy = (port: number) => ({
      id: `addr:127.0.0.1:${port}`,
      address: `127.0.0.1:${port}`,
    });
    core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
    core.handle({ kind: 'peer-up', peer: legacy(5000), direction: 'outbound' });
    // A newcomer of the original with a larger address: told of ours, not of 5000; 5000 is told of it.
    const up = core.handle({ kind: 'peer-up', peer: legacy(6000), direction: 'inbound' });
    assert.deepEqual(up, [
      {
        kind: 'send',
        to: legacy(6000),
        message: { type: 'known_peers', peers: [peer(1).address] },
      },
      {
        kind: 'send',
        to: legacy(5000),
        message: { type: 'known_peers', peers: [legacy(6000).address] },
      },
    ]);
    // One with a smaller address: told of both, and nobody is told of it.
    const small = core.handle({ kind: 'peer-up', peer: legacy(4000), direction: 'inbound' });
    assert.deepEqual(small, [
      {
        kind: 'send',
        to: legacy(4000),
        message: {
          type: 'known_peers',
          peers: [peer(1).address, legacy(5000).address, legacy(6000).address],
        },
      },
    ]);
  });

  test('of two peers that learn of each other, the smaller address dials; the larger asks to be introduced', () => {
    const { core, tick } = mesh(7, 256, 3_000);
    core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
    const out = core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'known_peers', peers: [peer(2).address, peer(5).address] },
    });
    // 9005 is above us (9004): dial it. 9002 is below: ask peer 1, the sender, to introduce us.
    assert.deepEqual(dials(out), [peer(5).address]);
    assert.deepEqual(sends(out), [
      { kind: 'send', to: peer(1), message: { type: 'introduce', peer: peer(2).address } },
    ]);
    // Told of it again meanwhile: no second request.
    const again = core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'known_peers', peers: [peer(2).address] },
    });
    assert.deepEqual(again, []);
    // It dialed us (its claim was proven): the wait ends.
    assert.deepEqual(core.handle({ kind: 'peer-up', peer: peer(2), direction: 'inbound' }), [
      { kind: 'cancel-timer', key: 'introduction:127.0.0.1:9002' },
      { kind: 'send', to: peer(2), message: { type: 'known_peers', peers: [peer(1).address] } },
    ]);
    tick(3_000);
    assert.deepEqual(core.handle({ kind: 'timer', key: 'introduction:127.0.0.1:9002' }), []);
  });

  /** A core that heard of 9003 (below its 9004) from peer 1, and asked peer 1 to introduce it. */
  function waitingForThree() {
    const { core } = mesh(7, 256, 3_000);
    core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
    core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'known_peers', peers: [peer(3).address] },
    });
    return core;
  }

  test('an introduction that brings no dial in time is followed by our own dial', () => {
    const core = waitingForThree();
    assert.deepEqual(dials(core.handle({ kind: 'timer', key: 'introduction:127.0.0.1:9003' })), [
      peer(3).address,
    ]);
  });

  test('asked to introduce, it tells the named peer of the asker; an unknown name is ignored', () => {
    const { core } = mesh(7, 256, 3_000);
    core.handle({ kind: 'peer-up', peer: peer(2), direction: 'outbound' });
    core.handle({ kind: 'peer-up', peer: peer(6), direction: 'inbound' });
    const out = core.handle({
      kind: 'message',
      from: peer(6),
      message: { type: 'introduce', peer: peer(2).address },
    });
    assert.deepEqual(out, [
      { kind: 'send', to: peer(2), message: { type: 'introduced', peer: peer(6).address } },
    ]);
    const unknown = { type: 'introduce' as const, peer: '10.9.9.9:1' };
    assert.deepEqual(core.handle({ kind: 'message', from: peer(6), message: unknown }), []);
  });

  test('introduced to a peer, it dials it whatever the addresses compare, and stops waiting for it', () => {
    const core = waitingForThree();
    // The other end thought the same of us (another spelling): it was introduced to us instead.
    const out = core.handle({
      kind: 'message',
      from: peer(1),
      message: { type: 'introduced', peer: peer(3).address },
    });
    assert.deepEqual(out, [
      { kind: 'cancel-timer', key: 'introduction:127.0.0.1:9003' },
      { kind: 'dial', address: peer(3).address, via: peer(1) },
    ]);
  });

  test('a list from a peer of the original (which cannot introduce) is dialed at once', () => {
    const { core } = mesh(7, 256, 3_000);
    const legacy = { id: 'addr:127.0.0.1:5000', address: '127.0.0.1:5000' };
    core.handle({ kind: 'peer-up', peer: legacy, direction: 'outbound' });
    const out = core.handle({
      kind: 'message',
      from: legacy,
      message: { type: 'known_peers', peers: [peer(2).address] },
    });
    assert.deepEqual(dials(out), [peer(2).address]);
  });

  test('a peer that went down is neither gossiped to nor told of', () => {
    const { core } = mesh();
    core.handle({ kind: 'peer-up', peer: peer(1), direction: 'outbound' });
    core.handle({ kind: 'peer-down', peer: peer(1).id, reason: 'gone' });
    const out = core.handle({ kind: 'broadcast', id: 'x', payload: 'hello' });
    assert.deepEqual(sends(out), []);
    assert.deepEqual(core.handle({ kind: 'peer-up', peer: peer(2), direction: 'outbound' }), []);
  });
});
