import { OverlayCore, type OverlayEvent, type OverlayOptions } from '../core/overlay.js';
import { type OverlayMessage, overlayToWire } from '../protocol/overlay-messages.js';
import type { SimProtocol } from './protocol.js';

/** Frame header bytes: a length prefix (src/protocol/frame.ts). */
const FRAME_HEADER_BYTES = 4;

/** HyParView + Plumtree, the same `OverlayCore` the TCP driver runs. */
export function hyparviewProtocol(
  options: Partial<OverlayOptions> = {},
): SimProtocol<OverlayMessage, OverlayEvent> {
  return {
    name: 'hyparview',
    create: (self, env) => new OverlayCore(self, env, options),
    delivery: (event) => (event.type === 'delivered' ? event : null),
    isPayload: (message) => message.type === 'pt_gossip',
    size: (message) => JSON.stringify(overlayToWire(message)).length + FRAME_HEADER_BYTES,
  };
}
