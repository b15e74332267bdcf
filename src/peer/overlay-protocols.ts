import { OverlayCore, type OverlayEvent } from '../core/overlay.js';
import { Feature } from '../protocol/messages.js';
import { isOverlayMessage, type OverlayMessage } from '../protocol/overlay-messages.js';
import type { OverlayProtocol, OverlaySettings } from './overlay-protocol.js';

/**
 * HyParView + Plumtree (`src/core/overlay.ts`) on the wire (`hv_*` and `pt_*` frames). The core
 * reports its active view as neighbor events: those, not the connections, are the links observers
 * see as `connected` / `disconnected`.
 */
const hyparview = (
  settings: OverlaySettings,
): OverlayProtocol<OverlayMessage, OverlayEvent> & { core?: OverlayCore } => ({
  feature: Feature.hyparview,
  reportsLinks: true,
  createCore: (self, env) =>
    new OverlayCore(self, env, {
      ...(settings.activeView === undefined ? {} : { activeViewSize: settings.activeView }),
      ...(settings.passiveView === undefined ? {} : { passiveViewSize: settings.passiveView }),
    }),
  decode: (message) => (isOverlayMessage(message) ? message : undefined),
  encode: (message) => message,
  isPayload: (message) => message.type === 'pt_gossip',
  leave: (core) => (core as OverlayCore).leave(),
  event: (event, direction) => {
    switch (event.type) {
      case 'neighbor-up':
        return {
          type: 'connected',
          peer: event.peer.address,
          nodeId: event.peer.id,
          direction: direction(event.peer.id) ?? 'outbound',
        };
      case 'neighbor-down':
        return {
          type: 'disconnected',
          peer: event.peer.address,
          reason: event.reason,
          reconnecting: false,
        };
      case 'delivered':
        return {
          type: 'message-received',
          peer: event.from.address,
          text: event.payload,
          id: event.id,
          hops: event.hops,
        };
    }
  },
});

/** The protocol binding of an overlay kind. */
export function overlayProtocol(settings: OverlaySettings): OverlayProtocol<unknown, unknown> {
  switch (settings.kind) {
    case 'hyparview':
      return hyparview(settings) as unknown as OverlayProtocol<unknown, unknown>;
  }
}
