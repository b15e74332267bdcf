import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { now } from '../../src/peer/clock.js';
import type { PeerEvent, PeerEventOf } from '../../src/peer/events.js';
import type { Peer, PeerOptions } from '../../src/peer/peer.js';
import { encodeFrame } from '../../src/protocol/frame.js';
import { encodeMessage } from '../../src/protocol/messages.js';
import { startPeer, stopAll } from './network.js';
import { listener } from './server.js';
import { isFullMesh, nextEvent, until } from './wait.js';

/** A victim peer with two honest peers linked to it and to each other. */
export interface Network {
  readonly victim: Peer;
  readonly honest: readonly [Peer, Peer];
  /** The victim and the honest peers. */
  readonly all: readonly Peer[];
}

/** A victim with two honest peers linked to it (and to each other); stopped after the test. */
export async function network(t: TestContext, victimOptions: PeerOptions = {}): Promise<Network> {
  const all: Peer[] = [];
  t.after(() => stopAll(all));
  const victim = await startPeer(undefined, victimOptions);
  all.push(victim);
  const first = await startPeer(victim);
  all.push(first);
  const second = await startPeer(victim);
  all.push(second);
  await until(all, () => isFullMesh(all), 'the victim and two honest peers meshed');
  return { victim, honest: [first, second], all };
}

/** A peer linked to nobody (it knows no other peer); stopped after the test. */
export async function lonelyPeer(t: TestContext, options: PeerOptions = {}): Promise<Peer> {
  const peers: Peer[] = [];
  t.after(() => stopAll(peers));
  const peer = await startPeer(undefined, options);
  peers.push(peer);
  return peer;
}

/** What every gossip text of a peer looks like. */
const GOSSIP_TEXT = /^[A-Za-z0-9]{10}$/;

/** Gossip from each honest peer reaches the victim after `since` (an event time, see `now()`). */
export function honestGossip(
  { victim, honest }: Network,
  since: number,
): Promise<Array<PeerEventOf<'message-received'>>> {
  return Promise.all(
    honest.map((p) =>
      nextEvent(victim, 'message-received', (e) => e.peer === p.advertised && e.at > since),
    ),
  );
}

/**
 * Honest traffic still flows through the victim, both ways: from now on, gossip from each honest
 * peer reaches the victim and gossip from the victim reaches each honest peer (every text a
 * peer's gossip text), and both honest links are still up.
 */
export async function assertStillServing(net: Network): Promise<void> {
  const { victim, honest } = net;
  const since = now();
  const [toVictim, fromVictim] = await Promise.all([
    honestGossip(net, since),
    Promise.all(
      honest.map((p) =>
        nextEvent(p, 'message-received', (e) => e.peer === victim.advertised && e.at > since),
      ),
    ),
  ]);
  for (const e of [...toVictim, ...fromVictim]) assert.match(e.text, GOSSIP_TEXT);
  for (const p of honest) assert.ok(victim.peers.includes(p.advertised), `linked ${p.advertised}`);
}

/** Records the events of `peer` from now until the test ends. */
export function record(peer: Peer, t: TestContext): PeerEvent[] {
  const events: PeerEvent[] = [];
  t.after(peer.events.subscribe((e) => events.push(e)));
  return events;
}

/** A bare frame header (4-byte big-endian length) announcing `length` bytes, with no body. */
export function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length, 0);
  return h;
}

/**
 * `value` as JSON in one frame, whatever its shape: for frames `encodeMessage` cannot make
 * (malformed or out-of-limit messages).
 */
export function json(value: unknown): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(value), 'utf8'));
}

/**
 * A listener that answers like a peer of the original (gossip, no node id): a raw client that
 * claims its address passes the victim's dial-back proof and stays linked.
 */
export async function accomplice(t: TestContext, host = '127.0.0.1'): Promise<string> {
  const port = await listener(t, host, (socket) => {
    socket.write(encodeMessage({ type: 'random_message', text: 'Accomplice' }));
  });
  return `${host}:${port}`;
}
