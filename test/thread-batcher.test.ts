import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ThreadBatcher } from '../src/host/batcher.js';
import type { TaggedHostMessage } from '../src/host/messages.js';

const traffic = { connections: 0, accepted: 0, bytesIn: 0, bytesOut: 0 } as never;

test('messages of many tasks posted in one turn leave as one batch, in the order posted', async () => {
  const { port1, port2 } = new MessageChannel();
  const batcher = new ThreadBatcher(port1);
  const received: TaggedHostMessage[][] = [];
  port2.on('message', (batch: TaggedHostMessage[]) => received.push(batch));
  batcher.post(1, { type: 'bytes', bytesIn: 1, bytesOut: 0 });
  batcher.post(2, { type: 'bytes', bytesIn: 2, bytesOut: 0 });
  batcher.post(1, { type: 'report', pid: 1, threadId: 7, traffic });
  batcher.post(1, { type: 'end' });
  const [first] = (await once(port2, 'message')) as [TaggedHostMessage[]];
  assert.deepEqual(
    first.map(({ key, message }) => `${key}:${message.type}`),
    ['1:bytes', '2:bytes', '1:report', '1:end'],
  );
  assert.equal(received.length, 1);
  port1.close();
  port2.close();
});

test('a later turn makes a new batch, and an explicit flush sends at once', async () => {
  const { port1, port2 } = new MessageChannel();
  const batcher = new ThreadBatcher(port1);
  const batches: number[][] = [];
  let third: () => void = () => {};
  const thirdArrived = new Promise<void>((resolve) => {
    third = resolve;
  });
  port2.on('message', (batch: TaggedHostMessage[]) => {
    batches.push(batch.map((m) => m.key));
    if (batches.length === 3) third();
  });
  batcher.post(1, { type: 'end' });
  await once(port2, 'message');
  batcher.post(2, { type: 'end' });
  batcher.flush();
  batcher.post(3, { type: 'end' });
  await thirdArrived;
  assert.deepEqual(batches, [[1], [2], [3]]);
  port1.close();
  port2.close();
});
