/** The output list the overlay's layers append to, and shorthands for its two common entries. */
import type { OverlayMessage } from '../protocol/overlay-messages.js';
import type { CoreOutput, NodeRef } from './machine.js';
import type { OverlayEvent } from './overlay-events.js';

export type OverlayOutput = CoreOutput<OverlayMessage, OverlayEvent>;
export type Out = OverlayOutput[];

export function send(out: Out, to: NodeRef, message: OverlayMessage): void {
  out.push({ kind: 'send', to, message });
}

export function setTimer(out: Out, key: string, afterMs: number): void {
  out.push({ kind: 'set-timer', key, afterMs });
}
