import type { MessagePort } from 'node:worker_threads';
import type { TrafficCounts } from '../metrics/traffic.js';
import type { PeerEvent } from '../peer/events.js';
import type { OverlayPeerOptions } from '../peer/overlay-peer.js';
import type { PeerOptions } from '../peer/peer.js';
import type { LinkShape } from '../scenario/model.js';

/**
 * The contract between a host (the emulator's main thread) and the worker adapter that runs one
 * peer in a worker thread. Everything here crosses threads by structured clone.
 */

/** One piscina task: a peer to run until told to stop, and the port to talk over. */
export interface HostedPeerTask {
  /** A full-mesh peer, or an overlay peer when `overlay` is set. */
  readonly options: PeerOptions | OverlayPeerOptions;
  /** Report the bytes the peer's sockets move (`bytes` messages, about once a second). */
  readonly meterBytes?: boolean;
  /** Transferred with the task: commands come in over it (events too, when `key` is unset). */
  readonly port: MessagePort;
  /**
   * Set by a host that takes batched messages: the task then posts `{ type: 'batched' }` on
   * `port` first, and sends its HostMessages, tagged with this key, through its thread's shared
   * port (host/batcher.ts), ending with an `end`. Unique among the host's tasks.
   */
  readonly key?: number;
}

/**
 * What a task posts on its own port when it batches: the first task of a thread hands over the
 * host's end of the thread's shared port; every batching task says so before anything else, so
 * the host knows to wait for its `end` (the two ports keep no order between them).
 */
export interface BatchedNotice {
  readonly type: 'batched';
  readonly port?: MessagePort;
}

/** One entry of a batch on a thread's shared port: a message of task `key`, or its end. */
export interface TaggedHostMessage {
  readonly key: number;
  readonly message: HostMessage | { readonly type: 'end' };
}

/**
 * What a host can tell a hosted peer: stop, join through an address (as `--connect` does), break
 * one link as a network failure would. The union is the place for more fault injection
 * (`{ type: 'kill' }`, `{ type: 'restart' }`).
 */
export type HostCommand =
  | { readonly type: 'stop' }
  | { readonly type: 'join'; readonly address: string }
  | { readonly type: 'break-link'; readonly peer: string }
  /** Stop gossiping (the end of a measured window: stop sending, then drain). */
  | { readonly type: 'pause-gossip' }
  /** Answer with a `report`: the thread's socket counts, and a barrier (see HostMessage). */
  | { readonly type: 'report' }
  /** Gossip one message now (the emulator's --rate). */
  | { readonly type: 'broadcast' }
  /** Report totals as a `counters` event (overlay peers). */
  | { readonly type: 'counters' }
  /** Die without a goodbye: every socket destroyed, as a crash would (emulate's `kill`). */
  | { readonly type: 'kill' }
  /** The emulated network changed: a new link shape, or a partition healed (peer/shaping.ts). */
  | { readonly type: 'reshape'; readonly shape?: LinkShape | null };

/**
 * What a hosted peer tells its host over the port. A `report` is posted after every event the
 * peer emitted before the command arrived (one port keeps its order): once the host has it, it has
 * all of them. `bytes` come unasked, about once a second, when the task meters its peer's bytes.
 */
export type HostMessage =
  | { readonly type: 'event'; readonly event: PeerEvent }
  | { readonly type: 'bytes'; readonly bytesIn: number; readonly bytesOut: number }
  | {
      readonly type: 'report';
      /**
       * Peers sharing a thread report the same counts: the host adds them up once per thread,
       * told apart by process and thread (the emulator may spread its threads over processes).
       */
      readonly pid: number;
      readonly threadId: number;
      readonly traffic: TrafficCounts;
    };

/** How a hosted peer's task ends. */
export type HostResult =
  | { readonly outcome: 'stopped' }
  | {
      readonly outcome: 'listen-failed';
      readonly code: string;
      readonly address: string;
      readonly message: string;
    };
