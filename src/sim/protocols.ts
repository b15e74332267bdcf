import { type MeshEvent, MeshExchange } from '../core/mesh-exchange.js';
import { OverlayCore, type OverlayEvent, type OverlayOptions } from '../core/overlay.js';
import { DEFAULT_LIMITS } from '../peer/limits.js';
import { encodeMessage, type Message } from '../protocol/messages.js';
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

/**
 * The original's full mesh (`MeshExchange`, as the TCP driver runs it, with the peer's default
 * address budget). Its own periodic gossip is left off (the driver's `start()` is never called):
 * the run's broadcasts are the only messages, each identified by its text.
 */
export function fullMeshProtocol(): SimProtocol<Message, MeshEvent> {
  return {
    name: 'full',
    create: (self, env) =>
      new MeshExchange(
        {
          periodMs: Number.MAX_SAFE_INTEGER,
          firstGossipMs: Number.MAX_SAFE_INTEGER,
          addressBudget: DEFAULT_LIMITS.addressBudget,
          self: () => self.address,
          introductionWaitMs: DEFAULT_LIMITS.introductionWaitMs,
          introductionBudget: DEFAULT_LIMITS.introductionBudget,
        },
        env,
      ),
    delivery: (event) => (event.type === 'message-received' ? { id: event.text, hops: 1 } : null),
    isPayload: (message) => message.type === 'random_message',
    size: (message) => encodeMessage(message).length,
  };
}
