/**
 * The contract of every protocol core (full-mesh exchange, HyParView, Plumtree): a state machine
 * with no I/O. A driver feeds it inputs and carries out its outputs; the TCP driver (`src/peer/`)
 * binds them to sockets and timers, the simulator (`src/sim/`) to an in-memory network in virtual
 * time. A core never touches `node:net`, timers, `Date`, `performance` or `Math.random`: time and
 * chance come in through `CoreEnv` (a clock and a seeded generator).
 *
 * Peers are named by node id. The driver owns connections: it turns a TCP connection into a
 * `peer-up` once the remote is identified (and, for an inbound claim, its address proven), keeps
 * at most one connection per peer, and reports `peer-down` when it closes. A core that wants to
 * talk to a peer it has no connection to outputs `send` with the peer's address, and the driver
 * dials. Model: iroh-gossip's `proto` (InEvent / OutEvent) and quinn-proto.
 */
import type { Rng } from './rng.js';

/** A peer as a core sees it: its node id and the address it is reachable at. */
export interface NodeRef {
  readonly id: string;
  readonly address: string;
}

/** What a core may ask of the world besides its inputs. */
export interface CoreEnv {
  /** Milliseconds on the driver's clock (wall clock on sockets, virtual time in the simulator). */
  now(): number;
  readonly rng: Rng;
}

/** A timer's name, chosen by the core; setting a key again replaces the earlier timer. */
export type TimerKey = string;

export type CoreInput<M> =
  /** A connection to `peer` is up and identified (an inbound one has proven its address). */
  | {
      readonly kind: 'peer-up';
      readonly peer: NodeRef;
      readonly direction: 'inbound' | 'outbound';
      /** The extensions it announced, where the driver knows them (undefined: all of ours). */
      readonly features?: ReadonlySet<string>;
    }
  /** The connection to `peer` closed. */
  | { readonly kind: 'peer-down'; readonly peer: string; readonly reason: string }
  /** A dial the core asked for (`send` to an unconnected peer, or `dial`) failed. */
  | { readonly kind: 'dial-failed'; readonly address: string; readonly reason: string }
  /** A validated message from a connected peer. */
  | { readonly kind: 'message'; readonly from: NodeRef; readonly message: M }
  | { readonly kind: 'timer'; readonly key: TimerKey }
  /** The user (or the emulator) asks to send `payload` to every peer of the network. */
  | { readonly kind: 'broadcast'; readonly id: string; readonly payload: string }
  /** Join the network through the peer at `via` (already connected). */
  | { readonly kind: 'join'; readonly via: NodeRef };

export type CoreOutput<M, E> =
  /** Send on the connection to `to`; the driver dials `to.address` first if it has none. */
  | { readonly kind: 'send'; readonly to: NodeRef; readonly message: M }
  /** Open a connection to an address whose node id is not known yet (full mesh, bootstrap). */
  | {
      readonly kind: 'dial';
      readonly address: string;
      /** The peer whose list named the address: linked to both, it may vouch for us there. */
      readonly via?: NodeRef;
    }
  /** Close the connection to `peer` (after flushing what was sent to it). */
  | { readonly kind: 'disconnect'; readonly peer: string; readonly reason: string }
  | { readonly kind: 'set-timer'; readonly key: TimerKey; readonly afterMs: number }
  | { readonly kind: 'cancel-timer'; readonly key: TimerKey }
  | { readonly kind: 'event'; readonly event: E };

/** A protocol core: `handle` takes one input and returns what to do, in order. */
export interface Core<M, E> {
  handle(input: CoreInput<M>): CoreOutput<M, E>[];
}
