import { type PeerHandle, PeerPool, type PoolOptions } from './pool.js';
import type { ChildNotice, FromChild, ToChild } from './process-pool.js';
import { MIRROR_MS, SharedMirror } from './shared-mirror.js';

/**
 * A child process of `ProcessPool`: hosts its share of the peers in a `PeerPool` of its own worker
 * threads, with its own open-file limit, and relays what they say to the parent over the IPC
 * channel, one batch per turn of its event loop (a mesh of 200 peers emits ~20,000 events a second
 * while it gossips: one message each would cost a serialisation each).
 *
 * Order: notices leave in the order the pool delivered them, so a peer's `report` reply follows
 * every event it emitted before it, and its `done` its last event, as with PeerPool.
 */

const send = (message: FromChild): void => {
  if (process.connected) process.send?.(message);
};

let pending: ChildNotice[] = [];
let scheduled = false;
function notify(notice: ChildNotice): void {
  pending.push(notice);
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    const batch = pending;
    pending = [];
    send({ type: 'batch', batch });
  });
}

/** This process's copy of the emulator's shared memory, its changes sent every MIRROR_MS. */
const mirror = new SharedMirror();
setInterval(() => {
  const changes = mirror.take();
  if (changes.length > 0) send({ type: 'shared', changes });
}, MIRROR_MS).unref();

const pool = new PeerPool(JSON.parse(process.argv[2] ?? '{}') as PoolOptions);
const handles = new Map<number, PeerHandle>();

process.on('message', (message: ToChild) => {
  switch (message.type) {
    case 'spawn': {
      const { key, shaping } = message;
      const options =
        shaping === undefined
          ? message.options
          : {
              ...message.options,
              shaping: {
                ...shaping,
                ports: mirror.bufferOf(shaping.ports),
                groups: mirror.bufferOf(shaping.groups),
              },
            };
      const handle = pool.spawn(
        options,
        (event) => notify({ key, message: { type: 'event', event } }),
        (bytesIn, bytesOut) => notify({ key, message: { type: 'bytes', bytesIn, bytesOut } }),
      );
      handles.set(key, handle);
      void handle.done.then((done) => {
        handles.delete(key);
        notify({ key, done });
      });
      return;
    }
    case 'command': {
      const handle = handles.get(message.key);
      if (message.command.type !== 'report') handle?.send(message.command);
      else
        void handle?.report().then((report) => {
          // Null: the peer ended, and its `done` tells the parent so.
          if (report !== null) notify({ key: message.key, message: report });
        });
      return;
    }
    case 'shared':
      mirror.apply(message.changes, false);
      return;
    case 'destroy':
      // Every peer was stopped by the parent already: end the threads and leave.
      void pool.destroy(0).then(() => process.exit(0));
      return;
  }
});

// The parent gone (exited, crashed, killed): nothing here may outlive it.
process.on('disconnect', () => process.exit(1));
// Ctrl-C reaches the whole process group: the parent decides when its peers stop.
process.on('SIGINT', () => {});
send({ type: 'ready' });
