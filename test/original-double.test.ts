import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { findFreePortRange } from '../src/emulator/bootstrap.js';
import { poll } from './support/kernel.js';
import { silentListener } from './support/listeners.js';
import { frame, OriginalDouble } from './support/original-double.js';
import { ORIGINAL_BINARY, ProcessPeer } from './support/processes.js';
import { RawClient } from './support/raw-client.js';

/**
 * The double of the original does what the real program does, on the wire: each scenario runs
 * against the double, and against the real program when NAIVE_PEER_ORIGINAL names a build.
 */

const PERIOD_MS = 1_000;

type Target = 'double' | 'real';

/** Starts the original (double or real) on a free port; returns `host:port` pieces. */
async function original(
  t: TestContext,
  target: Target,
): Promise<{ port: number; address: string }> {
  const port = await findFreePortRange(1);
  if (target === 'double') {
    const double = new OriginalDouble({ port, periodMs: PERIOD_MS });
    t.after(() => double.stop());
    await double.start();
  } else {
    const peer = ProcessPeer.original(t, ORIGINAL_BINARY ?? '', { port, periodSeconds: 1 });
    await peer.listening();
  }
  return { port, address: `127.0.0.1:${port}` };
}

const claim = (address: string) => frame('public_address', { address });

for (const target of ['double', 'real'] as const) {
  describe(`the original (${target})`, () => {
    const skip = (t: TestContext): boolean => {
      if (target === 'real' && ORIGINAL_BINARY === undefined) {
        t.skip('NAIVE_PEER_ORIGINAL not set: no build of the original to compare the double with');
        return true;
      }
      return false;
    };

    test('closes a connection that claims no address 1-2 s after it opened', async (t) => {
      if (skip(t)) return;
      const { port } = await original(t, target);
      const client = await RawClient.open(t, port);
      await client.waitClosed(4_000);
      assert.ok(client.lifetimeMs > 900 && client.lifetimeMs < 2_700, `${client.lifetimeMs} ms`);
      assert.deepEqual(client.frames, []);
    });

    test('adopts an unknown claim: known_peers only when others are known, then gossip', async (t) => {
      if (skip(t)) return;
      const { port } = await original(t, target);
      const first = await RawClient.open(t, port);
      await first.write(claim('127.0.0.1:1'));
      await first.frame(() => true, 3 * PERIOD_MS);
      assert.equal(first.frames[0]?.type, 'random_message', 'no empty known_peers first');
      const second = await RawClient.open(t, port);
      await second.write(claim('127.0.0.1:2'));
      assert.deepEqual(await second.frame(() => true, PERIOD_MS), {
        type: 'known_peers',
        peers: ['127.0.0.1:1'],
      });
    });

    test('closes a claim of an address it already has, sending nothing', async (t) => {
      if (skip(t)) return;
      const { port } = await original(t, target);
      const first = await RawClient.open(t, port);
      await first.write(claim('127.0.0.1:1'));
      const again = await RawClient.open(t, port);
      await again.write(claim('127.0.0.1:1'));
      await again.waitClosed(PERIOD_MS);
      assert.deepEqual(again.frames, []);
      await first.frame((m) => m.type === 'random_message', 3 * PERIOD_MS);
      assert.equal(first.socket.destroyed, false);
    });

    test('dials a listed address once per mention; all but the first closed silent', async (t) => {
      if (skip(t)) return;
      const { port, address } = await original(t, target);
      const listed = await silentListener(t);
      // From a connection that never claimed an address: the list is acted on all the same.
      const client = await RawClient.open(t, port);
      await client.write(
        frame('known_peers', { peers: [listed.address, listed.address, listed.address] }),
      );
      await poll(
        () => listed.accepted.length === 3 && listed.accepted.filter((a) => a.closed).length === 2,
        'three dials, two closed',
        3_000,
        () => JSON.stringify(listed.accepted.map((a) => [a.data.length, a.closed])),
      );
      const greeted = listed.accepted.filter((a) => a.data.length > 0);
      assert.equal(greeted.length, 1);
      assert.deepEqual(greeted[0]?.data, claim(address));
      assert.ok(listed.accepted.filter((a) => a.closed).every((a) => a.data.length === 0));
    });

    test('handles the first of two frames sent in one write, then drops the connection', async (t) => {
      if (skip(t)) return;
      const { port } = await original(t, target);
      const other = await RawClient.open(t, port);
      await other.write(claim('127.0.0.1:1'));
      const client = await RawClient.open(t, port);
      await client.write(
        Buffer.concat([claim('127.0.0.1:2'), frame('random_message', { data: 'GluedFrame' })]),
      );
      await client.waitClosed(PERIOD_MS);
      // The claim was handled: it was answered with the list of the others.
      assert.deepEqual(client.frames, [{ type: 'known_peers', peers: ['127.0.0.1:1'] }]);
    });
  });
}
