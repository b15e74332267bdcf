import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPeer, stopAll } from './support/network.js';
import { isFullMesh, nextEvent, until } from './support/wait.js';

test('a peer whose gossip is paused sends no more, while its neighbour goes on', async (t) => {
  const a = await startPeer(undefined, { periodMs: 50 });
  const b = await startPeer(a, { periodMs: 50 });
  t.after(() => stopAll([a, b]));
  await until([a, b], () => isFullMesh([a, b]), 'a link between the two');
  await nextEvent(a, 'message-sent');

  a.pauseGossip();
  let sentAfterPause = 0;
  const unsubscribe = a.events.subscribe((event) => {
    if (event.type === 'message-sent') sentAfterPause++;
  });
  t.after(unsubscribe);
  // Five of b's periods are five of a's: a would have sent about five meanwhile.
  for (let i = 0; i < 5; i++) await nextEvent(b, 'message-sent');
  assert.equal(sentAfterPause, 0);
  // Links go on: b's messages still reach a.
  await nextEvent(a, 'message-received');
});
