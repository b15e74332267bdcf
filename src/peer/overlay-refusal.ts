import { Feature } from '../protocol/messages.js';

/**
 * Why an overlay peer refuses a connection from (or to) a peer of another kind, as stable codes
 * with a message. A peer of the overlay links only with peers announcing the overlay's feature:
 * a full mesh sends every gossip to every link and expects every link to do the same, an overlay
 * forwards along a few links only, so a mixed network would lose messages without anyone
 * noticing. Refusing says so at once, in the logs of the refusing side.
 */
export const OverlayRefusal = {
  /** The remote speaks the original's protocol (no node id): the original cannot join an overlay. */
  legacy: 'ERR_OVERLAY_ORIGINAL_PEER',
  /** The remote is one of ours without the overlay's feature: a full-mesh peer. */
  fullMesh: 'ERR_OVERLAY_FULL_MESH_PEER',
} as const;

export type OverlayRefusalCode = (typeof OverlayRefusal)[keyof typeof OverlayRefusal];

/** The reason to refuse a remote announcing `nodeId` and `features`, or undefined to accept. */
export function refusal(
  nodeId: string | undefined,
  features: ReadonlySet<string>,
  overlay: string,
): string | undefined {
  if (nodeId === undefined) {
    return `a peer of the original protocol cannot join the ${overlay} overlay (${OverlayRefusal.legacy})`;
  }
  if (!features.has(overlay)) {
    const kind = features.has(Feature.exchange) ? 'a full-mesh peer' : 'a peer without the overlay';
    return `${kind} cannot join the ${overlay} overlay (${OverlayRefusal.fullMesh})`;
  }
  return undefined;
}
