import { type Reason, reason } from '../core/reasons.js';
import { Feature } from '../protocol/messages.js';

/**
 * Why an overlay peer refuses a connection from (or to) a peer of another kind. A peer of the
 * overlay links only with peers announcing the overlay's feature: a full mesh sends every gossip
 * to every link and expects every link to do the same, an overlay forwards along a few links only,
 * so a mixed network would lose messages without anyone noticing. Refusing says so at once, in the
 * logs of the refusing side, with a stable code (`OVERLAY_ORIGINAL_PEER`, `OVERLAY_FULL_MESH_PEER`).
 */
export function refusal(
  nodeId: string | undefined,
  features: ReadonlySet<string>,
  overlay: string,
): Reason | undefined {
  if (nodeId === undefined) {
    return reason(
      'OVERLAY_ORIGINAL_PEER',
      `a peer of the original protocol cannot join the ${overlay} overlay`,
    );
  }
  if (!features.has(overlay)) {
    const kind = features.has(Feature.exchange) ? 'a full-mesh peer' : 'a peer without the overlay';
    return reason('OVERLAY_FULL_MESH_PEER', `${kind} cannot join the ${overlay} overlay`);
  }
  return undefined;
}
