import type { Direction } from '../core/links.js';
import type { Reason, ReasonCode, ReasonDetail } from '../core/reasons.js';

export type { Direction, ReasonCode, ReasonDetail };

/**
 * How a proof's nonce reached the claimant: a probe connection we dialed (or, for a peer of the
 * original, a probe it closed or left unanswered), a connection we had dialed to it anyway, or a
 * relay linked to both.
 */
export type ProofRoute = 'probe' | 'dialed-link' | 'relay';

/**
 * How a reason rides on an event: `reason` is the message (what the console prints), `code` and
 * `detail` are what programs match on.
 */
interface ReasonFields {
  readonly reason: string;
  /** The reason as a stable code (match on this, not on `reason`). */
  readonly code?: ReasonCode;
  /**
   * The finer code where `code` covers several rules (see ReasonDetail): which rule of the decoder
   * an INVALID_MESSAGE broke, which a PROTOCOL_VIOLATION broke, why a name did not resolve.
   */
  readonly detail?: ReasonDetail;
}

/** The event fields of a reason. */
export function reasonFields({ code, message, detail }: Reason): ReasonFields {
  return detail === undefined ? { reason: message, code } : { reason: message, code, detail };
}

interface Base {
  /** When it happened, from `now()` (epoch milliseconds, shared by all threads). */
  readonly at: number;
}

/**
 * Everything a peer reports. The CLI's console, the emulator's worker adapter, the tests and the
 * benchmarks all consume this one stream; none of them looks inside the peer.
 */
export type PeerEvent = Base &
  (
    | {
        readonly type: 'listening';
        readonly bound: string;
        readonly advertised: string;
        readonly nodeId: string;
      }
    | {
        readonly type: 'connected';
        readonly peer: string;
        readonly nodeId?: string;
        readonly direction: Direction;
      }
    | ({
        readonly type: 'disconnected';
        readonly peer: string;
        /** The link broke (rather than being closed on purpose): the peer is dialing it again. */
        readonly reconnecting: boolean;
      } & ReasonFields)
    | {
        /** A peer that dialed us proved it is reachable at the address it advertised. */
        readonly type: 'address-proven';
        readonly peer: string;
        /** From the start of the dial-back to the proof. */
        readonly ms: number;
        /** How the nonce reached it (absent where the proof has a single way, the overlay's). */
        readonly by?: ProofRoute;
      }
    | {
        readonly type: 'message-received';
        readonly peer: string;
        readonly text: string;
        /** Overlay only: the message's id and the links it crossed from its origin (1: direct). */
        readonly id?: string;
        readonly hops?: number;
      }
    | {
        readonly type: 'message-sent';
        readonly text: string;
        readonly peers: number;
        /** Overlay only: the message's id (the whole network should deliver it). */
        readonly id?: string;
      }
    | {
        /**
         * Overlay only, on request (`reportCounters()`): totals since start, so that a host can
         * take differences over a window.
         */
        readonly type: 'counters';
        /** Frames carrying a gossip payload sent (eager pushes, GRAFT answers, floods). */
        readonly payloadSends: number;
        /** Gossip messages delivered to this peer (first receipts only). */
        readonly deliveries: number;
        /** Active links now. */
        readonly links: number;
      }
    | ({
        readonly type: 'dial-failed';
        readonly peer: string;
        readonly retryInMs?: number;
      } & ReasonFields)
    | ({ readonly type: 'rejected'; readonly remote: string } & ReasonFields)
    | {
        /** A failure of the peer itself rather than of one connection (e.g. its listening socket). */
        readonly type: 'error';
        readonly message: string;
      }
    | { readonly type: 'stopped' }
  );

export type PeerEventType = PeerEvent['type'];
export type PeerEventOf<T extends PeerEventType> = Extract<PeerEvent, { type: T }>;

export type Listener<T> = (event: T) => void;

/** A minimal typed event source: one listener set, synchronous delivery, no string keys. */
export class Emitter<T> {
  readonly #listeners = new Set<Listener<T>>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: Listener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: T): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** An event before it is stamped with its time. */
export type PeerEventInit = PeerEvent extends infer E
  ? E extends PeerEvent
    ? Omit<E, 'at'>
    : never
  : never;
