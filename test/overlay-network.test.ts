import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../src/core/rng.js';
import { countPairs } from './support/kernel.js';
import { startOverlay } from './support/overlay.js';

/**
 * Bounds of this test, generous: they only turn a hang into a failure, and the machine may be
 * loaded (200 peers share one thread here). How fast it forms and heals is for the benchmark.
 */
const FORM_MS = 90_000;
const DELIVER_MS = 30_000;
const SETTLE_MS = 30_000;
const HEAL_MS = 90_000;
/** The whole test: every bound above, once (node's --test-timeout default of 120 s is too short). */
const TEST_MS = 2 * FORM_MS + 6 * DELIVER_MS + SETTLE_MS + 2 * HEAL_MS;

/**
 * No link has changed for this long. Plumtree has no anti-entropy: a message sent while a peer's
 * links are being replaced can miss that peer for good, so the test broadcasts into a settled
 * overlay (the refill of views below 4 links goes on for a few seconds after it connects).
 */
const QUIET_MS = 2_000;

/** Polls a kernel-side figure (no event tells when a socket left the kernel's table). */
async function settles(check: () => boolean, what: string, timeoutMs = SETTLE_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('200 overlay peers over TCP form one overlay, deliver every message to every peer, and heal after 20 % are killed', {
  timeout: TEST_MS,
}, async (t) => {
  const n = 200;
  const net = await startOverlay(t, n);
  net.joinRandom();
  await net.waitConnected('one connected overlay of 200', FORM_MS);
  await settles(
    () => net.connected() && performance.now() - net.lastLinkChange >= QUIET_MS,
    'a settled overlay',
    FORM_MS,
  );
  const degrees = net.adjacency().map((a) => a.length);
  assert.ok(Math.max(...degrees) <= 5, `no active view above 5: ${Math.max(...degrees)}`);

  const rng = createRng(9);
  for (let k = 0; k < 3; k++) await net.broadcastToAll(rng.int(n), `before${k}`, DELIVER_MS);

  // Exactly one TCP connection per active link, as the kernel's table shows them (other
  // connections come and go: dial-back probes, shuffle replies, refused neighbor requests).
  let wrong: string[] = [];
  await settles(() => {
    const { perPair } = countPairs(net.endpoints());
    wrong = net
      .linkPairs()
      .filter((pair) => perPair.get(pair) !== 1)
      .map((pair) => `${pair}: ${perPair.get(pair)}`);
    return wrong.length === 0;
  }, 'one kernel connection per link').catch((error: Error) => {
    throw new Error(`${error.message}: ${wrong.slice(0, 5).join(', ')}`);
  });

  const victims = rng.shuffle([...Array(n).keys()]).slice(0, n / 5);
  await net.kill(victims);
  await net.waitConnected('the 160 survivors healed into one overlay', HEAL_MS);
  await settles(
    () => net.connected() && performance.now() - net.lastLinkChange >= QUIET_MS,
    'a settled overlay after the kill',
    HEAL_MS,
  );
  const survivors = [...Array(n).keys()].filter((i) => !net.stopped.has(i));
  for (let k = 0; k < 3; k++)
    await net.broadcastToAll(rng.pick(survivors), `after${k}`, DELIVER_MS);
});
