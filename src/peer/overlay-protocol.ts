import type { Core, CoreEnv, CoreOutput, NodeRef } from '../core/machine.js';
import type { Message } from '../protocol/messages.js';
import type { Direction, PeerEventInit } from './events.js';

/**
 * What the overlay driver (`OverlayPeer`) needs to know of one protocol core: how to make it,
 * how its messages travel in the wire format, and how its events read as peer events. The driver
 * itself knows nothing of HyParView or Plumtree.
 */
export interface OverlayProtocol<M, E> {
  /**
   * The feature every peer of this overlay announces in its handshake; a peer links only with
   * peers that announce it (a full mesh and an overlay cannot share links).
   */
  readonly feature: string;
  createCore(self: NodeRef, env: CoreEnv): Core<M, E>;
  /** A validated wire message as one of the core's, or undefined when it is not one. */
  decode(message: Message): M | undefined;
  encode(message: M): Message;
  /** What the core says before a graceful stop (HyParView's disconnects), if anything. */
  leave?(core: Core<M, E>): CoreOutput<M, E>[];
  /** Whether the message carries a gossip payload (counted for payload sends per delivery). */
  isPayload(message: M): boolean;
  /**
   * True when the core reports its links itself (HyParView's active view, as neighbor events): the
   * driver then emits no `connected` / `disconnected` of its own, since not every connection is a
   * link of the overlay (shuffle replies, refused neighbor requests).
   */
  readonly reportsLinks: boolean;
  /** A core event as a peer event; undefined for events no observer reads. */
  event(event: E, direction: (id: string) => Direction | undefined): PeerEventInit | undefined;
}

/** Overlay settings a peer is started with (plain data: they cross to worker threads). */
export interface OverlaySettings {
  /** `hyparview`: HyParView membership + Plumtree dissemination. */
  readonly kind: OverlayKind;
  /** Active view size (open links); the protocol's default when not given. */
  readonly activeView?: number;
  /** Passive view size (known addresses). */
  readonly passiveView?: number;
  /** Seed of the core's generator; random when not given. */
  readonly seed?: number;
}

export const OVERLAY_KINDS = ['hyparview'] as const;
export type OverlayKind = (typeof OVERLAY_KINDS)[number];
