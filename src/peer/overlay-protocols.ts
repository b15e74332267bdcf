import { FloodCore, type FloodEvent, type FloodMessage } from '../core/flood.js';
import type { OverlayProtocol, OverlaySettings } from './overlay-protocol.js';

/** The flood baseline on the wire: peer lists as `known_peers`, gossip as `random_message`. */
const flood = (settings: OverlaySettings): OverlayProtocol<FloodMessage, FloodEvent> => ({
  feature: 'flood',
  reportsLinks: false,
  createCore: (self, env) => new FloodCore(self, env, settings.activeView ?? 5),
  decode: (message) => {
    if (message.type === 'known_peers') return { kind: 'peers', peers: message.peers };
    if (message.type === 'random_message') {
      return { kind: 'gossip', id: message.text, payload: message.text, hops: 0 };
    }
    return undefined;
  },
  encode: (message) =>
    message.kind === 'peers'
      ? { type: 'known_peers', peers: message.peers }
      : { type: 'random_message', text: message.payload },
  isPayload: (message) => message.kind === 'gossip',
  event: (event) => ({
    type: 'message-received',
    peer: event.from.address,
    text: event.payload,
    id: event.id,
    hops: event.hops,
  }),
});

/** The protocol binding of an overlay kind. */
export function overlayProtocol(settings: OverlaySettings): OverlayProtocol<unknown, unknown> {
  switch (settings.kind) {
    case 'flood':
    case 'hyparview':
      return flood(settings) as OverlayProtocol<unknown, unknown>;
  }
}
