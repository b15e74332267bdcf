/**
 * Hostile peers at scale against one victim that has two honest peers linked to it. The honest
 * peers use 127.0.0.1; every attacker connects from 127.0.0.2, so a per-remote-IP limit, if the
 * peer ever gets one, would not hit the honest peers. After every attack the honest traffic must
 * still flow through the victim, both ways.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, type TestContext, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { now } from '../src/peer/clock.js';
import type { PeerEvent, PeerEventOf } from '../src/peer/events.js';
import { DEFAULT_LIMITS } from '../src/peer/limits.js';
import { encodeFrame } from '../src/protocol/frame.js';
import { MAX_FRAME_BYTES } from '../src/protocol/limits.js';
import { encodeMessage } from '../src/protocol/messages.js';
import { codes, invalid } from './support/codes.js';
import {
  accomplice,
  assertStillServing,
  header,
  honestGossip,
  json,
  type Network,
  network,
  record,
} from './support/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { nextEvent, until, WAIT_TIMEOUT_MS } from './support/wait.js';

const ATTACKER_HOST = '127.0.0.2';
/** Nothing listens there (checked): dials to it are refused at once. */
const UNREACHABLE_HOST = '127.0.0.3';
const MiB = 1024 * 1024;

// ---- measuring -------------------------------------------------------------------------------

v8.setFlagsFromString('--expose-gc');
const collect: unknown = vm.runInNewContext('gc');

/** Heap in use after a full collection (or as it is, if gc could not be exposed). */
function heapUsed(): number {
  if (typeof collect === 'function') {
    collect();
    collect();
  }
  return process.memoryUsage().heapUsed;
}

const HAS_PROC = existsSync('/proc/self/fd');

/** Open file descriptors of this process (sockets included); 0 where /proc is missing. */
function openFds(): number {
  return HAS_PROC ? readdirSync('/proc/self/fd').length : 0;
}

/** TCP ports something listens on, on any address that 127.0.0.3 would reach. */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || local === undefined) continue;
      const [ip, port] = local.split(':');
      // 0.0.0.0, ::, or 127.0.0.3 itself (little-endian hex in /proc)
      if (ip === undefined || port === undefined) continue;
      if (/^0+$/.test(ip) || ip === '0300007F') ports.add(Number.parseInt(port, 16));
    }
  }
  return ports;
}

/** `count` distinct ports below the ephemeral range where nothing listens now. */
function closedPorts(count: number): number[] {
  const busy = listeningPorts();
  const ports: number[] = [];
  for (let port = 10_000; ports.length < count && port < 32_000; port++) {
    if (!busy.has(port)) ports.push(port);
  }
  assert.equal(ports.length, count);
  return ports;
}

// ---- attackers and the victim ------------------------------------------------------------------

/** A raw connection from the attacker address, destroyed when the test ends. */
function attack(t: TestContext, net: Network): Promise<RawClient> {
  return RawClient.open(t, net.victim.port, { localAddress: ATTACKER_HOST });
}

function only<T extends PeerEvent['type']>(events: PeerEvent[], type: T): Array<PeerEventOf<T>> {
  return events.filter((e): e is PeerEventOf<T> => e.type === type);
}

/** No honest link dropped during the attack. */
function assertHonestUntouched(events: PeerEvent[], net: Network): void {
  const honest = net.honest.map((p) => p.advertised);
  assert.deepEqual(
    only(events, 'disconnected').filter((e) => honest.includes(e.peer)),
    [],
  );
}

/** An attacker that announced itself, proved its address, and is linked to the victim. */
async function linkedAttacker(t: TestContext, net: Network): Promise<[RawClient, string]> {
  const address = await accomplice(t, ATTACKER_HOST);
  const attacker = await attack(t, net);
  const connected = nextEvent(net.victim, 'connected', (e) => e.peer === address);
  const proven = nextEvent(net.victim, 'address-proven', (e) => e.peer === address);
  await attacker.write(encodeMessage({ type: 'public_address', address }));
  await Promise.all([connected, proven]);
  return [attacker, address];
}

// ---- the attacks -------------------------------------------------------------------------------

describe('hostile peers at scale', () => {
  test('a flood of 1,000 connections that never speak', async (t) => {
    const HANDSHAKE_MS = 2_000; // long enough that a refusal under load still comes first
    const COUNT = 1_000;
    // Every attacker comes from one IP: the per-IP cap is the one that binds.
    const cap = Math.min(
      DEFAULT_LIMITS.maxPendingHandshakes,
      DEFAULT_LIMITS.maxPendingHandshakesPerIp,
    );
    const net = await network(t, { limits: { handshakeTimeoutMs: HANDSHAKE_MS } });
    const events = record(net.victim, t);
    const fdsBefore = openFds();
    const heapBefore = heapUsed();
    const floodStart = now();
    // The victim keeps serving while the flood is on, not only once it is over.
    const honestDuringFlood = honestGossip(net, floodStart);
    const started = performance.now();
    const attackers = await Promise.all(Array.from({ length: COUNT }, () => attack(t, net)));
    const connectedMs = performance.now() - started;
    const honestMs = Math.max(...(await honestDuringFlood).map((e) => e.at)) - floodStart;
    await Promise.all(attackers.map((a) => a.waitClosed()));
    const allClosedMs = performance.now() - started;

    const timedOut = new Set(
      only(events, 'rejected')
        .filter((e) => e.remote.startsWith(`${ATTACKER_HOST}:`))
        .map((e) => {
          assert.equal(e.code, 'HANDSHAKE_TIMEOUT');
          return e.remote;
        }),
    );
    const refused = attackers.filter((a) => !timedOut.has(a.remote));
    const waited = attackers.filter((a) => timedOut.has(a.remote));
    const slowestRefusal = Math.max(0, ...refused.map((a) => a.lifetimeMs));
    const earliestTimeout = Math.min(...waited.map((a) => a.lifetimeMs));
    t.diagnostic(
      `${COUNT} connected in ${Math.round(connectedMs)} ms; honest gossip ${Math.round(honestMs)} ms ` +
        `into the flood; all closed after ${Math.round(allClosedMs)} ms; ${refused.length} refused ` +
        `at once (slowest ${Math.round(slowestRefusal)} ms), ${waited.length} timed out ` +
        `(earliest ${Math.round(earliestTimeout)} ms)`,
    );
    // The first `cap` were held until the timeout; past the cap they were closed at once.
    assert.ok(waited.length >= cap, `${waited.length} timed out, the cap is ${cap}`);
    assert.ok(refused.length > 0, 'some connections went over the pending-handshake cap');
    assert.ok(slowestRefusal < HANDSHAKE_MS, 'over the cap: closed before any timeout');
    assert.ok(earliestTimeout >= HANDSHAKE_MS - 5, 'under the cap: kept until the timeout');
    // Nothing of the flood is left: no attacker counted as a peer, no socket, no memory.
    assert.deepEqual(
      only(events, 'connected').filter((e) => !e.peer.startsWith('127.0.0.1:')),
      [],
    );
    assertHonestUntouched(events, net);
    await until(net.all, () => openFds() <= fdsBefore + 4, 'the flood sockets released');
    const heapGrowth = heapUsed() - heapBefore;
    t.diagnostic(`heap growth after gc: ${(heapGrowth / MiB).toFixed(2)} MiB`);
    assert.ok(heapGrowth < 16 * MiB, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB`);
    await assertStillServing(net);
  });

  test('a connection that trickles one byte every 20 ms is cut at the handshake timeout', async (t) => {
    const HANDSHAKE_MS = 300;
    const net = await network(t, { limits: { handshakeTimeoutMs: HANDSHAKE_MS } });
    const attacker = await attack(t, net);
    const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === attacker.remote);
    // A valid announcement, far too slowly: it would take about a second to arrive whole.
    const frame = encodeMessage({ type: 'public_address', address: `${ATTACKER_HOST}:1` });
    const dripping = attacker.trickle(frame, 20);
    await attacker.waitClosed();
    const sent = await dripping;
    assert.equal((await rejected).code, 'HANDSHAKE_TIMEOUT');
    t.diagnostic(
      `cut after ${Math.round(attacker.lifetimeMs)} ms and ${sent} of ${frame.length} bytes`,
    );
    assert.ok(sent < frame.length, 'cut before the frame was complete');
    assert.ok(attacker.lifetimeMs >= HANDSHAKE_MS - 5, 'each byte did not extend the deadline');
    assert.ok(attacker.lifetimeMs < 3 * HANDSHAKE_MS, 'nor did the bytes keep it open');
    await assertStillServing(net);
  });

  test('frame headers announcing 4 GiB, from 50 connections at once', async (t) => {
    const net = await network(t);
    const events = record(net.victim, t);
    const heapBefore = heapUsed();
    const attackers = await Promise.all(Array.from({ length: 50 }, () => attack(t, net)));
    // the header, then as much body as the socket takes before the victim closes it
    const bytes = Buffer.concat([header(0xff_ff_ff_ff), Buffer.alloc(60 * 1024, 0x41)]);
    for (const a of attackers) a.socket.write(bytes);
    await Promise.all(attackers.map((a) => a.waitClosed()));
    await until(
      net.all,
      () => only(events, 'rejected').length >= attackers.length,
      'every attacker reported',
    );
    const refusals = new Map(only(events, 'rejected').map((e) => [e.remote, codes(e)]));
    for (const a of attackers) assert.deepEqual(refusals.get(a.remote), invalid('FRAME_TOO_LARGE'));
    const heapGrowth = heapUsed() - heapBefore;
    t.diagnostic(`heap growth after gc: ${(heapGrowth / MiB).toFixed(2)} MiB`);
    assert.ok(heapGrowth < 8 * MiB, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB`);
    assertHonestUntouched(events, net);
    await assertStillServing(net);
  });

  test('64 KiB of random bytes, raw and as one maximal frame', async (t) => {
    const net = await network(t);
    const raw = randomBytes(64 * 1024);
    // a first byte of 0 could make a header small enough to wait for; anything else is > 16 MiB
    raw[0] = 1 + ((raw[0] ?? 0) % 255);
    const body = randomBytes(MAX_FRAME_BYTES);
    body[0] = 0xff; // never valid UTF-8
    for (const [bytes, expected] of [
      [raw, invalid('FRAME_TOO_LARGE')],
      [encodeFrame(body), invalid('NOT_UTF8')],
    ] as const) {
      const attacker = await attack(t, net);
      const rejected = nextEvent(net.victim, 'rejected', (e) => e.remote === attacker.remote);
      attacker.socket.write(bytes);
      await attacker.waitClosed();
      assert.deepEqual(codes(await rejected), expected);
    }
    await assertStillServing(net);
  });

  test('a linked peer sending a 10,000-entry known_peers is disconnected, nothing dialed', async (t) => {
    const net = await network(t);
    const events = record(net.victim, t);
    const [attacker, address] = await linkedAttacker(t, net);
    const ports = closedPorts(10_000);
    const disconnected = nextEvent(net.victim, 'disconnected', (e) => e.peer === address);
    await attacker.write(
      json({
        type: 'known_peers',
        data: { peers: ports.map((p) => `${UNREACHABLE_HOST}:${p}`) },
      }),
    );
    await attacker.waitClosed();
    const event = await disconnected;
    // 10,000 entries are about 200 KB of JSON: the frame size limit refuses it before the count.
    assert.deepEqual(codes(event), invalid('FRAME_TOO_LARGE'));
    assert.equal(event.reconnecting, false, 'a violation is not a broken link');
    await assertStillServing(net);
    assert.deepEqual(
      only(events, 'dial-failed').filter((e) => e.peer.startsWith(`${UNREACHABLE_HOST}:`)),
      [],
      'nothing of the list was dialed',
    );
  });

  for (const spaced of [false, true]) {
    test(`10 lists of 1,000 unreachable addresses ${spaced ? 'one after another' : 'in one write'}: dials and the queue stay bounded`, async (t) => {
      const limits = {
        maxConcurrentDials: 16,
        maxQueuedDials: 256,
        // short, so that every address is given up within the test; when the lists are spaced,
        // one retry after 0.5-1 s, so that failed addresses wait while the next lists arrive
        dialBackoff: spaced
          ? { baseMs: 1_000, maxMs: 1_000, maxAttempts: 2 }
          : { baseMs: 20, maxMs: 200, maxAttempts: 3 },
      };
      const net = await network(t, { limits });
      const events = record(net.victim, t);
      const [attacker, address] = await linkedAttacker(t, net);
      const fdsBefore = openFds();
      const heapBefore = heapUsed();
      const ports = closedPorts(10_000);
      const lists = Array.from({ length: 10 }, (_, i) =>
        json({
          type: 'known_peers',
          data: {
            peers: ports.slice(i * 1_000, (i + 1) * 1_000).map((p) => `${UNREACHABLE_HOST}:${p}`),
          },
        }),
      );

      // Watched on every victim event: sockets open, and addresses waiting for a retry.
      const attempts = new Map<string, number>();
      const waiting = new Set<string>();
      let maxFds = 0;
      let maxWaiting = 0;
      const watch = net.victim.events.subscribe((e) => {
        maxFds = Math.max(maxFds, openFds());
        if (e.type !== 'dial-failed' || !e.peer.startsWith(`${UNREACHABLE_HOST}:`)) return;
        attempts.set(e.peer, (attempts.get(e.peer) ?? 0) + 1);
        if (e.retryInMs === undefined) waiting.delete(e.peer);
        else waiting.add(e.peer);
        maxWaiting = Math.max(maxWaiting, waiting.size);
      });
      t.after(watch);

      const started = performance.now();
      if (spaced) {
        // Each list once the victim dials addresses of it (or, if none got in, gave one up): by
        // then the queue has drained into dials and retries waiting (for 0.5-1 s) and has room.
        for (const [i, list] of lists.entries()) {
          const mine = new Set(
            ports.slice(i * 1_000, (i + 1) * 1_000).map((p) => `${UNREACHABLE_HOST}:${p}`),
          );
          const dialing = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              stop();
              reject(new Error(`list ${i} was never dialed`));
            }, WAIT_TIMEOUT_MS);
            const stop = net.victim.events.subscribe((e) => {
              if (e.type !== 'dial-failed') return;
              if (!mine.has(e.peer) && e.retryInMs !== undefined) return;
              clearTimeout(timer);
              stop();
              resolve();
            });
          });
          await attacker.write(list);
          await dialing;
        }
      } else {
        await attacker.write(Buffer.concat(lists));
      }
      // Every address dialed has been given up (quiet), and the lists were not a violation.
      await until(
        net.all,
        () => attempts.size > 0 && waiting.size === 0 && openFds() <= fdsBefore + 2,
        'every dialed address given up',
      );
      await assertStillServing(net);
      assert.equal(waiting.size, 0, 'no dial started after the victim went quiet');
      const elapsed = performance.now() - started;
      const heapGrowth = heapUsed() - heapBefore;
      const dials = [...attempts.values()].reduce((a, b) => a + b, 0);
      t.diagnostic(
        `${attempts.size} of 10,000 addresses dialed (${dials} attempts) in ${Math.round(elapsed)} ms; ` +
          `at most ${maxFds - fdsBefore} sockets over the baseline, ${maxWaiting} addresses waiting ` +
          `for a retry at once; heap growth ${(heapGrowth / MiB).toFixed(2)} MiB`,
      );
      assert.ok(victimLinked(net, address), 'the lists were valid: the attacker stays linked');
      for (const [peer, n] of attempts) {
        assert.ok(n <= limits.dialBackoff.maxAttempts, `${peer} dialed ${n} times`);
      }
      if (HAS_PROC) {
        assert.ok(
          maxFds - fdsBefore <= limits.maxConcurrentDials + 4,
          `${maxFds - fdsBefore} sockets open at once: more dials in flight than maxConcurrentDials`,
        );
      }
      // Addresses waiting to be dialed again are waiting to be dialed: bounded like the queue.
      assert.ok(
        maxWaiting <= limits.maxQueuedDials + limits.maxConcurrentDials,
        `${maxWaiting} addresses waited for a retry at once (maxQueuedDials ${limits.maxQueuedDials})`,
      );
      assert.ok(heapGrowth < 16 * MiB, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB`);
      assertHonestUntouched(events, net);
    });
  }

  test('repeated re-claims of another address on one connection: closed at the first', async (t) => {
    const net = await network(t);
    const events = record(net.victim, t);
    const [attacker, address] = await linkedAttacker(t, net);
    // Re-announcing the same address is harmless and ignored.
    await attacker.write(
      Buffer.concat(
        Array.from({ length: 50 }, () => encodeMessage({ type: 'public_address', address })),
      ),
    );
    const disconnected = nextEvent(net.victim, 'disconnected', (e) => e.peer === address);
    await attacker.write(
      Buffer.concat(
        Array.from({ length: 100 }, (_, i) =>
          encodeMessage({ type: 'public_address', address: `${ATTACKER_HOST}:${i + 2}` }),
        ),
      ),
    );
    await attacker.waitClosed();
    const event = await disconnected;
    const reclaim = { code: 'PROTOCOL_VIOLATION', detail: 'RECLAIM' };
    assert.deepEqual(codes(event), reclaim);
    assert.equal(event.reconnecting, false);
    const mine = (e: PeerEvent) =>
      ('peer' in e && e.peer.startsWith(`${ATTACKER_HOST}:`)) ||
      ('remote' in e && e.remote.startsWith(`${ATTACKER_HOST}:`));
    assert.deepEqual(
      events.filter(mine).map((e) => e.type),
      ['connected', 'address-proven', 'rejected', 'disconnected'],
      'linked and proven once, then one disconnection: no other claim took effect',
    );
    assert.deepEqual(only(events, 'rejected').filter(mine).map(codes), [reclaim]);
    await assertStillServing(net);
    assert.ok(!net.victim.peers.some((p) => p.startsWith(`${ATTACKER_HOST}:`)));
  });
});

function victimLinked(net: Network, address: string): boolean {
  return net.victim.peers.includes(address);
}
