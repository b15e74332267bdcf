import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { encodeMessage, Feature, type Message } from '../src/protocol/messages.js';
import { lonelyPeer } from './support/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { listener, onMessages } from './support/server.js';
import { until } from './support/wait.js';

/** Smaller than any random node id: the tie-break prefers the connection this node dials. */
const NODE_ID = '0'.repeat(32);
const PLAIN = [Feature.exchange, Feature.goodbye, Feature.proof];

interface Accepted {
  readonly socket: Socket;
  readonly frames: Message[];
  readonly closed: Promise<void>;
}

/**
 * A node of ours played by hand: it listens, answers the victim's dial with its node id, then
 * dials the victim itself and claims its listening address (a simultaneous dial, as in a forming
 * mesh). Every nonce that reaches its listener, on whatever connection, it sends back over its
 * claim, as a peer of ours does. Returns what its listener accepted once the victim has moved
 * the link to the claim (the link it dialed is closed as a duplicate).
 */
async function claimWhileDialed(t: TestContext, features: readonly string[]): Promise<Accepted[]> {
  const victim = await lonelyPeer(t);
  const accepted: Accepted[] = [];
  let claim: RawClient | undefined;
  const port = await listener(t, '127.0.0.1', (socket) => {
    const frames: Message[] = [];
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    accepted.push({ socket, frames, closed });
    onMessages(socket, (message) => {
      frames.push(message);
      if (message.type !== 'public_address') return;
      // The hello of a dial, or of a probe connection: answered with our identity.
      if (frames.length === 1) {
        socket.write(
          encodeMessage({
            type: 'known_peers',
            peers: [],
            nodeId: NODE_ID,
            features: [...features],
          }),
        );
      }
      if (message.probe !== undefined) {
        void claim?.write(encodeMessage({ type: 'address_proof', nonce: message.probe }));
      }
    });
  });
  const address = `127.0.0.1:${port}`;
  victim.join(address);
  await until(
    [victim],
    () => accepted[0] !== undefined && victim.peers.includes(address),
    'the victim linked the address it dialed',
  );
  const dialed = accepted[0];
  assert.ok(dialed !== undefined);
  claim = await RawClient.open(t, victim.port);
  await claim.write(
    encodeMessage({ type: 'public_address', address, nodeId: NODE_ID, features: [...features] }),
  );
  // The claim proven, the victim keeps it (the tie-break's choice) and closes the link it dialed.
  await dialed.closed;
  assert.deepEqual(victim.peers, [address]);
  assert.deepEqual(
    victim.links.map((l) => l.direction),
    ['inbound'],
    'the link moved to the proven claim',
  );
  assert.equal(claim.socket.destroyed, false);
  return accepted;
}

test('a claim at an address the prover already dialed is proven over that link, with no probe connection', async (t) => {
  const accepted = await claimWhileDialed(t, [...PLAIN, Feature.inlineProof]);
  assert.equal(accepted.length, 1, 'no probe connection was opened');
  const nonces = accepted[0]?.frames.filter((m) => m.type === 'public_address' && m.probe);
  assert.equal(nonces?.length, 1, 'the nonce came over the dialed link');
});

test('a claimant without inline-proof is still proven by a probe connection', async (t) => {
  const accepted = await claimWhileDialed(t, PLAIN);
  assert.equal(accepted.length, 2, 'the dialed link and one probe connection');
  assert.ok(accepted[1]?.frames.some((m) => m.type === 'public_address' && m.probe));
});
